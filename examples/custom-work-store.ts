// A custom work store, as small as one can be: every kind of work, in one
// process's Maps. It keeps records and queues; the rules each call brings
// (`rules.open`, `expire`, `claim`, `settle`: lib/rules.ts) decide every
// transition, so the store has no timeouts or wire shapes of its own.
// It passes the exported contract suite (test/examples-work.test.ts runs it):
//   import { workStoreContract } from 'fastify-model-list/testing'
//   workStoreContract(t, { name: 'mine', make: now => new MapWorkStore({ now }) })
import { randomUUID } from 'node:crypto'
import type { OpenRequest, OpenedWork, Outcome, WorkRecord, WorkRules, WorkStore } from 'fastify-model-list'

export class MapWorkStore implements WorkStore {
  readonly now: () => number
  private readonly records = new Map<string, WorkRecord>() // id -> record
  private readonly queues = new Map<string, string[]>() // '<runtimeId> <kind>' -> ids, oldest first

  constructor ({ now = Date.now }: { now?: () => number } = {}) {
    this.now = now
  }

  private queue (runtimeId: string, kind: string): string[] {
    const key = `${runtimeId} ${kind}`
    let queue = this.queues.get(key)
    if (queue === undefined) this.queues.set(key, queue = [])
    return queue
  }

  private read (rules: WorkRules, runtimeId: string, id: string, now: number): WorkRecord | undefined {
    const record = this.records.get(id)
    if (record === undefined || record.runtimeId !== runtimeId || record.kind !== rules.kind) return undefined
    // Forgotten `retentionMs` after its last change, as every store must.
    if (now - record.updatedAt >= rules.retentionMs) {
      this.records.delete(id)
      return undefined
    }
    rules.expire(record, now)
    return record
  }

  // The claimable ones, oldest first (a queue entry is dropped once it is no longer pending).
  private claimable (rules: WorkRules, runtimeId: string, now: number): WorkRecord[] {
    const queue = this.queue(runtimeId, rules.kind)
    const pending = queue.flatMap(id => {
      const record = this.read(rules, runtimeId, id, now)
      return record?.status === 'pending' ? [record] : []
    })
    queue.splice(0, queue.length, ...pending.map(record => record.id))
    return pending
  }

  async open (rules: WorkRules, runtimeId: string, { params, coalesce, exclusive }: OpenRequest): Promise<OpenedWork> {
    const now = this.now()
    const claimable = this.claimable(rules, runtimeId, now)
    if (exclusive) {
      const busy = claimable[0] ?? [...this.records.values()].find(record => record.kind === rules.kind && record.runtimeId === runtimeId && this.read(rules, runtimeId, record.id, now)?.status === 'running')
      if (busy !== undefined) return { busy: busy.id }
    }
    const joined = coalesce ? claimable.find(record => record.params === params) : undefined
    if (joined !== undefined) return { record: { ...joined }, queued: false }
    const record = rules.open(randomUUID(), runtimeId, now, params)
    this.records.set(record.id, record)
    this.queue(runtimeId, rules.kind).push(record.id)
    return { record: { ...record }, queued: true }
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    const record = this.read(rules, runtimeId, id, this.now())
    return record === undefined ? null : { ...record }
  }

  // Read-only: a pending record still before its deadline is claimable.
  async probe (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    const now = this.now()
    return kinds.map(kind => this.queue(runtimeId, kind).some(id => {
      const record = this.records.get(id)
      return record?.status === 'pending' && now <= record.deadline
    }))
  }

  async claim (rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]> {
    const now = this.now()
    const claimed = this.claimable(rules, runtimeId, now).slice(0, max)
    const queue = this.queue(runtimeId, rules.kind)
    queue.splice(0, claimed.length)
    for (const record of claimed) rules.claim(record, now)
    return claimed.map(record => ({ ...record }))
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome): Promise<WorkRecord | null> {
    const now = this.now()
    const record = this.read(rules, runtimeId, id, now)
    if (record === undefined) return null
    rules.settle(record, outcome, now)
    return { ...record }
  }

  async close (): Promise<void> {}
}
