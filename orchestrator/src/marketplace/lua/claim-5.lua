--[[
  Claims one of a worker's slots for a segment, with a deadline, unless the worker is full; with
  the claim, stores what the worker won (its assignment) and, for a spot-check, the mark that its
  result is a check: both must exist before the job reaches the worker's queue, and writing them
  here saves a round trip per dispatch.
  Input:
    KEYS[1] inflight hash (address -> slots in use), KEYS[2] deadlines zset (member -> deadline ms),
    KEYS[3] tried set of this job, KEYS[4] assignment key of (job, worker), KEYS[5] check key of
    (job, worker)
    ARGV[1] address, ARGV[2] max concurrent, ARGV[3] deadline ms, ARGV[4] member "jobId|address",
    ARGV[5] record TTL ms, ARGV[6] assignment JSON, ARGV[7] check JSON ('' when not a check)
  Output: 1 claimed, 0 worker full
]]
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if used >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], 3600)
redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[5])
if ARGV[7] ~= '' then redis.call('SET', KEYS[5], ARGV[7], 'PX', ARGV[5]) end
return 1
