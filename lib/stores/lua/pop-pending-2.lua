-- KEYS[1] the runtime's queue, KEYS[2] its running set; ARGV[5] running timeout (ms)
local id, key, record, member = head(KEYS[1])
if not id then return missing() end
redis.call('ZREM', KEYS[1], member)
record[1] = 'running'
record[3] = now
record[4] = after(ARGV[5])
store(key, 's', 'running', 'u', now, 'd', record[4])
-- Scored by deadline like the queue: ZCOUNT running now +inf is "one is running".
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
redis.call('ZADD', KEYS[2], record[4], id)
redis.call('PEXPIRE', KEYS[2], retention)
return reply(id, record)
