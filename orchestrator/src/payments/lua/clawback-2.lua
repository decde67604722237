--[[
  Takes back what a job was credited when its result is proven wrong (spot-check): the worker's
  credit drops by the job's `owed` (it may go negative: later accepted results pay it off before
  any new ticket is sent). Once per job.
  Input:
    KEYS[1] credit hash of the worker, KEYS[2] plan hash of this (job, worker)
    ARGV[1] balance the caller read ("0" when none), ARGV[2] new balance
  Output:
    {"clawed"}          done now
    {"done"}            done before (or the job was never paid)
    {"retry", balance}  the balance moved since the caller read it: recompute
]]
if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('HGET', KEYS[2], 'clawedBack') then return { 'done' } end
local balance = redis.call('HGET', KEYS[1], 'balance') or '0'
if balance ~= ARGV[1] then return { 'retry', balance } end
redis.call('HSET', KEYS[1], 'balance', ARGV[2])
redis.call('HSET', KEYS[2], 'clawedBack', '1')
return { 'clawed' }
