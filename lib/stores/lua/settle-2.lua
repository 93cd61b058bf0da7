-- KEYS[1] the record, KEYS[2] the runtime's queue; ARGV[5] the record's id,
-- ARGV[6] 'completed' or 'failed', ARGV[7] the result (completed) or the error (failed).
-- Compare-and-set: only a live record takes the report; a late one changes nothing.
local record = load(KEYS[1])
if not record then return missing() end
if not live(expire(KEYS[1], record)) then return reply(ARGV[5], record) end
-- A request reported before its claim is no longer claimable.
if record[1] == 'pending' then redis.call('ZREM', KEYS[2], record[7]) end
record[1] = ARGV[6]
record[3] = now
if ARGV[6] == 'completed' then
  record[5] = ARGV[7]
  store(KEYS[1], 's', ARGV[6], 'u', now, 'r', ARGV[7])
else
  record[6] = ARGV[7]
  store(KEYS[1], 's', ARGV[6], 'u', now, 'e', ARGV[7])
end
return reply(ARGV[5], record)
