-- KEYS[1] the record, KEYS[2] the runtime's queue, KEYS[3] its running set; ARGV[5] the record's id,
-- ARGV[6] when it was claimed (the claim's update time), ARGV[7] pending timeout (ms).
-- A claim its heartbeat gave up on goes back to the queue, in its old place, with
-- the deadline it had as pending; only while it is still that claim: running and
-- unchanged since. Anything else (reported, timed out, claimed anew) is left as it is.
local record = load(KEYS[1])
if not record then return missing() end
expire(KEYS[1], record)
if record[1] ~= 'running' or record[3] ~= ARGV[6] or not record[7] then return missing() end
record[1] = 'pending'
record[3] = now
record[4] = string.format('%.0f', tonumber(record[2]) + tonumber(ARGV[7]))
store(KEYS[1], 's', 'pending', 'u', now, 'd', record[4])
redis.call('ZADD', KEYS[2], record[4], record[7])
redis.call('PEXPIRE', KEYS[2], retention)
redis.call('ZREM', KEYS[3], ARGV[5])
return reply(ARGV[5], record)
