--[[
  Takes or keeps a sweep's lease: one orchestrator at a time runs a sweep that any of them could.
  The holder keeps it by calling again before it lapses; when the holder dies it lapses, and the
  next caller takes it.

  Input:
    KEYS[1] the lease (string: the holder's token)
    ARGV[1] this orchestrator's token, ARGV[2] lease length (ms)
  Output: 1 when this orchestrator holds the lease (taken or kept), 0 when another does
]]
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if held then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
