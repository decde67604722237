--[[
  Books the payment of one accepted result, once: moves the worker's credit from the balance the
  caller read to the one it computed (compare-and-set: bigints stay decimal strings, Lua never does
  arithmetic on them) and reserves `count` sender nonces. A second call for the same job returns
  the first call's plan, so a retried result is paid with the same tickets, never new ones.
  Input:
    KEYS[1] credit hash of the worker (balance: decimal wei, nonce: next sender nonce)
    KEYS[2] plan hash of this (job, worker)
    ARGV[1] balance the caller read ("0" when none), ARGV[2] new balance, ARGV[3] ticket count,
    ARGV[4] plan JSON, ARGV[5] plan TTL seconds
  Output:
    {"paid", nonceStart, planJson}  this call's plan, or the earlier one for the same job
    {"retry", balance}              the balance moved since the caller read it: recompute
]]
local existing = redis.call('HMGET', KEYS[2], 'nonceStart', 'plan')
if existing[1] then return { 'paid', existing[1], existing[2] } end
local balance = redis.call('HGET', KEYS[1], 'balance') or '0'
if balance ~= ARGV[1] then return { 'retry', balance } end
local count = tonumber(ARGV[3])
local next = redis.call('HINCRBY', KEYS[1], 'nonce', count)
local start = tostring(next - count)
redis.call('HSET', KEYS[1], 'balance', ARGV[2])
redis.call('HSET', KEYS[2], 'nonceStart', start, 'plan', ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
return { 'paid', start, ARGV[4] }
