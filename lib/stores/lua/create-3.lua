-- KEYS[1] the runtime's queue, KEYS[2] its sequence, KEYS[3] the new record
-- ARGV[5] new id, ARGV[6] pending deadline, ARGV[7] '1' to coalesce
if ARGV[7] == '1' then
  local id, _, record = head(KEYS[1])
  if id then return reply(id, record) end
end
local member = string.format('%015d', redis.call('INCR', KEYS[2])) .. ':' .. ARGV[5]
local record = { 'pending', now, now, ARGV[6], false, false }
store(KEYS[3], 's', 'pending', 'c', now, 'u', now, 'd', ARGV[6], 'm', member)
redis.call('ZADD', KEYS[1], ARGV[6], member)
redis.call('PEXPIRE', KEYS[1], retention)
redis.call('PEXPIRE', KEYS[2], retention)
return reply(ARGV[5], record)
