-- KEYS[1] the runtime's queue
if head(KEYS[1]) then return 1 end
return 0
