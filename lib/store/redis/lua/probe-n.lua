-- KEYS: the runtime's queue of each kind asked about (any number, one hash slot).
-- Claims and reports take their entries out and an entry past its deadline
-- scores below now: a plain count per queue is exact. One round trip for every kind.
local counts = {}
for i, queue in ipairs(KEYS) do
  counts[i] = redis.call('ZCOUNT', queue, now, '+inf')
end
return { unpack(counts) }
