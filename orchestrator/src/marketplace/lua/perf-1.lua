--[[
  Updates a worker's performance EWMAs after an outcome.
  Input:
    KEYS[1] perf hash of the worker (latency, success, jobs, failures)
    ARGV[1] success (1 or 0), ARGV[2] latency ratio sample ('' when unknown), ARGV[3] alpha
  Output: { latency, success } as strings
]]
local alpha = tonumber(ARGV[3])
local success = tonumber(redis.call('HGET', KEYS[1], 'success') or '1')
success = success + alpha * (tonumber(ARGV[1]) - success)
local latency = tonumber(redis.call('HGET', KEYS[1], 'latency') or '0.5')
if ARGV[2] ~= '' then latency = latency + alpha * (tonumber(ARGV[2]) - latency) end
redis.call('HSET', KEYS[1], 'success', tostring(success), 'latency', tostring(latency))
redis.call('HINCRBY', KEYS[1], ARGV[1] == '1' and 'jobs' or 'failures', 1)
return { tostring(latency), tostring(success) }
