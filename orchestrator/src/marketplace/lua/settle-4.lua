--[[
  Ends a claim with its outcome in one step: frees the slot and updates the worker's performance
  EWMAs. Only the first end of a claim counts (a result and a deadline expiry never both do), so
  a late result does not score twice: its miss was scored when the deadline passed; it only frees
  the slot it kept during the grace period.
  Input:
    KEYS[1] inflight hash, KEYS[2] deadlines zset, KEYS[3] perf hash of the worker, KEYS[4] late zset
    ARGV[1] member "jobId|address", ARGV[2] address, ARGV[3] now ms, ARGV[4] budget ms (deadline
    minus dispatch time), ARGV[5] segment duration ms, ARGV[6] success (1 or 0), ARGV[7] alpha
  Output: the claim's deadline (ms) when ended on time, -1 when it was late (slot freed, no score),
  0 when it had already ended
]]
local deadline = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not deadline then
  if redis.call('ZREM', KEYS[4], ARGV[1]) == 0 then return 0 end
  if tonumber(redis.call('HINCRBY', KEYS[1], ARGV[2], -1)) < 0 then redis.call('HSET', KEYS[1], ARGV[2], 0) end
  return -1
end
deadline = tonumber(deadline)
redis.call('ZREM', KEYS[2], ARGV[1])
if tonumber(redis.call('HINCRBY', KEYS[1], ARGV[2], -1)) < 0 then redis.call('HSET', KEYS[1], ARGV[2], 0) end

local alpha = tonumber(ARGV[7])
local ok = tonumber(ARGV[6])
local success = tonumber(redis.call('HGET', KEYS[3], 'success') or '1')
success = success + alpha * (ok - success)
local latency = tonumber(redis.call('HGET', KEYS[3], 'latency') or '0.5')
if ok == 1 then
  local sample = (tonumber(ARGV[3]) - (deadline - tonumber(ARGV[4]))) / math.max(1, tonumber(ARGV[5]))
  latency = latency + alpha * (sample - latency)
end
redis.call('HSET', KEYS[3], 'success', tostring(success), 'latency', tostring(latency))
redis.call('HINCRBY', KEYS[3], ok == 1 and 'jobs' or 'failures', 1)
return deadline
