--[[
  Adds a receipt batch's counters to an edge's stats once: a batch submitted again (the edge did
  not get the answer) is paid the same tickets again, and must not be counted twice.
  Input:
    KEYS[1] edge stats hash, KEYS[2] marker of this batch (same hash tag)
    ARGV[1] marker TTL (ms), then field, increment pairs
  Output:
    1 counted, 0 counted before
]]
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
