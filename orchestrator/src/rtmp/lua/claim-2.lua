--[[
  Claims a stream for an RTMP publisher on this orchestrator. The claim lives in Redis, so a
  publisher that drops (or whose orchestrator dies) may come back to any orchestrator within the
  reconnect window and continue the same session.

  Input:
    KEYS[1] the stream's rtmp hash (owner, leaseUntil, windowUntil), KEYS[2] live meta
    ARGV[1] owner (orchestrator instance), ARGV[2] now (ms), ARGV[3] lease (ms),
    ARGV[4] reconnect window (ms), ARGV[5] idle timeout (ms)
  Output: { outcome, baseSeq }
    'new' (baseSeq 0) | 'continue' (the session goes on at baseSeq, right after the last seq
    admitted: the previous owner admits nothing once the owner changed (admit-4.lua), so no seq
    is skipped; playlists mark a discontinuity at baseSeq, meta discontinuityAt) |
    'taken' (published now, elsewhere) | 'busy' (the session is live through HTTP pushes) |
    'stale' (a session left over from a crash: end it, then claim again)
]]
local rtmp, meta = KEYS[1], KEYS[2]
local owner, now, leaseMs, windowMs, idleMs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

local live = redis.call('EXISTS', meta) == 1 and redis.call('HGET', meta, 'ended') ~= '1'
local held = redis.call('HMGET', rtmp, 'owner', 'leaseUntil', 'windowUntil')
if held[1] then
  local leaseUntil, windowUntil = tonumber(held[2]), tonumber(held[3])
  if windowUntil == 0 and leaseUntil > now then return { 'taken', 0 } end
  -- dropped (its window runs) or its orchestrator died (the lease lapsed: the window runs from then)
  local windowEnd = windowUntil > 0 and windowUntil or (leaseUntil + windowMs)
  if windowEnd > now and live then
    local base = tonumber(redis.call('HGET', meta, 'maxSeq') or '-1') + 1
    redis.call('HSET', rtmp, 'owner', owner, 'leaseUntil', now + leaseMs, 'windowUntil', 0)
    redis.call('PEXPIRE', rtmp, leaseMs + windowMs)
    redis.call('HSET', meta, 'discontinuityAt', base)
    return { 'continue', base }
  end
  redis.call('DEL', rtmp)
end
if live then
  local last = tonumber(redis.call('HGET', meta, 'lastIngestAt') or '0')
  if now - last < idleMs then return { 'busy', 0 } end
  return { 'stale', 0 }
end
redis.call('HSET', rtmp, 'owner', owner, 'leaseUntil', now + leaseMs, 'windowUntil', 0)
redis.call('PEXPIRE', rtmp, leaseMs + windowMs)
return { 'new', 0 }
