-- Shared by every script (prepended when loaded). The rules' numbers and words
-- come from the caller (lib/lifecycle.ts); this file only keeps the state.
--
-- ARGV[1] now (ms), or '' for the Redis server's own clock, ARGV[2] retention
-- (ms), ARGV[3] pending timeout error, ARGV[4] running timeout error; a
-- script's own arguments follow.
-- A record is a hash: s status, c created, u updated, d deadline, r result,
-- e error, m its member in the runtime's queue, v the layout it was written in
-- (records from before `v` have the same fields and read the same).

local now = ARGV[1]
if now == '' then
  -- One clock for every replica: deadlines agree whatever the hosts' clocks say.
  -- (1000.0: ioredis-mock's Lua has 32-bit integers.)
  local time = redis.call('TIME')
  now = string.format('%.0f', tonumber(time[1]) * 1000.0 + math.floor(tonumber(time[2]) / 1000))
end
local retention = ARGV[2]

-- The instant `ms` after now, as the integer string Redis stores.
local function after(ms)
  return string.format('%.0f', tonumber(now) + tonumber(ms))
end

local layout = '1'
-- The field each status needs besides s, c, u and d.
local needs = { pending = 7, running = 1, completed = 5, failed = 6, timeout = 6 }
-- Keys of unreadable records this call removed, for the caller to log.
local discarded = {}

-- Whether every field the record's status needs is there, times as numbers.
local function readable(record)
  local need = needs[record[1]]
  return need ~= nil and record[need] and tonumber(record[2]) and tonumber(record[3]) and tonumber(record[4])
end

-- A record as a list (s c u d r e m, false where absent), or nil when it is
-- gone. One that cannot be read (a field missing or malformed: edited by hand,
-- or written by another version) is removed and reported, rather than failing
-- every script that meets it.
local function load(key)
  local record = redis.pcall('HMGET', key, 's', 'c', 'u', 'd', 'r', 'e', 'm')
  local found = record['err'] ~= nil
  if not found then
    -- A missing field is nil in Redis and a truthy null on ioredis-mock.
    for i = 1, 7 do
      if type(record[i]) ~= 'string' then record[i] = false else found = true end
    end
    if found and readable(record) then return record end
  end
  if found then
    redis.call('DEL', key)
    discarded[#discarded + 1] = key
  end
  return nil
end

-- A record changed is kept for `retention` after the change.
local function store(key, ...)
  redis.call('HSET', key, ...)
  redis.call('PEXPIRE', key, retention)
end

local function live(record)
  return record[1] == 'pending' or record[1] == 'running'
end

-- A due timeout is stored, so every replica reads the same state.
local function expire(key, record)
  if live(record) and tonumber(now) > tonumber(record[4]) then
    record[6] = record[1] == 'pending' and ARGV[3] or ARGV[4]
    record[1] = 'timeout'
    record[3] = now
    store(key, 's', 'timeout', 'u', now, 'e', record[6])
  end
  return record
end

-- The queue is a sorted set of pending requests scored by their deadline, so
-- its claimable part is the range [now, +inf]: hasPending is a plain ZCOUNT.
-- Members are '<sequence>:<id>': equal deadlines keep their creation order.
-- Record keys are built from the queue's own key ('...:queue' -> '...:req:<id>'),
-- so they carry whatever prefix the client gave it, on Redis and ioredis-mock alike.
local function head(queue)
  -- Entries past their deadline leave; their records time out when next read.
  redis.call('ZREMRANGEBYSCORE', queue, '-inf', '(' .. now)
  local prefix = string.sub(queue, 1, -6) .. 'req:'
  while true do
    local first = redis.call('ZRANGEBYSCORE', queue, now, '+inf', 'LIMIT', 0, 1)
    if #first == 0 then return nil end
    local member = first[1]
    local id = string.match(member, ':(.*)$')
    local record = id and load(prefix .. id)
    if record and expire(prefix .. id, record)[1] == 'pending' then return id, prefix .. id, record, member end
    -- Claims and reports take their entries out: this one outlived its record.
    redis.call('ZREM', queue, member)
  end
end

-- A script's answer: the record (id s c u d r e), then the keys it discarded,
-- one per line. (One table constructor: ioredis-mock cannot return a table grown later.)
local function reply(id, record)
  local keys = #discarded > 0 and table.concat(discarded, '\n') or nil
  return { id, record[1], record[2], record[3], record[4], record[5], record[6], keys }
end

-- No record: false, or, when unreadable ones were discarded, an empty id before their keys.
local function missing()
  if #discarded == 0 then return false end
  return reply('', { '', '', '', '', '', '' })
end
