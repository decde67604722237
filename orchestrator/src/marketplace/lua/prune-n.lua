--[[
  Forgets workers not seen (registered or heartbeating) since a cutoff: their registration and
  performance record. Their nonce stays, so an old signed registration cannot be replayed; an
  exclusion (a caught cheater) stays until it expires. The caller found them (ZRANGEBYSCORE) and
  names their keys; a worker seen since is kept. The caller then deletes their Redis ACL users.
  Input:
    KEYS[1] workers hash, KEYS[2] seen zset (address -> last seen ms), KEYS[2 + i] perf hash of
    the i-th worker
    ARGV[1] cutoff ms, ARGV[1 + i] address of the i-th worker
  Output: { address, ... } workers forgotten
]]
local cutoff = tonumber(ARGV[1])
local gone = {}
for i = 2, #ARGV do
  local address = ARGV[i]
  local seen = redis.call('ZSCORE', KEYS[2], address)
  if not seen or tonumber(seen) <= cutoff then
    redis.call('ZREM', KEYS[2], address)
    redis.call('HDEL', KEYS[1], address)
    redis.call('DEL', KEYS[1 + i])
    gone[#gone + 1] = address
  end
end
return gone
