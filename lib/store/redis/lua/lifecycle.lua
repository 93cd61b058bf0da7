-- Shared by every script (prepended when loaded). The rules' numbers and words
-- come from the caller (lib/rules.ts, one set per kind of work); this file
-- only keeps the state, the same for every kind.
--
-- ARGV[1] now (ms), or '' for the Redis server's own clock, ARGV[2] retention
-- (ms), ARGV[3] pending timeout error, ARGV[4] running timeout error; a
-- script's own arguments follow.
-- A record is a hash: s status, c created, u updated, d deadline, r result,
-- e error, m its member in the runtime's queue, p params, v the layout it was
-- written in (for the next change of layout; nothing reads it yet).
-- Scripts hold a record as a table by those names and answer it the way
-- HGETALL does (field, value, ...), so a new field touches this file alone.

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
local fields = { 's', 'c', 'u', 'd', 'r', 'e', 'm', 'p' }
-- The field each status needs besides s, c, u and d.
local needs = { pending = 'm', running = 's', completed = 'r', failed = 'e', timeout = 'e' }
-- Keys of unreadable records this call removed, for the caller to log.
local discarded = {}

-- Whether every field the record's status needs is there, times as numbers.
local function readable(record)
  local need = needs[record.s]
  return need ~= nil and record[need] and tonumber(record.c) and tonumber(record.u) and tonumber(record.d)
end

-- A record as a table by field name (absent fields nil), or nil when it is
-- gone. One that cannot be read (a field missing or malformed: edited by hand,
-- or written by another version) is removed and reported, rather than failing
-- every script that meets it.
local function load(key)
  local values = redis.pcall('HMGET', key, unpack(fields))
  local found = values['err'] ~= nil
  local record = {}
  if not found then
    -- A missing field is nil in Redis and a truthy null on ioredis-mock.
    for i, field in ipairs(fields) do
      if type(values[i]) == 'string' then
        record[field] = values[i]
        found = true
      end
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
  return record.s == 'pending' or record.s == 'running'
end

-- The phase ('pending' or 'running') of a timeout this call applied, told
-- with the record it answers (the caller's diagnostics publish it).
local timedOut = nil

-- A due timeout is stored, so every replica reads the same state.
local function expire(key, record)
  if live(record) and tonumber(now) > tonumber(record.d) then
    timedOut = record.s
    record.e = record.s == 'pending' and ARGV[3] or ARGV[4]
    record.s = 'timeout'
    record.u = now
    store(key, 's', 'timeout', 'u', now, 'e', record.e)
  end
  return record
end

-- The queue is a sorted set of pending requests scored by their deadline, so
-- its claimable part is the range [now, +inf]: a probe is a plain ZCOUNT.
-- Members are '<sequence>:<id>': equal deadlines keep their creation order.
-- Record keys are the caller's record prefix (a key of its own, so it carries
-- whatever prefix the client gives keys) followed by the id.
-- Answers the oldest claimable request (that `matches`, when given): its id,
-- key, record and member, or nil. Entries met that no longer name a pending
-- request leave the queue.
local function head(queue, records, matches)
  -- Entries past their deadline leave; their records time out when next read.
  redis.call('ZREMRANGEBYSCORE', queue, '-inf', '(' .. now)
  local offset = 0
  while true do
    local first = redis.call('ZRANGEBYSCORE', queue, now, '+inf', 'LIMIT', offset, 1)
    if #first == 0 then return nil end
    local member = first[1]
    local id = string.match(member, ':(.*)$')
    local record = id and load(records .. id)
    if record and expire(records .. id, record).s == 'pending' then
      if not matches or matches(record) then return id, records .. id, record, member end
      -- Pending but not a match: passed over, kept.
      offset = offset + 1
    else
      -- Claims and reports take their entries out: this one outlived its record.
      redis.call('ZREM', queue, member)
    end
  end
end

-- A record the HGETALL way (id first, then each field it has), appended to `out`.
local function append(out, id, record)
  out[#out + 1] = 'id'
  out[#out + 1] = id
  for _, field in ipairs(fields) do
    if record[field] then
      out[#out + 1] = field
      out[#out + 1] = record[field]
    end
  end
  return out
end

-- A script's answer: field/value pairs (what `out` holds, then the keys it
-- discarded, one per line, under 'discarded'). Returned through one table
-- constructor: ioredis-mock cannot return a table grown later.
local function answer(out)
  if #discarded > 0 then
    out[#out + 1] = 'discarded'
    out[#out + 1] = table.concat(discarded, '\n')
  end
  return { unpack(out) }
end

-- `out` with what this call changed: the timeout it applied, if any.
local function told(out)
  if timedOut then
    out[#out + 1] = 'timedOut'
    out[#out + 1] = timedOut
  end
  return out
end

local function reply(id, record)
  return answer(append({}, id, record))
end

-- No record: only the keys discarded, if any.
local function missing()
  return answer({})
end
