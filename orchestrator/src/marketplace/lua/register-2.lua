--[[
  Stores a verified worker registration unless its nonce is not above the last one seen.
  Input:
    KEYS[1] workers hash (address -> registration JSON), KEYS[2] nonces hash (address -> nonce)
    ARGV[1] address, ARGV[2] nonce (decimal), ARGV[3] registration JSON
  Output: 1 stored, 0 replayed or stale nonce
]]
local last = redis.call('HGET', KEYS[2], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
