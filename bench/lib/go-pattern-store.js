'use strict'
// BASELINE FOR COMPARISON ONLY: not part of the package, never exported.
//
// A store that talks to Redis the way the Go original's Redis backend does,
// so the bench can put its round trips and throughput beside ours under the
// same load: each record is one JSON string; a runtime's queue a sorted set of
// ids; the probe is ZCARD; a claim reads the queue head (ZRANGE), reads the
// record (GET) and moves it with a compare-and-set script; complete and fail
// read (GET) and then write (SET), not atomically. Create is SET + ZADD +
// PEXPIRE sent as one pipeline (one round trip: an assumption in the
// baseline's favour). Timeouts are applied on read and written back (a second
// round trip only when one is due).
const { randomUUID } = require('node:crypto')

const pendingTimeoutMs = 30_000
const runningTimeoutMs = 60_000
const retentionMs = 120_000

// Claims the record only if nobody changed it since it was read.
const claimLua = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[4])
return 1`

class GoPatternStore {
  constructor ({ redis, keyPrefix }) {
    this.redis = redis
    this.keyPrefix = keyPrefix
    if (typeof redis.goPatternClaim !== 'function') redis.defineCommand('goPatternClaim', { numberOfKeys: 2, lua: claimLua })
  }

  recordKey (runtimeId, id) { return `${this.keyPrefix}:{${runtimeId}}:req:${id}` }
  queueKey (runtimeId) { return `${this.keyPrefix}:{${runtimeId}}:pending` }

  async create (runtimeId) {
    const now = Date.now()
    const record = { id: randomUUID(), runtime_id: runtimeId, status: 'pending', supported: true, created_at: new Date(now).toISOString(), updated_at: new Date(now).toISOString() }
    await this.redis.pipeline()
      .set(this.recordKey(runtimeId, record.id), JSON.stringify(record), 'PX', retentionMs)
      .zadd(this.queueKey(runtimeId), now, record.id)
      .pexpire(this.queueKey(runtimeId), retentionMs)
      .exec()
    return record
  }

  async read (key) {
    const raw = await this.redis.get(key)
    return raw === null ? null : { raw, record: JSON.parse(raw) }
  }

  // The Go original's timeout rule, stored when it applies.
  async expire (key, record) {
    const now = Date.now()
    const started = Date.parse(record.status === 'running' ? record.updated_at : record.created_at)
    const limit = record.status === 'pending' ? pendingTimeoutMs : runningTimeoutMs
    if ((record.status !== 'pending' && record.status !== 'running') || now - started <= limit) return record
    record.error = record.status === 'pending' ? 'daemon did not respond within 30 seconds' : 'daemon did not finish within 60 seconds'
    record.status = 'timeout'
    record.updated_at = new Date(now).toISOString()
    await this.redis.set(key, JSON.stringify(record), 'PX', retentionMs)
    return record
  }

  async get (runtimeId, id) {
    const key = this.recordKey(runtimeId, id)
    const found = await this.read(key)
    return found === null ? null : await this.expire(key, found.record)
  }

  async hasPending (runtimeId) {
    return await this.redis.zcard(this.queueKey(runtimeId)) > 0
  }

  async popPending (runtimeId) {
    const queue = this.queueKey(runtimeId)
    for (;;) {
      const [id] = await this.redis.zrange(queue, 0, 0)
      if (id === undefined) return null
      const key = this.recordKey(runtimeId, id)
      const found = await this.read(key)
      if (found !== null && found.record.status === 'pending') {
        const claimed = { ...found.record, status: 'running', updated_at: new Date().toISOString() }
        if (await this.redis.goPatternClaim(key, queue, found.raw, JSON.stringify(claimed), retentionMs, id) === 1) return claimed
        continue
      }
      await this.redis.zrem(queue, id)
    }
  }

  async settle (runtimeId, id, change) {
    const key = this.recordKey(runtimeId, id)
    const found = await this.read(key)
    if (found === null) return null
    const record = Object.assign(found.record, change, { updated_at: new Date().toISOString() })
    await this.redis.set(key, JSON.stringify(record), 'PX', retentionMs)
    return record
  }

  async complete (runtimeId, id, result) {
    return await this.settle(runtimeId, id, { status: 'completed', models: result.models, supported: result.supported })
  }

  async fail (runtimeId, id, error) {
    return await this.settle(runtimeId, id, { status: 'failed', error })
  }

  async close () {}
}

// Operations that send their commands as one pipeline: one round trip for all.
const pipelined = new Set(['create'])

module.exports = { GoPatternStore, pipelined }
