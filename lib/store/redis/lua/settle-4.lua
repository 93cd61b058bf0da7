-- KEYS[1] the record, KEYS[2] the runtime's queue, KEYS[3] its catalog,
-- KEYS[4] its running set; ARGV[5] the record's id, ARGV[6] 'completed' or
-- 'failed', ARGV[7] the result (completed) or the error (failed), ARGV[8] what
-- an accepted report does to the catalog ('store', 'drop' or 'keep'), ARGV[9]
-- the catalog's lifetime (ms), ARGV[10] the settled channel, ARGV[11] the runtime id,
-- ARGV[12] the kind, ARGV[13] the most bytes of result, error and params the
-- signal carries.
-- Compare-and-set: only a live record takes the report; a late one changes nothing.
local record = load(KEYS[1])
if not record then return missing() end
-- A late report (or one after the timeout this call applied) changes nothing.
if not live(expire(KEYS[1], record)) then return answer(append(told({ 'settled', '0' }), ARGV[5], record)) end
-- When it was claimed, for the caller's diagnostics (a pending one never was).
local claimedAt = record.s == 'running' and record.u or nil
-- A request reported before its claim is no longer claimable.
if record.s == 'pending' then redis.call('ZREM', KEYS[2], record.m) end
if record.s == 'running' then redis.call('ZREM', KEYS[4], ARGV[5]) end
record.s = ARGV[6]
record.u = now
if ARGV[6] == 'completed' then
  record.r = ARGV[7]
  store(KEYS[1], 's', ARGV[6], 'u', now, 'r', ARGV[7])
else
  record.e = ARGV[7]
  store(KEYS[1], 's', ARGV[6], 'u', now, 'e', ARGV[7])
end
-- The catalog changes in the same step as the report that decides it, and
-- only for a request at least as new as the one it came from (newest
-- discovery wins). The order is the sequence leading the request's queue
-- member, zero-padded, so strings compare as the numbers do. A drop keeps the
-- order alone: an older report cannot bring back what a newer one dropped.
-- DEL first, so a key of another type in its place cannot fail the report.
if ARGV[8] ~= 'keep' then
  local order = record.m and string.match(record.m, '^(%d+):') or ''
  local kept = redis.pcall('HGET', KEYS[3], 'o')
  if type(kept) ~= 'string' or order >= kept then
    redis.call('DEL', KEYS[3])
    if ARGV[8] == 'store' then
      redis.call('HSET', KEYS[3], 'r', ARGV[7], 't', now, 'o', order)
    else
      redis.call('HSET', KEYS[3], 'o', order)
    end
    redis.call('PEXPIRE', KEYS[3], ARGV[9])
  end
end
-- Wakes the polls held on this request, on every replica: '<runtime> <id>',
-- and when small enough ' <kind>' and the record after a newline, each field
-- as <name><bytes>:<value>, so the polls answer it without a read (a read
-- would fail while a Cluster refuses queries, just after a failover).
local message = ARGV[11] .. ' ' .. ARGV[5]
if string.len(ARGV[7]) + string.len(record.p or '') <= tonumber(ARGV[13]) then
  local parts = { message, ' ', ARGV[12], '\n' }
  for _, field in ipairs({ 's', 'c', 'u', 'd', 'r', 'e', 'p' }) do
    local value = record[field]
    if value then parts[#parts + 1] = field .. string.len(value) .. ':' .. value end
  end
  message = table.concat(parts)
end
redis.call('PUBLISH', ARGV[10], message)
local out = { 'settled', '1' }
if claimedAt then
  out[3] = 'claimedAt'
  out[4] = claimedAt
end
return answer(append(out, ARGV[5], record))
