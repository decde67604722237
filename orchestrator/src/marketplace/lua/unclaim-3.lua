--[[
  Undoes a claim that never reached the worker (the queue add failed): frees the slot, forgets
  that the worker was tried, scores nothing.
  Input:
    KEYS[1] inflight hash, KEYS[2] deadlines zset, KEYS[3] tried set of the job
    ARGV[1] member "jobId|address", ARGV[2] address
  Output: 1 undone, 0 no such claim
]]
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
if tonumber(redis.call('HINCRBY', KEYS[1], ARGV[2], -1)) < 0 then redis.call('HSET', KEYS[1], ARGV[2], 0) end
redis.call('SREM', KEYS[3], ARGV[2])
return 1
