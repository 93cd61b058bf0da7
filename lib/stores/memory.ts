import { Lifecycle, type LifecycleOptions, type Outcome, type WorkRecord } from '../lifecycle'
import { WorkModelListStore, type WorkBackend } from '../store'
import { kHasPendingNow } from '../capabilities'
import { checkId, newId } from '../ids'
import { PendingQueue } from './pending-queue'

export type MemoryModelListStoreOptions = LifecycleOptions

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
  private readonly lifecycle: Lifecycle
  private readonly records = new Map<string, WorkRecord>()
  private readonly queues = new Map<string, PendingQueue>()
  private readonly sweeper: NodeJS.Timeout
  private sweepingOn: NodeJS.Immediate | undefined

  constructor (lifecycle: Lifecycle) {
    this.lifecycle = lifecycle
    this.sweeper = setInterval(() => this.sweepAll(), Math.min(lifecycle.retentionMs, maxSweepIntervalMs))
    this.sweeper.unref()
  }

  async create (runtimeId: string, coalesce: boolean): Promise<WorkRecord> {
    const now = this.lifecycle.now()
    this.sweep(now)
    if (coalesce) {
      const head = this.claimable(runtimeId, now)
      if (head !== undefined) return { ...head }
    }
    const record = this.lifecycle.open(newId(), runtimeId, now)
    this.records.set(record.id, record)
    let queue = this.queues.get(runtimeId)
    if (queue === undefined) this.queues.set(runtimeId, queue = new PendingQueue())
    queue.push(record.id, record.deadline)
    return { ...record }
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
    return { ...record }
  }

  async settle (runtimeId: string, id: string, outcome: Outcome): Promise<WorkRecord | null> {
    const now = this.lifecycle.now()
    const record = this.read(runtimeId, id, now)
    if (record === undefined) return null
    if (this.lifecycle.settle(record, outcome, now)) this.touch(record)
    return { ...record }
  }

  async handBack (runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    const now = this.lifecycle.now()
    const record = this.read(runtimeId, id, now)
    if (record === undefined || !this.lifecycle.isClaim(record, claimedAt)) return null
    this.lifecycle.handBack(record, now)
    this.touch(record)
    let queue = this.queues.get(runtimeId)
    if (queue === undefined) this.queues.set(runtimeId, queue = new PendingQueue())
    queue.unshift(record.id, record.deadline)
    return { ...record }
  }

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
    let budget = maxForgottenPerSweep
    for (const record of this.records.values()) {
      if (!this.forgotten(record, now)) return false
      if (budget-- === 0) return true
      this.forget(record, now)
    }
    return false
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
    super(new MemoryBackend(new Lifecycle(options)))
  }

  [kHasPendingNow] (runtimeId: string): boolean {
    checkId('runtimeId', runtimeId)
    return this.backend.hasPendingNow(runtimeId)
  }
}
