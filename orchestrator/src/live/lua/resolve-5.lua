--[[
  Records the outcome of one in-flight segment (an accepted entry, or 'skip' when it failed for
  good) and publishes, in seq order, every segment whose turn has come. A seq that was never
  ingested is jumped over once a later one is known; a skipped or missing seq marks a
  discontinuity on the next published segment, and so does the seq an RTMP publisher's session
  continued at after a reconnect (meta discontinuityAt: its timestamps start afresh). Trims the published list to the retention length.
  Every published record is also appended to the stream's outbox, in the same script, so what
  follows from it (usage, recording copy) survives a crash right after this call.

  Input:
    KEYS[1] meta hash, KEYS[2] inflight hash, KEYS[3] ready hash, KEYS[4] published list,
    KEYS[5] outbox list
    ARGV[1] seq, ARGV[2] entry JSON or 'skip', ARGV[3] max published entries kept
  Output:
    { resolved (1, or 0 when seq was not in flight: a late or repeated result),
      { published record JSON, ... }, { evicted record JSON, ... } }
    record JSON = {"index":N,"discontinuity":true|false,"entry":ENTRY}
]]
local meta, inflight, ready, published, outbox = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local seq, entry, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])

if redis.call('HEXISTS', inflight, seq) == 0 or redis.call('HEXISTS', ready, seq) == 1 then
  return { 0, {}, {} }
end
redis.call('HSET', ready, seq, entry)

local nextSeq = tonumber(redis.call('HGET', meta, 'nextSeq'))
local discAt = tonumber(redis.call('HGET', meta, 'discontinuityAt') or '-1')
local out = {}
while true do
  local e = redis.call('HGET', ready, nextSeq)
  if e then
    if nextSeq == discAt then
      redis.call('HSET', meta, 'pendingDiscontinuity', 1)
      redis.call('HDEL', meta, 'discontinuityAt')
    end
    redis.call('HDEL', ready, nextSeq)
    redis.call('HDEL', inflight, nextSeq)
    if e == 'skip' then
      redis.call('HSET', meta, 'pendingDiscontinuity', 1)
    else
      local disc = redis.call('HGET', meta, 'pendingDiscontinuity') == '1'
      local index = redis.call('HINCRBY', meta, 'mediaIndex', 1) - 1
      local record = '{"index":' .. index .. ',"discontinuity":' .. (disc and 'true' or 'false') .. ',"entry":' .. e .. '}'
      redis.call('RPUSH', published, record)
      redis.call('RPUSH', outbox, '{"t":"published","record":' .. record .. '}')
      redis.call('HSET', meta, 'pendingDiscontinuity', 0)
      table.insert(out, record)
    end
    nextSeq = nextSeq + 1
  elseif redis.call('HEXISTS', inflight, nextSeq) == 1 then
    break -- its transcode is still running: wait for it
  else
    -- never ingested: jump to the smallest seq we know of above it
    local lowest = nil
    for _, k in ipairs(redis.call('HKEYS', inflight)) do
      local n = tonumber(k)
      if n > nextSeq and (lowest == nil or n < lowest) then lowest = n end
    end
    if lowest == nil then break end
    nextSeq = lowest
    redis.call('HSET', meta, 'pendingDiscontinuity', 1)
  end
end
redis.call('HSET', meta, 'nextSeq', nextSeq)

local evicted = {}
while redis.call('LLEN', published) > keep do
  local r = redis.call('LPOP', published)
  if string.find(r, '"discontinuity":true', 1, true) then redis.call('HINCRBY', meta, 'discBase', 1) end
  table.insert(evicted, r)
end
return { 1, out, evicted }
