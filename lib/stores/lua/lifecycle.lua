-- Shared by every script (prepended when loaded). The rules' numbers and words
-- come from the caller (lib/lifecycle.ts); this file only keeps the state.
--
-- ARGV[1] now (ms), or '' for the Redis server's own clock, ARGV[2] retention
-- (ms), ARGV[3] pending timeout error, ARGV[4] running timeout error; a
-- script's own arguments follow.
-- A record is a hash: s status, c created, u updated, d deadline, r result,
-- e error, m its member in the runtime's queue.

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

local function load(key)
  local record = redis.call('HMGET', key, 's', 'c', 'u', 'd', 'r', 'e', 'm')
  -- A missing field is nil in Redis and a truthy null on ioredis-mock.
  for i = 1, 7 do
    if type(record[i]) ~= 'string' then record[i] = false end
  end
  if not record[1] then return nil end
  return record
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
    local key = prefix .. id
    local record = load(key)
    if record and expire(key, record)[1] == 'pending' then return id, key, record, member end
    -- Claims and reports take their entries out: this one outlived its record.
    redis.call('ZREM', queue, member)
  end
end

local function reply(id, record)
  return { id, record[1], record[2], record[3], record[4], record[5], record[6] }
end
