--[[
  Accepts one verified receipt of a viewer session, once, within what the session may vouch for:
  pays min(bytes, allowance - used) and remembers the segment so a replay pays nothing.
  Input:
    KEYS[1] session record hash (field `used`: bytes paid so far), KEYS[2] session's seen set
    ARGV[1] segment id (`rendition/uri`), ARGV[2] bytes claimed, ARGV[3] allowance now (bytes)
  Output:
    {-1, used}   replayed: this session already vouched for this segment
    {paid, used} bytes paid now (0 when the session's allowance is used up), and used after
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return { -2, 0 } end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return { -1, tonumber(redis.call('HGET', KEYS[1], 'used') or '0') }
end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local room = tonumber(ARGV[3]) - used
if room < 0 then room = 0 end
local paid = tonumber(ARGV[2])
if paid > room then paid = room end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
redis.call('HINCRBY', KEYS[1], 'used', paid)
return { paid, used + paid }
