--[[
  Acknowledges the first entry of a stream's outbox, only if it is still the entry that was
  processed (another orchestrator may have acknowledged it meanwhile: popping blindly would drop
  the next, unprocessed one).

  Input:
    KEYS[1] outbox list
    ARGV[1] the entry processed (exact JSON)
  Output:
    1 when removed, 0 when the head is another entry
]]
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  return 1
end
return 0
