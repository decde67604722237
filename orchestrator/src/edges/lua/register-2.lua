--[[
  Stores an edge's registration unless its nonce is not above the last one used by that edge.
  Input:
    KEYS[1] nonces hash (edge → last nonce), KEYS[2] registry hash (edge → record JSON)
    ARGV[1] edge address (lower case), ARGV[2] nonce (decimal, < 2^63), ARGV[3] record JSON
  Output:
    1 stored, 0 replayed (nonce not above the last one)
]]
local last = redis.call('HGET', KEYS[1], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
