-- KEYS[1] the runtime's queue; ARGV[5] running timeout (ms)
local id, key, record, member = head(KEYS[1])
if not id then return missing() end
redis.call('ZREM', KEYS[1], member)
record[1] = 'running'
record[3] = now
record[4] = after(ARGV[5])
store(key, 's', 'running', 'u', now, 'd', record[4])
return reply(id, record)
