-- KEYS[1] the runtime's queue, KEYS[2] its running set, KEYS[3] its record
-- prefix; ARGV[5] running timeout (ms), ARGV[6] how many to claim at most.
-- The oldest claimable requests move to running, each to this caller only.
local out = {}
local claimed = 0
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
while claimed < tonumber(ARGV[6]) do
  local id, key, record, member = head(KEYS[1], KEYS[3])
  if not id then break end
  redis.call('ZREM', KEYS[1], member)
  record.s = 'running'
  record.u = now
  record.d = after(ARGV[5])
  store(key, 's', 'running', 'u', now, 'd', record.d)
  -- Scored by deadline like the queue: ZCOUNT running now +inf is "one is running".
  redis.call('ZADD', KEYS[2], record.d, id)
  append(out, id, record)
  claimed = claimed + 1
end
if claimed > 0 then redis.call('PEXPIRE', KEYS[2], retention) end
return answer(out)
