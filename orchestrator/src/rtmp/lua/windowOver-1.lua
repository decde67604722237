--[[
  The reconnect window this orchestrator started has run out: true (and the claim is gone) when
  nobody came back, so the caller ends the session; false when the publisher continued anywhere.

  Input: KEYS[1] the stream's rtmp hash; ARGV[1] owner, ARGV[2] now (ms)
]]
local held = redis.call('HMGET', KEYS[1], 'owner', 'windowUntil')
if not held[1] then return 1 end
if held[1] ~= ARGV[1] or held[2] == '0' or tonumber(held[2]) > tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
