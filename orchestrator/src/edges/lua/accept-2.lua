--[[
  Accepts one verified receipt of a viewer session, once, within what the session may vouch for:
  pays min(bytes, allowance - used) and remembers the segment, with the batch that carried it and
  what it paid, so a replay pays nothing and the same batch submitted again (the edge did not get
  the answer) gets the same answer, not "replayed".
  Input:
    KEYS[1] session record hash (field `used`: bytes paid so far), KEYS[2] session's paid hash
    (`rendition/uri` → `batchId|paid`)
    ARGV[1] segment id (`rendition/uri`), ARGV[2] bytes claimed, ARGV[3] allowance now (bytes),
    ARGV[4] batch id
  Output:
    {-2, 0}      no such session
    {-1, used}   replayed: this session already vouched for this segment in another batch
    {paid, used} bytes paid (0 when the session's allowance is used up), and used after
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return { -2, 0 } end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local prev = redis.call('HGET', KEYS[2], ARGV[1])
if prev then
  local sep = string.find(prev, '|', 1, true)
  if sep and string.sub(prev, 1, sep - 1) == ARGV[4] then return { tonumber(string.sub(prev, sep + 1)), used } end
  return { -1, used }
end
local room = tonumber(ARGV[3]) - used
if room < 0 then room = 0 end
local paid = tonumber(ARGV[2])
if paid > room then paid = room end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4] .. '|' .. paid)
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
redis.call('HINCRBY', KEYS[1], 'used', paid)
return { paid, used + paid }
