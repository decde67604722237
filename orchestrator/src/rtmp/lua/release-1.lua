--[[
  The publisher dropped (and the segments it sent here were all ingested): its reconnect window
  starts now. It may come back to any orchestrator.

  Input:
    KEYS[1] the stream's rtmp hash
    ARGV[1] owner, ARGV[2] now (ms), ARGV[3] reconnect window (ms)
  Output: 1, or 0 when the claim was no longer this orchestrator's
]]
local rtmp = KEYS[1]
local now, windowMs = tonumber(ARGV[2]), tonumber(ARGV[3])
local held = redis.call('HMGET', rtmp, 'owner', 'windowUntil')
if held[1] ~= ARGV[1] or held[2] ~= '0' then return 0 end
redis.call('HSET', rtmp, 'windowUntil', now + windowMs)
if windowMs > 0 then redis.call('PEXPIRE', rtmp, windowMs) else redis.call('DEL', rtmp) end
return 1
