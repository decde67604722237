--[[
  Takes a stream off an index (the active set) unless it was indexed again after `threshold`:
  an admit indexes its stream before it writes the new session, so a session that began while
  the old one was ending keeps its entry.
  Input: KEYS[1] index zset (member -> last indexed ms); ARGV[1] stream id, ARGV[2] threshold ms
  Output: 1 removed, 0 kept or absent
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
