--[[
  Releases a claimed slot (result in, failure reported). Idempotent: only the first release of
  a claim frees the slot.
  Input:
    KEYS[1] inflight hash, KEYS[2] deadlines zset
    ARGV[1] member "jobId|address", ARGV[2] address
  Output: 1 released now, 0 already released (or expired)
]]
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
if tonumber(redis.call('HINCRBY', KEYS[1], ARGV[2], -1)) < 0 then redis.call('HSET', KEYS[1], ARGV[2], 0) end
return 1
