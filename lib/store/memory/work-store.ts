import { checkFunction, given, type WorkRules } from '../../rules'
import type { CatalogCacheOptions, CatalogWindows } from '../../catalog'
import { newId } from '../../ids'
import { Signals } from '../signals'
import { none } from '../nothing'
import type { CatalogAction, OpenedWork, OpenRequest, Outcome, QueuedListener, RecordChange, WorkRecord, WorkStore } from '../contract'
import { Catalogs } from './catalogs'
import { Lanes, type Lane } from './lanes'
import { Sweeper } from './sweeper'

export interface MemoryWorkStoreOptions {
  /** The store's clock (epoch ms); Date.now when not given. */
  now?: () => number
  /** The catalog cache's windows, or false for none. */
  catalogCache?: CatalogCacheOptions | false
}

// A sweep forgets at most this many records before it lets the event loop
// run (a timer sweep goes on at the next turn): well under a millisecond.
const maxForgottenPerSweep = 1_000

/**
 * One process's work store. Records of each kind sit in a map kept in order
 * of last change, so forgetting walks only what is due; each runtime has a
 * queue of pending ids per kind, so a heartbeat never looks at other
 * runtimes' requests.
 */
export class MemoryWorkStore implements WorkStore {
  private readonly clock: () => number
  private readonly signals = new Signals()
  // Each kind's records and its rules as last given: kinds keep records for their own retention.
  private readonly byKind = new Map<string, { records: Map<string, WorkRecord>, rules: WorkRules }>()
  private readonly lanes = new Lanes()
  private readonly catalogs: Catalogs
  private readonly sweeper: Sweeper
  // Each record's place in creation order, which the catalog compares (newest
  // discovery wins); deleted with its record. (A WeakMap kept its table at its
  // peak size once the records were gone: 4 MB after 100,000 requests.)
  private readonly creationOrder = new Map<WorkRecord, number>()
  private created = 0

  constructor (options: MemoryWorkStoreOptions = {}) {
    this.clock = checkFunction('now', given(options.now, Date.now))
    this.catalogs = new Catalogs(options.catalogCache)
    this.sweeper = new Sweeper(() => this.sweep(this.now()))
  }

  now (): number {
    return this.clock()
  }

  private kind (rules: WorkRules): { records: Map<string, WorkRecord>, rules: WorkRules } {
    let kind = this.byKind.get(rules.kind)
    if (kind === undefined) this.byKind.set(rules.kind, kind = { records: new Map(), rules })
    kind.rules = rules
    this.sweeper.retention(rules.retentionMs)
    return kind
  }

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    const now = this.now()
    this.sweep(now)
    const lane: Lane = { runtimeId, kind: rules.kind }
    const cached = request.useCache ? this.catalogs.get(runtimeId) : undefined
    if (cached !== undefined) {
      // A catalog is kept only while it may be served (the sweep forgets it after).
      const refresh = now - cached.storedAt > (this.catalogs.windows as CatalogWindows).revalidateAfterMs && this.live(rules, lane, runtimeId, now) === undefined
      if (!refresh) return { cached, queued: false }
      return { cached, queued: true, refresh: { ...this.enqueue(rules, lane, runtimeId, now, request.params) } }
    }
    if (request.exclusive) {
      const busy = this.live(rules, lane, runtimeId, now)
      if (busy !== undefined) return { busy }
    }
    if (request.coalesce) {
      const joined = this.claimable(rules, lane, runtimeId, now, record => record.params === request.params)
      if (joined !== undefined) return { record: { ...joined }, queued: false }
    }
    return { record: { ...this.enqueue(rules, lane, runtimeId, now, request.params) }, queued: true }
  }

  private enqueue (rules: WorkRules, lane: Lane, runtimeId: string, now: number, params: string | undefined): WorkRecord {
    const record = rules.open(newId(), runtimeId, now, params)
    this.creationOrder.set(record, ++this.created)
    this.kind(rules).records.set(record.id, record)
    this.lanes.queueOf(lane).push(record.id, record.deadline)
    this.signals.emitQueued(runtimeId, rules.kind)
    return record
  }

  /** The id of a pending or running request the daemon has yet to answer, if any. */
  private live (rules: WorkRules, lane: Lane, runtimeId: string, now: number): string | undefined {
    const pending = this.claimable(rules, lane, runtimeId, now)
    if (pending !== undefined) return pending.id
    for (const id of this.lanes.running(lane)) {
      // Read without applying a timeout, as Redis does: the read that applies it tells of it.
      const record = this.byKind.get(rules.kind)?.records.get(id)
      if (record?.status === 'running' && now <= record.deadline) return id
      this.lanes.unclaim(lane, id)
    }
    return undefined
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    const change: RecordChange = {}
    const record = this.read(rules, runtimeId, id, this.now(), change)
    if (record === undefined) return null
    return change.timedOut === undefined ? { ...record } : { ...record, change }
  }

  async probe (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    // A copy: the answer for "nothing" is shared.
    return [...this.probeNow(runtimeId, kinds)]
  }

  probeNow (runtimeId: string, kinds: readonly string[]): boolean[] {
    // Most heartbeats end here: no queue, no clock read, no allocation.
    let queued = false
    for (let i = 0; i < kinds.length && !queued; i++) queued = this.lanes.queue(runtimeId, kinds[i]) !== undefined
    if (!queued) return none(kinds.length)
    const now = this.now()
    return kinds.map(kind => {
      const known = this.byKind.get(kind)
      return known !== undefined && this.claimable(known.rules, { runtimeId, kind }, runtimeId, now) !== undefined
    })
  }

  async claim (rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]> {
    const now = this.now()
    const lane: Lane = { runtimeId, kind: rules.kind }
    const claimed: WorkRecord[] = []
    while (claimed.length < max) {
      const record = this.claimable(rules, lane, runtimeId, now)
      if (record === undefined) break
      this.lanes.dequeue(lane)
      rules.claim(record, now)
      this.touch(record)
      this.lanes.claim(lane, record.id)
      claimed.push({ ...record })
    }
    return claimed
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    const now = this.now()
    const change: RecordChange = { settled: false }
    const record = this.read(rules, runtimeId, id, now, change)
    if (record === undefined) return null
    const claimedAt = record.status === 'running' ? record.updatedAt : undefined
    if (rules.settle(record, outcome, now)) {
      change.settled = true
      if (claimedAt !== undefined) change.claimedAt = claimedAt
      this.touch(record)
      this.lanes.unclaim({ runtimeId, kind: rules.kind }, id)
      this.catalogs.apply(runtimeId, cache, record.result, now, this.creationOrder.get(record) as number)
      // The polls it wakes answer this copy: no read.
      this.signals.emitSettled(runtimeId, id, { ...record })
    }
    return { ...record, change }
  }

  async handBack (rules: WorkRules, runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    const now = this.now()
    const record = this.read(rules, runtimeId, id, now)
    if (record === undefined || !rules.isClaim(record, claimedAt)) return null
    rules.handBack(record, now)
    this.touch(record)
    const lane: Lane = { runtimeId, kind: rules.kind }
    this.lanes.unclaim(lane, id)
    this.lanes.queueOf(lane).unshift(record.id, record.deadline)
    return { ...record }
  }

  // Held polls and hints are heard in this process as they happen.
  async watchSettled (runtimeId: string, id: string, wake: (record?: WorkRecord) => void): Promise<() => void> {
    return this.signals.watchSettled(runtimeId, id, wake)
  }

  onQueued (listener: QueuedListener): () => void {
    return this.signals.onQueued(listener)
  }

  async listening (): Promise<void> {}

  async close (): Promise<void> {
    this.sweeper.close()
  }

  /** A record of the kind as of `now`: forgotten ones dropped, due timeouts applied (and told in `change`). */
  private read (rules: WorkRules, runtimeId: string, id: string, now: number, change?: RecordChange): WorkRecord | undefined {
    const record = this.byKind.get(rules.kind)?.records.get(id)
    if (record === undefined || record.runtimeId !== runtimeId) return undefined
    if (this.forgotten(record, rules, now)) {
      this.forget(record, now)
      return undefined
    }
    const phase = record.status
    if (rules.expire(record, now)) {
      this.touch(record)
      if (change !== undefined) change.timedOut = phase as 'pending' | 'running'
    }
    return record
  }

  /**
   * The lane's oldest claimable record (that `matches`). Entries past their
   * deadline leave in one step, unread (their records time out when next read);
   * the others leave once read and found no longer pending.
   */
  private claimable (rules: WorkRules, lane: Lane, runtimeId: string, now: number, matches?: (record: WorkRecord) => boolean): WorkRecord | undefined {
    const queue = this.lanes.queue(lane.runtimeId, lane.kind)
    if (queue === undefined) return undefined
    queue.dropExpired(now)
    for (let id = queue.peek(); id !== undefined; id = queue.peek()) {
      const record = this.read(rules, runtimeId, id, now)
      if (record !== undefined && record.status === 'pending') {
        return matches === undefined || matches(record) ? record : queue.find(other => this.pendingMatch(rules, runtimeId, other, now, matches))
      }
      queue.shift()
    }
    this.lanes.release(lane)
    return undefined
  }

  // A later entry of the queue that is still pending and matches (coalescing on params).
  private pendingMatch (rules: WorkRules, runtimeId: string, id: string, now: number, matches: (record: WorkRecord) => boolean): WorkRecord | undefined {
    // Not forgotten: expired entries left the queue, and retention outlasts the pending timeout.
    const record = this.read(rules, runtimeId, id, now) as WorkRecord
    return record.status === 'pending' && matches(record) ? record : undefined
  }

  /** Deletes a record and, with it, its lane's entries past their deadline: no queue outlives its records. */
  private forget (record: WorkRecord, now: number): void {
    this.byKind.get(record.kind)?.records.delete(record.id)
    this.creationOrder.delete(record)
    const lane: Lane = { runtimeId: record.runtimeId, kind: record.kind }
    this.lanes.unclaim(lane, record.id)
    this.lanes.queue(lane.runtimeId, lane.kind)?.dropExpired(now)
    this.lanes.release(lane)
  }

  // Re-inserting keeps each kind's records ordered by last change.
  private touch (record: WorkRecord): void {
    const records = this.byKind.get(record.kind)?.records as Map<string, WorkRecord>
    records.delete(record.id)
    records.set(record.id, record)
  }

  private forgotten (record: WorkRecord, rules: WorkRules, now: number): boolean {
    return now - record.updatedAt >= rules.retentionMs
  }

  /**
   * Forgets what is due, oldest change first in each kind (by that kind's
   * retention): costs what it forgets, not what is stored, and at most
   * `maxForgottenPerSweep` records. True when more are due.
   */
  private sweep (now: number): boolean {
    this.catalogs.sweep(now)
    let budget = maxForgottenPerSweep
    for (const { records, rules } of this.byKind.values()) {
      for (const record of records.values()) {
        if (!this.forgotten(record, rules, now)) break
        if (budget-- === 0) return true
        this.forget(record, now)
      }
    }
    return false
  }
}
