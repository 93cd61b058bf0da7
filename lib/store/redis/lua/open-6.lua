-- KEYS[1] the runtime's queue, KEYS[2] its sequence, KEYS[3] the new record,
-- KEYS[4] its catalog, KEYS[5] its running set, KEYS[6] its record prefix
-- ARGV[5] new id, ARGV[6] pending timeout (ms), ARGV[7] '1' to coalesce,
-- ARGV[8] '1' to answer from the catalog, ARGV[9] serve window (ms),
-- ARGV[10] revalidate after (ms), ARGV[11] the queued channel, ARGV[12] the
-- runtime id, ARGV[13] the kind, ARGV[14] '1' when exclusive, ARGV[15] params
-- ('' for none), ARGV[16] how long the sequence outlives the last request it
-- numbered (ms).
-- Answers field/value pairs: 'opened' ('record', 'cached' or 'busy'), 'queued'
-- ('0' or '1'), then the record ('id', ...), or 'result' and 'at' (cached; then
-- the refresh it queued, if it did), or
-- 'busy' the id in flight: serve, serve and queue a refresh, refuse, join, or
-- queue, decided in one atomic step.

local params = ARGV[15] ~= '' and ARGV[15] or nil

-- The new request's place in the runtime's creation order. A sequence that
-- lapsed (no request for a while) starts again past the order the catalog
-- keeps, so the newest request stays the newest to the catalog.
local function sequence()
  local next = redis.call('INCR', KEYS[2])
  if next == 1 then
    local kept = redis.pcall('HGET', KEYS[4], 'o')
    if type(kept) == 'string' and tonumber(kept) then
      next = tonumber(kept) + 1
      redis.call('SET', KEYS[2], next)
    end
  end
  return next
end

local function enqueue()
  local deadline = after(ARGV[6])
  local member = string.format('%015d', sequence()) .. ':' .. ARGV[5]
  local record = { s = 'pending', c = now, u = now, d = deadline, m = member, p = params }
  if params then
    store(KEYS[3], 's', 'pending', 'c', now, 'u', now, 'd', deadline, 'm', member, 'v', layout, 'p', params)
  else
    store(KEYS[3], 's', 'pending', 'c', now, 'u', now, 'd', deadline, 'm', member, 'v', layout)
  end
  redis.call('ZADD', KEYS[1], deadline, member)
  redis.call('PEXPIRE', KEYS[1], retention)
  redis.call('PEXPIRE', KEYS[2], ARGV[16])
  -- Every replica's subscriber hears it and hints its own daemon sockets.
  redis.call('PUBLISH', ARGV[11], ARGV[12] .. ' ' .. ARGV[13])
  return record
end

-- The id of a request the daemon has yet to answer: pending, or running.
local function inFlight()
  local id = head(KEYS[1], KEYS[6])
  if id then return id end
  local running = redis.call('ZRANGEBYSCORE', KEYS[5], now, '+inf', 'LIMIT', 0, 1)
  return running[1]
end

if ARGV[8] == '1' then
  -- A catalog that cannot be read (a key of another type) is a miss, not an error.
  local catalog = redis.pcall('HMGET', KEYS[4], 'r', 't')
  local result, at = catalog[1], catalog[2]
  if not catalog['err'] and type(result) == 'string' and type(at) == 'string' and tonumber(at) then
    local age = tonumber(now) - tonumber(at)
    if age < tonumber(ARGV[9]) then
      -- One refresh at a time: none while a request is pending or running.
      if age > tonumber(ARGV[10]) and not inFlight() then
        return answer(append({ 'opened', 'cached', 'queued', '1', 'result', result, 'at', at }, ARGV[5], enqueue()))
      end
      return answer({ 'opened', 'cached', 'queued', '0', 'result', result, 'at', at })
    end
  end
end

if ARGV[14] == '1' then
  local busy = inFlight()
  if busy then return answer({ 'opened', 'busy', 'busy', busy }) end
end

if ARGV[7] == '1' then
  -- Joins only a request that asks the same.
  local id, _, record = head(KEYS[1], KEYS[6], function (other) return other.p == params end)
  if id then return answer(append({ 'opened', 'record', 'queued', '0' }, id, record)) end
end
return answer(append({ 'opened', 'record', 'queued', '1' }, ARGV[5], enqueue()))
