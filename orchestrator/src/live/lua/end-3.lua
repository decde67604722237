--[[
  Ends a stream's live session if it is still idle (or unconditionally when forced), and appends
  the end to the stream's outbox in the same script (session end, webhooks: never lost).
  Input:
    KEYS[1] meta hash, KEYS[2] active streams zset, KEYS[3] outbox list
    ARGV[1] stream id, ARGV[2] idle cutoff (ms: end only if lastIngestAt <= cutoff; 'force' to always)
  Output: 1 when the session was ended now, 0 otherwise
]]
local meta, active, outbox = KEYS[1], KEYS[2], KEYS[3]
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
redis.call('RPUSH', outbox, '{"t":"ended","session":' .. redis.call('HGET', meta, 'session') .. ',"at":' .. at .. '}')
return 1
