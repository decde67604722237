--[[
  The publisher dropped: its reconnect window starts now. It may come back to any orchestrator.

  Input:
    KEYS[1] the stream's rtmp hash
    ARGV[1] owner, ARGV[2] now (ms), ARGV[3] reconnect window (ms), ARGV[4] first seq not yet
    handed out (counting the one its segmenter may still flush)
  Output: 1, or 0 when the claim was no longer this orchestrator's
]]
local rtmp = KEYS[1]
local now, windowMs, nextSeq = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local held = redis.call('HMGET', rtmp, 'owner', 'windowUntil', 'nextSeq')
if held[1] ~= ARGV[1] or held[2] ~= '0' then return 0 end
redis.call('HSET', rtmp, 'windowUntil', now + windowMs, 'nextSeq', math.max(nextSeq, tonumber(held[3])))
if windowMs > 0 then redis.call('PEXPIRE', rtmp, windowMs) else redis.call('DEL', rtmp) end
return 1
