-- KEYS[1] the runtime's queue; ARGV[5] record key prefix, ARGV[6] running deadline
local id, key, record = head(KEYS[1], ARGV[5])
if not id then return false end
redis.call('LPOP', KEYS[1])
record[1] = 'running'
record[3] = now
record[4] = ARGV[6]
store(key, 's', 'running', 'u', now, 'd', ARGV[6])
return reply(id, record)
