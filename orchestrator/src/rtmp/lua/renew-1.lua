--[[
  Keeps this orchestrator's claim on a stream it is receiving over RTMP.

  Input:
    KEYS[1] the stream's rtmp hash
    ARGV[1] owner, ARGV[2] now (ms), ARGV[3] lease (ms), ARGV[4] reconnect window (ms)
  Output: 1, or 0 when the claim is no longer this orchestrator's (the publisher went elsewhere)
]]
local rtmp = KEYS[1]
local now, leaseMs, windowMs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local held = redis.call('HMGET', rtmp, 'owner', 'windowUntil')
if held[1] ~= ARGV[1] or held[2] ~= '0' then return 0 end
redis.call('HSET', rtmp, 'leaseUntil', now + leaseMs)
redis.call('PEXPIRE', rtmp, leaseMs + windowMs)
return 1
