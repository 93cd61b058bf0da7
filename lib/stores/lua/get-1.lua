-- KEYS[1] the record; ARGV[5] its id
local record = load(KEYS[1])
if not record then return missing() end
return reply(ARGV[5], expire(KEYS[1], record))
