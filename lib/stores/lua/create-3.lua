-- KEYS[1] the runtime's queue, KEYS[2] its sequence, KEYS[3] the new record
-- ARGV[5] new id, ARGV[6] pending timeout (ms), ARGV[7] '1' to coalesce
if ARGV[7] == '1' then
  local id, _, record = head(KEYS[1])
  if id then return reply(id, record) end
end
local deadline = after(ARGV[6])
local member = string.format('%015d', redis.call('INCR', KEYS[2])) .. ':' .. ARGV[5]
local record = { 'pending', now, now, deadline, false, false }
store(KEYS[3], 's', 'pending', 'c', now, 'u', now, 'd', deadline, 'm', member, 'v', layout)
redis.call('ZADD', KEYS[1], deadline, member)
redis.call('PEXPIRE', KEYS[1], retention)
redis.call('PEXPIRE', KEYS[2], retention)
return reply(ARGV[5], record)
