--[[
  Takes claims whose deadline has passed (each returned to exactly one caller, so several
  orchestrators can run this loop) and frees their slots.
  Input:
    KEYS[1] inflight hash, KEYS[2] deadlines zset
    ARGV[1] now ms, ARGV[2] max claims to take
  Output: { "jobId|address", ... }
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[2], member)
  local address = string.match(member, '|(.*)$')
  if tonumber(redis.call('HINCRBY', KEYS[1], address, -1)) < 0 then redis.call('HSET', KEYS[1], address, 0) end
end
return due
