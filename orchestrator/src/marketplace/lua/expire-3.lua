--[[
  Takes claims whose deadline has passed (each returned to exactly one caller, so several
  orchestrators can run this loop). The worker may still be busy with a late segment, so its slot
  stays taken for a grace period ("late" zset) and is freed by its late result, its failure
  report, or the end of the grace (a dead worker). Frees the slots of late claims whose grace ended.
  Input:
    KEYS[1] inflight hash, KEYS[2] deadlines zset, KEYS[3] late zset (member -> grace end ms)
    ARGV[1] now ms, ARGV[2] max claims to take, ARGV[3] grace ms
  Output: { "jobId|address", ... } claims that just missed their deadline
]]
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), member)
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(gone) do
  redis.call('ZREM', KEYS[3], member)
  local address = string.match(member, '|(.*)$')
  if tonumber(redis.call('HINCRBY', KEYS[1], address, -1)) < 0 then redis.call('HSET', KEYS[1], address, 0) end
end
return due
