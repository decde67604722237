--[[
  Gives a published (or accepted, waiting) segment a new revision: a caught segment's files were
  replaced under new names, so the playlists must list the new ones and never the old again.
  Input:
    KEYS[1] ready hash, KEYS[2] published list
    ARGV[1] session, ARGV[2] seq, ARGV[3] new revision,
    ARGV[4] JSON object rendition -> {sha256, bytes} of its new file (set on the entry's renditions)
  Output: the previous revision (0 when it had none), or -1 when the segment is not there any
  more (evicted by retention, or of another session)
]]
local ready, published = KEYS[1], KEYS[2]
local session, seq, rev = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local files = cjson.decode(ARGV[4] or '{}')

local function revise(entry)
  local before = entry.rev or 0
  entry.rev = rev
  for name, file in pairs(files) do
    local r = entry.renditions[name]
    if r then
      r.sha256 = file.sha256
      r.bytes = file.bytes
    end
  end
  return before
end

local records = redis.call('LRANGE', published, 0, -1)
for i = #records, 1, -1 do
  local r = cjson.decode(records[i])
  if r.entry.session == session and r.entry.seq == seq then
    local before = revise(r.entry)
    redis.call('LSET', published, i - 1, cjson.encode(r))
    return before
  end
end
local waiting = redis.call('HGET', ready, ARGV[2])
if waiting and waiting ~= 'skip' then
  local e = cjson.decode(waiting)
  if e.session == session then
    local before = revise(e)
    redis.call('HSET', ready, ARGV[2], cjson.encode(e))
    return before
  end
end
return -1
