--[[
  Ends a stream's live session if it is still idle (or unconditionally when forced).
  Input:
    KEYS[1] meta hash, KEYS[2] active streams zset
    ARGV[1] stream id, ARGV[2] idle cutoff (ms: end only if lastIngestAt <= cutoff; 'force' to always)
  Output: 1 when the session was ended now, 0 otherwise
]]
local meta, active = KEYS[1], KEYS[2]
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
return 1
