-- KEYS[1] the runtime's queue, KEYS[2] its sequence, KEYS[3] the new record,
-- KEYS[4] its catalog, KEYS[5] its running set
-- ARGV[5] new id, ARGV[6] pending timeout (ms), ARGV[7] '1' to coalesce,
-- ARGV[8] '1' to answer from the catalog, ARGV[9] serve window (ms),
-- ARGV[10] revalidate after (ms), ARGV[11] the queued channel, ARGV[12] the runtime id
-- Replies { 'record', queued, <record reply> } or { 'cached', queued, result,
-- stored at, the keys of unreadable records removed (see reply()) or false }:
-- serve, serve and queue a refresh, join, or queue, decided in one atomic step.

local function enqueue()
  local deadline = after(ARGV[6])
  local member = string.format('%015d', redis.call('INCR', KEYS[2])) .. ':' .. ARGV[5]
  store(KEYS[3], 's', 'pending', 'c', now, 'u', now, 'd', deadline, 'm', member, 'v', layout)
  redis.call('ZADD', KEYS[1], deadline, member)
  redis.call('PEXPIRE', KEYS[1], retention)
  redis.call('PEXPIRE', KEYS[2], retention)
  -- Every replica's subscriber hears it and hints its own daemon sockets.
  redis.call('PUBLISH', ARGV[11], ARGV[12])
  return { 'pending', now, now, deadline, false, false }
end

if ARGV[8] == '1' then
  -- A catalog that cannot be read (a key of another type) is a miss, not an error.
  local catalog = redis.pcall('HMGET', KEYS[4], 'r', 't')
  local result, at = catalog[1], catalog[2]
  if not catalog['err'] and type(result) == 'string' and type(at) == 'string' and tonumber(at) then
    local age = tonumber(now) - tonumber(at)
    if age < tonumber(ARGV[9]) then
      local queued = '0'
      -- One refresh at a time: none while a request is pending or running.
      if age > tonumber(ARGV[10]) and not head(KEYS[1]) and redis.call('ZCOUNT', KEYS[5], now, '+inf') == 0 then
        enqueue()
        queued = '1'
      end
      return { 'cached', queued, result, at, #discarded > 0 and table.concat(discarded, '\n') or false }
    end
  end
end

if ARGV[7] == '1' then
  local id, _, record = head(KEYS[1])
  if id then return { 'record', '0', reply(id, record) } end
end
return { 'record', '1', reply(ARGV[5], enqueue()) }
