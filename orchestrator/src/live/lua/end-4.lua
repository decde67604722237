--[[
  Ends a stream's live session if it is still idle (or unconditionally when forced), and appends
  the end to the stream's outbox in the same script (session end, webhooks: never lost). The
  caller then updates the stream indexes (another slot on a Cluster): a session ended with seqs
  still in flight goes to the draining set (the stuck-seq sweep sees them through), and the stream
  leaves the active set. A forced end (terminate, on any orchestrator) also takes the RTMP claim
  away: the orchestrator receiving the publisher finds its claim gone at its next renewal and drops
  the publisher, and admits none of its segments meanwhile (admit-4.lua).
  Input:
    KEYS[1] meta hash, KEYS[2] outbox list, KEYS[3] inflight hash, KEYS[4] rtmp claim hash
    (one stream: one slot)
    ARGV[1] idle cutoff (ms: end only if lastIngestAt <= cutoff; 'force' to always)
  Output: { status, inflight } status 1 ended now, 0 still live (not idle), -1 no live session
  (none, or ended before); inflight: seqs still in flight
]]
local meta, outbox, inflight, rtmp = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cutoff = ARGV[1]
if cutoff == 'force' then redis.call('DEL', rtmp) end
if redis.call('EXISTS', meta) == 0 or redis.call('HGET', meta, 'ended') == '1' then
  return { -1, redis.call('HLEN', inflight) }
end
if cutoff ~= 'force' and tonumber(redis.call('HGET', meta, 'lastIngestAt') or '0') > tonumber(cutoff) then
  return { 0, 0 }
end
redis.call('HSET', meta, 'ended', 1)
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('RPUSH', outbox, '{"t":"ended","session":' .. redis.call('HGET', meta, 'session') .. ',"at":' .. at .. '}')
return { 1, redis.call('HLEN', inflight) }
