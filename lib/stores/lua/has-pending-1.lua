-- KEYS[1] the runtime's queue. Claims and reports take their entries out and an
-- entry past its deadline scores below now: a plain count is exact.
return redis.call('ZCOUNT', KEYS[1], now, '+inf')
