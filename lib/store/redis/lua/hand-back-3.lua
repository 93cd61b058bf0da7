-- KEYS[1] the record, KEYS[2] the runtime's queue, KEYS[3] its running set;
-- ARGV[5] the record's id, ARGV[6] when it was claimed (the claim's update
-- time), ARGV[7] pending timeout (ms), ARGV[8] the queued channel, ARGV[9]
-- what to publish there ('<runtimeId> <kind> back').
-- A claim its heartbeat gave up on goes back to the queue, in its old place, with
-- the deadline it had as pending; only while it is still that claim: running and
-- unchanged since. Anything else (reported, timed out, claimed anew) is left as it is.
local record = load(KEYS[1])
if not record then return missing() end
expire(KEYS[1], record)
if record.s ~= 'running' or record.u ~= ARGV[6] or not record.m then return missing() end
record.s = 'pending'
record.u = now
record.d = string.format('%.0f', tonumber(record.c) + tonumber(ARGV[7]))
store(KEYS[1], 's', 'pending', 'u', now, 'd', record.d)
redis.call('ZADD', KEYS[2], record.d, record.m)
redis.call('PEXPIRE', KEYS[2], retention)
-- No longer in flight: an exclusive kind or a catalog refresh is not held up by it.
redis.call('ZREM', KEYS[3], ARGV[5])
-- Claimable again: every replica forgets that this runtime was idle.
redis.call('PUBLISH', ARGV[8], ARGV[9])
return reply(ARGV[5], record)
