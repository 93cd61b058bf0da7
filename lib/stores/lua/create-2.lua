-- KEYS[1] the runtime's queue, KEYS[2] the new record
-- ARGV[5] new id, ARGV[6] pending deadline, ARGV[7] '1' to coalesce
if ARGV[7] == '1' then
  local id, _, record = head(KEYS[1])
  if id then return reply(id, record) end
end
local record = { 'pending', now, now, ARGV[6], false, false }
store(KEYS[2], 's', 'pending', 'c', now, 'u', now, 'd', ARGV[6])
redis.call('RPUSH', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[1], retention)
return reply(ARGV[5], record)
