--[[
  Gives a sweep's lease up if this orchestrator still holds it (closing: another takes it at once).

  Input:
    KEYS[1] the lease
    ARGV[1] this orchestrator's token
  Output: 1 when released, 0 when it had lapsed or passed to another
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
