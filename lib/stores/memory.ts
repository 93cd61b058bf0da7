import { Lifecycle, type LifecycleOptions, type Outcome, type WorkRecord } from '../lifecycle'
import { WorkModelListStore, type CachedResult, type OpenedWork, type WorkBackend } from '../store'
import { kHasPendingNow } from '../capabilities'
import { resolveCatalogCache, type CatalogAction, type CatalogCacheOptions, type CatalogWindows } from '../catalog'
import { Signals } from '../signals'
import { checkId, newId } from '../ids'
import { PendingQueue } from './pending-queue'

export interface MemoryModelListStoreOptions extends LifecycleOptions {
  /** The catalog cache's windows, or false for none. */
  catalogCache?: CatalogCacheOptions | false
}

// Memory is handed back on this beat even when no request arrives.
const maxSweepIntervalMs = 10_000
// A sweep forgets at most this many records before it lets the event loop
// run (a timer sweep goes on at the next turn): well under a millisecond.
const maxForgottenPerSweep = 1_000

/**
 * One process's store. Records sit in a map kept in order of last change, so
 * forgetting walks only what is due; each runtime has its own queue of pending
 * ids, so a heartbeat never looks at other runtimes' requests.
 */
class MemoryBackend implements WorkBackend {
  readonly lifecycle: Lifecycle
  readonly signals = new Signals()
  private readonly records = new Map<string, WorkRecord>()
  private readonly queues = new Map<string, PendingQueue>()
  // Claimed ids per runtime: a stale catalog queues no refresh while one runs.
  private readonly running = new Map<string, Set<string>>()
  // Kept in order of storing, so forgetting visits only what is due.
  private readonly catalogs = new Map<string, CachedResult>()
  private readonly catalogWindows: CatalogWindows | null
  private readonly sweeper: NodeJS.Timeout
  private sweepingOn: NodeJS.Immediate | undefined

  constructor (lifecycle: Lifecycle, catalogWindows: CatalogWindows | null) {
    this.lifecycle = lifecycle
    this.catalogWindows = catalogWindows
    this.sweeper = setInterval(() => this.sweepAll(), Math.min(lifecycle.retentionMs, maxSweepIntervalMs))
    this.sweeper.unref()
  }

  async open (runtimeId: string, coalesce: boolean, useCache: boolean): Promise<OpenedWork> {
    const now = this.lifecycle.now()
    this.sweep(now)
    const cached = useCache ? this.catalogs.get(runtimeId) : undefined
    if (cached !== undefined) {
      // A catalog is kept only while it may be served (the sweep forgets it after).
      const refresh = now - cached.storedAt > (this.catalogWindows as CatalogWindows).revalidateAfterMs && !this.hasLive(runtimeId, now)
      if (refresh) this.enqueue(runtimeId, now)
      return { cached: { ...cached }, queued: refresh }
    }
    if (coalesce) {
      const head = this.claimable(runtimeId, now)
      if (head !== undefined) return { record: { ...head }, queued: false }
    }
    return { record: { ...this.enqueue(runtimeId, now) }, queued: true }
  }

  private enqueue (runtimeId: string, now: number): WorkRecord {
    const record = this.lifecycle.open(newId(), runtimeId, now)
    this.records.set(record.id, record)
    let queue = this.queues.get(runtimeId)
    if (queue === undefined) this.queues.set(runtimeId, queue = new PendingQueue())
    queue.push(record.id, record.deadline)
    this.signals.emitQueued(runtimeId)
    return record
  }

  /** A pending or running request the daemon has yet to answer. */
  private hasLive (runtimeId: string, now: number): boolean {
    if (this.claimable(runtimeId, now) !== undefined) return true
    for (const id of this.running.get(runtimeId) ?? []) {
      if (this.read(runtimeId, id, now)?.status === 'running') return true
      this.unclaim(runtimeId, id)
    }
    return false
  }

  private unclaim (runtimeId: string, id: string): void {
    const running = this.running.get(runtimeId)
    if (running === undefined) return
    running.delete(id)
    if (running.size === 0) this.running.delete(runtimeId)
  }

  async get (runtimeId: string, id: string): Promise<WorkRecord | null> {
    const record = this.read(runtimeId, id, this.lifecycle.now())
    return record === undefined ? null : { ...record }
  }

  async hasPending (runtimeId: string): Promise<boolean> {
    return this.hasPendingNow(runtimeId)
  }

  hasPendingNow (runtimeId: string): boolean {
    // Most heartbeats end here: no queue, no clock read, no allocation.
    if (!this.queues.has(runtimeId)) return false
    return this.claimable(runtimeId, this.lifecycle.now()) !== undefined
  }

  async popPending (runtimeId: string): Promise<WorkRecord | null> {
    const now = this.lifecycle.now()
    const record = this.claimable(runtimeId, now)
    if (record === undefined) return null
    this.dequeue(runtimeId, this.queues.get(runtimeId) as PendingQueue)
    this.lifecycle.claim(record, now)
    this.touch(record)
    const running = this.running.get(runtimeId)
    if (running === undefined) this.running.set(runtimeId, new Set([record.id]))
    else running.add(record.id)
    return { ...record }
  }

  async settle (runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    const now = this.lifecycle.now()
    const record = this.read(runtimeId, id, now)
    if (record === undefined) return null
    if (this.lifecycle.settle(record, outcome, now)) {
      this.touch(record)
      this.unclaim(runtimeId, id)
      this.applyCatalog(runtimeId, cache, record.result, now)
      this.signals.emitSettled(runtimeId, id)
    }
    return { ...record }
  }

  async handBack (runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    const now = this.lifecycle.now()
    const record = this.read(runtimeId, id, now)
    if (record === undefined || !this.lifecycle.isClaim(record, claimedAt)) return null
    this.lifecycle.handBack(record, now)
    this.touch(record)
    this.unclaim(runtimeId, id)
    let queue = this.queues.get(runtimeId)
    if (queue === undefined) this.queues.set(runtimeId, queue = new PendingQueue())
    queue.unshift(record.id, record.deadline)
    return { ...record }
  }

  private applyCatalog (runtimeId: string, cache: CatalogAction, result: string | undefined, now: number): void {
    if (this.catalogWindows === null || cache === 'keep') return
    this.catalogs.delete(runtimeId)
    if (cache === 'store') this.catalogs.set(runtimeId, { result: result as string, storedAt: now })
  }

  // Held polls and hints are heard in this process as they happen.
  async listen (): Promise<void> {}

  async close (): Promise<void> {
    clearInterval(this.sweeper)
    clearImmediate(this.sweepingOn)
  }

  /** A record as of `now`: forgotten ones dropped, due timeouts applied. */
  private read (runtimeId: string, id: string, now: number): WorkRecord | undefined {
    const record = this.records.get(id)
    if (record === undefined || record.runtimeId !== runtimeId) return undefined
    if (this.forgotten(record, now)) {
      this.forget(record, now)
      return undefined
    }
    if (this.lifecycle.expire(record, now)) this.touch(record)
    return record
  }

  /**
   * The runtime's oldest claimable record. Entries past their deadline leave
   * in one step, unread (their records time out when next read); the others
   * leave once read and found no longer pending.
   */
  private claimable (runtimeId: string, now: number): WorkRecord | undefined {
    const queue = this.queues.get(runtimeId)
    if (queue === undefined) return undefined
    queue.dropExpired(now)
    for (let id = queue.peek(); id !== undefined; id = queue.peek()) {
      const record = this.read(runtimeId, id, now)
      if (record !== undefined && record.status === 'pending') return record
      queue.shift()
    }
    this.queues.delete(runtimeId)
    return undefined
  }

  private dequeue (runtimeId: string, queue: PendingQueue): void {
    queue.shift()
    if (queue.size === 0) this.queues.delete(runtimeId)
  }

  /** Deletes a record and, with it, its runtime's entries past their deadline: no queue outlives its records. */
  private forget (record: WorkRecord, now: number): void {
    this.records.delete(record.id)
    this.unclaim(record.runtimeId, record.id)
    const queue = this.queues.get(record.runtimeId)
    if (queue === undefined) return
    queue.dropExpired(now)
    if (queue.size === 0) this.queues.delete(record.runtimeId)
  }

  // Re-inserting keeps `records` ordered by last change.
  private touch (record: WorkRecord): void {
    this.records.delete(record.id)
    this.records.set(record.id, record)
  }

  private forgotten (record: WorkRecord, now: number): boolean {
    return now - record.updatedAt >= this.lifecycle.retentionMs
  }

  /**
   * Forgets what is due, oldest change first: costs what it forgets, not what
   * is stored, and at most `maxForgottenPerSweep` records. True when more are due.
   */
  private sweep (now: number): boolean {
    this.sweepCatalogs(now)
    let budget = maxForgottenPerSweep
    for (const record of this.records.values()) {
      if (!this.forgotten(record, now)) return false
      if (budget-- === 0) return true
      this.forget(record, now)
    }
    return false
  }

  // Catalogs are few (one per runtime) and leave in the order they were stored.
  private sweepCatalogs (now: number): void {
    if (this.catalogWindows === null) return
    for (const [runtimeId, cached] of this.catalogs) {
      if (now - cached.storedAt < this.catalogWindows.serveWindowMs) return
      this.catalogs.delete(runtimeId)
    }
  }

  /** The timer's sweep: goes on, a bounded slice per turn of the event loop, until nothing is due. */
  private sweepAll (): void {
    // The interval may fire while a sweep goes on: one sweep at a time.
    clearImmediate(this.sweepingOn)
    this.sweepingOn = undefined
    if (this.sweep(this.lifecycle.now())) this.sweepingOn = setImmediate(() => this.sweepAll()).unref()
  }
}

export class MemoryModelListStore extends WorkModelListStore {
  declare protected readonly backend: MemoryBackend

  constructor (options: MemoryModelListStoreOptions = {}) {
    super(new MemoryBackend(new Lifecycle(options), resolveCatalogCache(options.catalogCache)))
  }

  [kHasPendingNow] (runtimeId: string): boolean {
    checkId('runtimeId', runtimeId)
    return this.backend.hasPendingNow(runtimeId)
  }
}
