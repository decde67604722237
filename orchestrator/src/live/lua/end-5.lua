--[[
  Ends a stream's live session if it is still idle (or unconditionally when forced), and appends
  the end to the stream's outbox in the same script (session end, webhooks: never lost). A session
  ended with seqs still in flight goes to the draining set: the stuck-seq sweep sees them through.
  Input:
    KEYS[1] meta hash, KEYS[2] active streams zset, KEYS[3] outbox list, KEYS[4] inflight hash,
    KEYS[5] draining streams zset
    ARGV[1] stream id, ARGV[2] idle cutoff (ms: end only if lastIngestAt <= cutoff; 'force' to always)
  Output: 1 when the session was ended now, 0 otherwise
]]
local meta, active, outbox, inflight, draining = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local streamId, cutoff = ARGV[1], ARGV[2]
if redis.call('EXISTS', meta) == 0 or redis.call('HGET', meta, 'ended') == '1' then
  redis.call('ZREM', active, streamId)
  return 0
end
if cutoff ~= 'force' and tonumber(redis.call('HGET', meta, 'lastIngestAt') or '0') > tonumber(cutoff) then
  return 0
end
redis.call('HSET', meta, 'ended', 1)
redis.call('ZREM', active, streamId)
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HLEN', inflight) > 0 then redis.call('ZADD', draining, at, streamId) end
redis.call('RPUSH', outbox, '{"t":"ended","session":' .. redis.call('HGET', meta, 'session') .. ',"at":' .. at .. '}')
return 1
