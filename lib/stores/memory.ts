import { Lifecycle, type LifecycleOptions, type Outcome, type WorkRecord } from '../lifecycle'
import { kHasPendingNow, WorkModelListStore, type WorkBackend } from '../store'
import { checkId, newId } from '../ids'

export type MemoryModelListStoreOptions = LifecycleOptions

// Memory is handed back on this beat even when no request arrives.
const maxSweepIntervalMs = 10_000

/**
 * One process's store. Records sit in a map kept in order of last change, so
 * forgetting walks only what is due; each runtime has its own queue of pending
 * ids, so a heartbeat never looks at other runtimes' requests.
 */
class MemoryBackend implements WorkBackend {
  private readonly lifecycle: Lifecycle
  private readonly records = new Map<string, WorkRecord>()
  private readonly queues = new Map<string, string[]>()
  private readonly sweeper: NodeJS.Timeout

  constructor (lifecycle: Lifecycle) {
    this.lifecycle = lifecycle
    this.sweeper = setInterval(() => this.sweep(lifecycle.now()), Math.min(lifecycle.retentionMs, maxSweepIntervalMs))
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
    const queue = this.queues.get(runtimeId)
    if (queue === undefined) this.queues.set(runtimeId, [record.id])
    else queue.push(record.id)
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
    this.dequeue(runtimeId)
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

  async close (): Promise<void> {
    clearInterval(this.sweeper)
  }

  /** A record as of `now`: forgotten ones dropped, due timeouts applied. */
  private read (runtimeId: string, id: string, now: number): WorkRecord | undefined {
    const record = this.records.get(id)
    if (record === undefined || record.runtimeId !== runtimeId) return undefined
    if (this.forgotten(record, now)) {
      this.records.delete(id)
      return undefined
    }
    if (this.lifecycle.expire(record, now)) this.touch(record)
    return record
  }

  /** The runtime's oldest claimable record, dropping from its queue the heads that are not. */
  private claimable (runtimeId: string, now: number): WorkRecord | undefined {
    const queue = this.queues.get(runtimeId)
    while (queue !== undefined && queue.length > 0) {
      const record = this.read(runtimeId, queue[0], now)
      if (record !== undefined && record.status === 'pending') return record
      this.dequeue(runtimeId)
    }
    return undefined
  }

  private dequeue (runtimeId: string): void {
    const queue = this.queues.get(runtimeId) as string[]
    queue.shift()
    if (queue.length === 0) this.queues.delete(runtimeId)
  }

  // Re-inserting keeps `records` ordered by last change.
  private touch (record: WorkRecord): void {
    this.records.delete(record.id)
    this.records.set(record.id, record)
  }

  private forgotten (record: WorkRecord, now: number): boolean {
    return now - record.updatedAt >= this.lifecycle.retentionMs
  }

  /** Forgets what is due, oldest change first: costs what it forgets, not what is stored. */
  private sweep (now: number): void {
    for (const record of this.records.values()) {
      if (!this.forgotten(record, now)) return
      this.records.delete(record.id)
      // A forgotten id may head its runtime's queue: trimming leaves no empty queue behind.
      this.claimable(record.runtimeId, now)
    }
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
