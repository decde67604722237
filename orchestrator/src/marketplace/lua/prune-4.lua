--[[
  Forgets workers not seen (registered or heartbeating) since a cutoff: their registration,
  score and performance record. Their nonce stays, so an old signed registration cannot be
  replayed; an exclusion (a caught cheater) stays until it ends. The caller picked the workers
  (to pass their perf keys); each is checked again here, so one seen since is kept. The caller
  then deletes their Redis ACL users.
  Input:
    KEYS[1] workers hash, KEYS[2] seen zset (address -> last seen ms), KEYS[3] scores hash,
    KEYS[4] version counter, KEYS[4 + i] perf hash of the i-th worker
    ARGV[1] cutoff ms, ARGV[1 + i] address of the i-th worker
  Output: { address, ... } workers forgotten
]]
local gone = {}
for i = 2, #ARGV do
  local address = ARGV[i]
  local seen = redis.call('ZSCORE', KEYS[2], address)
  if seen and tonumber(seen) <= tonumber(ARGV[1]) then
    redis.call('ZREM', KEYS[2], address)
    redis.call('HDEL', KEYS[1], address)
    redis.call('HDEL', KEYS[3], address)
    redis.call('DEL', KEYS[3 + i])
    gone[#gone + 1] = address
  end
end
if #gone > 0 then redis.call('INCR', KEYS[4]) end
return gone
