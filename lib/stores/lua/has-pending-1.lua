-- KEYS[1] the runtime's queue; ARGV[5] record key prefix
if head(KEYS[1], ARGV[5]) then return 1 end
return 0
