-- KEYS[1] the record; ARGV[5] its id
local record = load(KEYS[1])
if not record then return missing() end
-- With the server's clock, that clock too: the host times held polls by it.
expire(KEYS[1], record)
return answer(append(told({ 'now', now }), ARGV[5], record))
