--[[
  Stores a verified worker registration unless its nonce is not above the last one seen, and
  marks the worker seen now (registrations not seen for a while expire: prune-n.lua).
  Input:
    KEYS[1] workers hash (address -> registration JSON), KEYS[2] nonces hash (address -> nonce),
    KEYS[3] seen zset (address -> last registration or heartbeat, ms)
    ARGV[1] address, ARGV[2] nonce (decimal), ARGV[3] registration JSON, ARGV[4] now ms
  Output: 1 stored, 0 replayed or stale nonce
]]
local last = redis.call('HGET', KEYS[2], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
