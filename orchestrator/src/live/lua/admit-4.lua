--[[
  Admits an ingested segment into a stream's live state, or says why not.
  A stream with no state, or whose session ended, starts a new session at this seq (playlists
  then mark a discontinuity if it is not the first session). The previous session's in-flight and
  waiting seqs are dropped: sessions never see each other's seqs (a late result of the old session
  then finds its seq not in flight and is a duplicate).
  A segment cut from an RTMP publish names the orchestrator receiving it (ARGV[4]): once another
  orchestrator has taken the publisher over (rtmp/publisherClaims.ts), the old one admits nothing
  more, so the continued session may start right after the last seq admitted (no seq skipped).

  Input:
    KEYS[1] meta hash, KEYS[2] inflight hash (seq -> source sha256), KEYS[3] ready hash,
    KEYS[4] the stream's rtmp claim hash
    (one stream's keys: one Cluster slot; the caller indexed the stream in the active set first)
    ARGV[1] seq, ARGV[2] source sha256, ARGV[3] now (ms),
    ARGV[4] the RTMP claim's owner this segment was cut under, or '' (HTTP push, pull, VOD)
  Output:
    { status, session, newSession }
    status: 'ok' | 'duplicate' (same seq and bytes already in flight) |
            'conflict' (same seq, other bytes) | 'too-late' (seq already passed) |
            'moved' (the RTMP publisher is now another orchestrator's: nothing admitted)
]]
local meta, inflight, ready, rtmp = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local seq, sha, now, owner = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]

if owner ~= '' and redis.call('HGET', rtmp, 'owner') ~= owner then
  return { 'moved', redis.call('HGET', meta, 'session') or '0', 0 }
end

local exists = redis.call('EXISTS', meta) == 1
local newSession = 0
if (not exists) or redis.call('HGET', meta, 'ended') == '1' then
  newSession = 1
  local session = redis.call('HINCRBY', meta, 'session', 1)
  redis.call('HSET', meta, 'nextSeq', seq, 'maxSeq', -1, 'ended', 0, 'startedAt', now)
  redis.call('HDEL', meta, 'discontinuityAt')
  if exists then redis.call('HSET', meta, 'pendingDiscontinuity', 1) end
  redis.call('DEL', inflight, ready)
else
  local known = redis.call('HGET', inflight, seq)
  if known then
    if known == sha then return { 'duplicate', redis.call('HGET', meta, 'session'), 0 } end
    return { 'conflict', redis.call('HGET', meta, 'session'), 0 }
  end
  if seq < tonumber(redis.call('HGET', meta, 'nextSeq')) then
    return { 'too-late', redis.call('HGET', meta, 'session'), 0 }
  end
end

redis.call('HSET', inflight, seq, sha)
redis.call('HSET', meta, 'lastIngestAt', now)
if seq > tonumber(redis.call('HGET', meta, 'maxSeq') or '-1') then redis.call('HSET', meta, 'maxSeq', seq) end
return { 'ok', redis.call('HGET', meta, 'session'), newSession }
