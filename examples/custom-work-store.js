'use strict'

// A custom work store, as small as one can be: every kind of work, in one
// process's Maps. It keeps records and queues; the rules each call brings
// (`rules.open`, `expire`, `claim`, `settle`: lib/lifecycle.ts) decide every
// transition, so the store has no timeouts or wire shapes of its own.
// It passes the exported contract suite (test/examples.test.ts runs it):
//   const { workStoreContract } = require('fastify-model-list/testing')
//   workStoreContract(t, { name: 'mine', make: now => new MapWorkStore({ now }) })
const { randomUUID } = require('node:crypto')

class MapWorkStore {
  constructor ({ now = Date.now } = {}) {
    this.now = now
    this.records = new Map() // id -> record
    this.queues = new Map() // '<runtimeId> <kind>' -> ids, oldest first
  }

  queue (runtimeId, kind) {
    const key = `${runtimeId} ${kind}`
    if (!this.queues.has(key)) this.queues.set(key, [])
    return this.queues.get(key)
  }

  read (rules, runtimeId, id, now) {
    const record = this.records.get(id)
    if (record === undefined || record.runtimeId !== runtimeId || record.kind !== rules.kind) return undefined
    rules.expire(record, now)
    return record
  }

  // The claimable ones, oldest first (a queue entry is dropped once it is no longer pending).
  claimable (rules, runtimeId, now) {
    const queue = this.queue(runtimeId, rules.kind)
    const pending = queue.filter(id => this.read(rules, runtimeId, id, now)?.status === 'pending')
    queue.splice(0, queue.length, ...pending)
    return pending.map(id => this.records.get(id))
  }

  async open (rules, runtimeId, { params, coalesce, exclusive }) {
    const now = this.now()
    const claimable = this.claimable(rules, runtimeId, now)
    if (exclusive) {
      const busy = claimable[0] ?? [...this.records.values()].find(record => record.kind === rules.kind && record.runtimeId === runtimeId && this.read(rules, runtimeId, record.id, now).status === 'running')
      if (busy !== undefined) return { busy: busy.id }
    }
    const joined = coalesce ? claimable.find(record => record.params === params) : undefined
    if (joined !== undefined) return { record: { ...joined }, queued: false }
    const record = rules.open(randomUUID(), runtimeId, now, params)
    this.records.set(record.id, record)
    this.queue(runtimeId, rules.kind).push(record.id)
    return { record: { ...record }, queued: true }
  }

  async get (rules, runtimeId, id) {
    const record = this.read(rules, runtimeId, id, this.now())
    return record === undefined ? null : { ...record }
  }

  // Read-only: a pending record still before its deadline is claimable.
  async probe (runtimeId, kinds) {
    const now = this.now()
    return kinds.map(kind => this.queue(runtimeId, kind).some(id => {
      const record = this.records.get(id)
      return record.status === 'pending' && now <= record.deadline
    }))
  }

  async claim (rules, runtimeId, max) {
    const now = this.now()
    const claimed = this.claimable(rules, runtimeId, now).slice(0, max)
    const queue = this.queue(runtimeId, rules.kind)
    queue.splice(0, claimed.length)
    for (const record of claimed) rules.claim(record, now)
    return claimed.map(record => ({ ...record }))
  }

  async settle (rules, runtimeId, id, outcome) {
    const now = this.now()
    const record = this.read(rules, runtimeId, id, now)
    if (record === undefined) return null
    rules.settle(record, outcome, now)
    return { ...record }
  }

  async close () {}
}

module.exports = { MapWorkStore }
