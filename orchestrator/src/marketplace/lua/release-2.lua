--[[
  Releases a claimed slot (result in, failure reported). Idempotent: only the first release of
  a claim frees the slot, so a result and a deadline expiry never both re-auction a segment.
  Input:
    KEYS[1] inflight hash, KEYS[2] deadlines zset
    ARGV[1] member "jobId|address", ARGV[2] address
  Output: the claim's deadline (ms) when released now, 0 when already released or expired
]]
local deadline = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not deadline then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if tonumber(redis.call('HINCRBY', KEYS[1], ARGV[2], -1)) < 0 then redis.call('HSET', KEYS[1], ARGV[2], 0) end
return tonumber(deadline)
