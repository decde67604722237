--[[
  Forgets workers not seen (registered or heartbeating) since a cutoff: their registration,
  performance record and heartbeat. Their nonce stays, so an old signed registration cannot be
  replayed; an exclusion (a caught cheater) stays until it expires. The caller then deletes their
  Redis ACL users.
  Input:
    KEYS[1] workers hash, KEYS[2] seen zset (address -> last seen ms)
    ARGV[1] cutoff ms, ARGV[2] max workers to forget, ARGV[3] perf key prefix, ARGV[4] heartbeat
    key prefix (keys built here: this script assumes one Redis, not a Cluster)
  Output: { address, ... } workers forgotten
]]
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, address in ipairs(gone) do
  redis.call('ZREM', KEYS[2], address)
  redis.call('HDEL', KEYS[1], address)
  redis.call('DEL', ARGV[3] .. address, ARGV[4] .. address)
end
return gone
