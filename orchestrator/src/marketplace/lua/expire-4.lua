--[[
  Takes claims whose deadline has passed (each returned to exactly one caller, so several
  orchestrators can run this loop). The worker may still be busy with a late segment, so its slot
  stays taken ("late" zset) until its late result or failure report comes, or the worker is gone:
  at each grace end, a worker seen (heartbeat) since ARGV[4] gets another grace period.
  Input:
    KEYS[1] inflight hash, KEYS[2] deadlines zset, KEYS[3] late zset (member -> grace end ms),
    KEYS[4] seen zset (address -> last heartbeat ms)
    ARGV[1] now ms, ARGV[2] max claims to take, ARGV[3] grace ms, ARGV[4] oldest heartbeat that
    still counts as alive (now minus the heartbeat TTL), ms
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
  local address = string.match(member, '|(.*)$')
  local seen = redis.call('ZSCORE', KEYS[4], address)
  if seen and tonumber(seen) > tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), member)
  else
    redis.call('ZREM', KEYS[3], member)
    if tonumber(redis.call('HINCRBY', KEYS[1], address, -1)) < 0 then redis.call('HSET', KEYS[1], address, 0) end
  end
end
return due
