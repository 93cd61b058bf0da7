-- KEYS[1] the runtime's queue, KEYS[2] the new record
-- ARGV[5] record key prefix, ARGV[6] new id, ARGV[7] pending deadline, ARGV[8] '1' to coalesce
if ARGV[8] == '1' then
  local id, _, record = head(KEYS[1], ARGV[5])
  if id then return reply(id, record) end
end
local record = { 'pending', now, now, ARGV[7], false, false }
store(KEYS[2], 's', 'pending', 'c', now, 'u', now, 'd', ARGV[7])
redis.call('RPUSH', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[1], retention)
return reply(ARGV[6], record)
