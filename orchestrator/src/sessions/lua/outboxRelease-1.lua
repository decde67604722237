--[[
  Releases the lease on a stream's outbox if this orchestrator still holds it.

  Input:
    KEYS[1] lease key
    ARGV[1] this holder's token
  Output:
    1 when released, 0 when the lease had expired or passed to another holder
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
