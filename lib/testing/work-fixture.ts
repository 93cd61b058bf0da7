import { randomUUID } from 'node:crypto'
import type { CatalogWindows } from '../catalog'
import type { OpenedWork, OpenRequest, Outcome, WorkRecord, WorkStore } from '../store/contract'
import { WorkRules } from '../rules'
import { Expect, Labels, type ContractTest } from './expect'

// What every test of the work store suite starts from: a hand-moved clock, the
// target's store on it, a fresh runtime, and labels for what it makes.

export interface WorkStoreTarget {
  /** Names the suite's tests. */
  name: string
  /**
   * A store whose clock is `now` (epoch ms), the suite moves time by it; with
   * the catalog cache's windows (`{ serveWindowMs, revalidateAfterMs }`) the
   * store must keep. Each call is a replica when `shared`.
   */
  make(now: () => number, options: { catalogCache: CatalogWindows }): WorkStore | Promise<WorkStore>
  /**
   * How the store forgets a record `retentionMs` after its last change: by its
   * clock, `now` (the default; memory), or by key expiry on its own server's
   * real clock (`'expiry'`, Redis: the suite then waits real, short durations).
   */
  forgets?: 'clock' | 'expiry'
  /** Two `make` calls see one store (replicas of one deployment): the replica tests run. */
  shared?: boolean
  /** `false`: the store keeps no cached result; the catalog tests are skipped. */
  cache?: boolean
}

// The suite's kinds: one with params, claimed in batches, and one beside it.
export const kindName = 'contract_import'
export const otherKindName = 'contract_other'
export const durations = { pendingTimeoutMs: 180_000, runningTimeoutMs: 60_000, retentionMs: 600_000 }
export const windows: CatalogWindows = { serveWindowMs: 3_600_000, revalidateAfterMs: 60_000 }
export const start = Date.UTC(2026, 0, 1)

export const completed = (result: unknown): Outcome => ({ status: 'completed', result: JSON.stringify(result) })
export const failed = (error: string): Outcome => ({ status: 'failed', error })
export const params = (value: unknown): string => JSON.stringify(value)

export class Clock {
  t = start
  readonly now = (): number => this.t
  advance (ms: number): void { this.t += ms }
}

/** One test's world. */
export class Bench {
  readonly clock = new Clock()
  readonly labels = new Labels(start)
  readonly e: Expect
  readonly rules = new WorkRules(durations, kindName)
  readonly other = new WorkRules(durations, otherKindName)
  readonly stores: WorkStore[] = []
  store!: WorkStore
  rt!: string

  constructor (t: ContractTest, private readonly target: WorkStoreTarget) {
    this.e = new Expect(t, this.labels)
  }

  /** A store (another replica when shared) on `now`, closed when the test ends. */
  async make (now: () => number = this.clock.now): Promise<WorkStore> {
    const store = await this.target.make(now, { catalogCache: { ...windows } })
    this.stores.push(store)
    return store
  }

  /** A runtime id nobody used. */
  runtime (): string {
    return this.labels.runtime(`rt-contract-${randomUUID()}`)
  }

  /** Opens a plain request (no coalescing, cache or exclusivity unless asked) and answers what `open` did. */
  async open (what: unknown, request: Partial<OpenRequest> = {}, rules: WorkRules = this.rules, store = this.store): Promise<OpenedWork> {
    const opened = await store.open(rules, this.rt, { coalesce: false, exclusive: false, useCache: false, params: what === undefined ? undefined : params(what), ...request })
    if ('record' in opened) this.labels.request(opened.record.id)
    if ('busy' in opened) this.labels.request(opened.busy)
    return opened
  }

  /** Opens a request that must be queued or joined, and answers its id. */
  async queue (what: unknown, request: Partial<OpenRequest> = {}, rules: WorkRules = this.rules, store = this.store): Promise<string> {
    const opened = await this.open(what, request, rules, store)
    if (!('record' in opened)) throw new Error(`open must answer a record here, answered ${this.labels.show(opened)}`)
    return opened.record.id
  }

  /** Claims, labelling what it answers. */
  async claim (max: number, rules: WorkRules = this.rules, store = this.store): Promise<WorkRecord[]> {
    const claimed = await store.claim(rules, this.rt, max)
    for (const record of claimed) this.labels.request(record.id)
    return claimed
  }

  /** The record as the rules build it: what a store must answer. */
  record (id: string, fields: Partial<WorkRecord>): WorkRecord {
    return { id, runtimeId: this.rt, kind: kindName, status: 'pending', createdAt: start, updatedAt: start, deadline: start + durations.pendingTimeoutMs, ...fields }
  }

  async close (): Promise<void> {
    for (const store of this.stores.splice(0)) await store.close()
  }
}

export type Check = (name: string, body: (b: Bench) => Promise<void>) => Promise<void>

/** A test of the suite: a fresh bench with one store and runtime, its stores closed after. */
export function checker (t: ContractTest, target: WorkStoreTarget): Check {
  return async (name, body) => {
    await t.test(name, async (t: ContractTest) => {
      const b = new Bench(t, target)
      try {
        b.store = await b.make()
        b.rt = b.runtime()
        await body(b)
      } finally {
        await b.close()
      }
    })
  }
}
