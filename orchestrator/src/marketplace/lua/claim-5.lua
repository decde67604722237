--[[
  Claims one of a worker's slots for a segment, with a deadline, unless the worker is full.
  Input:
    KEYS[1] inflight hash (address -> slots in use), KEYS[2] deadlines zset (member -> deadline ms),
    KEYS[3] tried set of this job
    ARGV[1] address, ARGV[2] max concurrent, ARGV[3] deadline ms, ARGV[4] member "jobId|address"
  Output: 1 claimed, 0 worker full
]]
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if used >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], 3600)
return 1
