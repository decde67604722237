--[[
  Takes the oldest segments waiting for a slot, for one orchestrator to dispatch: each is handed to
  exactly one caller, under a lease. A lease that ended (its orchestrator died mid-dispatch) puts
  the segment back in the waiting list, in its place, without its stored entry (what it carried,
  such as the workers tried, may be out of date: the taker reads them again).
  Input:
    KEYS[1] waiting zset (jobId -> since ms), KEYS[2] taking zset (jobId -> lease end ms),
    KEYS[3] entries hash (jobId -> "since" or "since|entry")
    ARGV[1] now ms, ARGV[2] lease ms, ARGV[3] max segments to take (0: only count)
  Output: { left, jobId1, entry1, jobId2, entry2, ... } left = segments still waiting after this
]]
local now = tonumber(ARGV[1])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], id)
  local since = string.match(redis.call('HGET', KEYS[3], id) or ARGV[1], '^[^|]*')
  redis.call('HSET', KEYS[3], id, since)
  redis.call('ZADD', KEYS[1], tonumber(since), id)
end
local out = { 0 }
local max = tonumber(ARGV[3])
if max > 0 then
  local ids = redis.call('ZRANGE', KEYS[1], 0, max - 1, 'WITHSCORES')
  for i = 1, #ids, 2 do
    redis.call('ZREM', KEYS[1], ids[i])
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ids[i])
    out[#out + 1] = ids[i]
    out[#out + 1] = redis.call('HGET', KEYS[3], ids[i]) or ids[i + 1]
  end
end
out[1] = redis.call('ZCARD', KEYS[1])
return out
