import type { FastifyBaseLogger } from 'fastify'
import type { WorkRules } from '../rules'
import { Signals } from './signals'
import type { CatalogAction, OpenedWork, OpenRequest, Outcome, QueuedListener, WorkRecord, WorkStore } from './contract'

type Probe = (runtimeId: string, kinds: readonly string[]) => Promise<boolean[]>

// What each optional feature gives, for the one start-up line that names what a store lacks.
const withoutFeature = {
  handBack: 'handBack (a claim its heartbeat gave up on ends as timeout)',
  watchSettled: 'watchSettled (held polls wake only for reports this process receives)',
  onQueued: 'onQueued (wake-up hints only for work this process queues)'
} as const

function method<T> (store: WorkStore, name: keyof WorkStore): T | undefined {
  const found = store[name]
  return typeof found === 'function' ? (found as (...args: unknown[]) => unknown).bind(store) as T : undefined
}

/**
 * A work store as the plugin drives it: its optional features are found here,
 * once, when the plugin starts, and nowhere else. What a store lacks is done in
 * this process (held polls and hints for what this replica settles and queues)
 * or done without (hand-back).
 */
export class Engine {
  readonly store: WorkStore
  /** The optional features the store lacks, each with what doing without means. */
  readonly missing: string[] = []
  /** Answers at once (a store in this process): the heartbeat arms no timer. */
  readonly probeNow: ((runtimeId: string, kinds: readonly string[]) => boolean[]) | undefined
  /** The heartbeat's probe: the cheapest the store has (a spurious true only costs a claim). */
  readonly mayHavePending: Probe
  readonly handBack: ((rules: WorkRules, runtimeId: string, id: string, claimedAt: number) => Promise<WorkRecord | null>) | undefined
  /** The store's clock: deadlines are on it. */
  readonly now: () => number
  readonly watchSettled: (runtimeId: string, id: string, wake: () => void) => Promise<() => void>
  readonly onQueued: (listener: QueuedListener) => () => void
  readonly listening: () => Promise<void>
  readonly useLog: (log: FastifyBaseLogger) => void
  // Signals of this process, for a store that carries none of its own.
  private readonly local = new Signals()
  private readonly localSettled: boolean
  private readonly localQueued: boolean

  constructor (store: WorkStore) {
    this.store = store
    this.probeNow = method(store, 'probeNow')
    const probe: Probe = async (runtimeId, kinds) => await store.probe(runtimeId, kinds)
    this.mayHavePending = method(store, 'mayHavePending') ?? probe
    this.handBack = method(store, 'handBack')
    this.now = method(store, 'now') ?? Date.now
    const watchSettled = method<Engine['watchSettled']>(store, 'watchSettled')
    const onQueued = method<Engine['onQueued']>(store, 'onQueued')
    this.localSettled = watchSettled === undefined
    this.localQueued = onQueued === undefined
    this.watchSettled = watchSettled ?? (async (runtimeId, id, wake) => this.local.watchSettled(runtimeId, id, wake))
    this.onQueued = onQueued ?? (listener => this.local.onQueued(listener))
    this.listening = method(store, 'listening') ?? (async () => {})
    this.useLog = method(store, 'useLog') ?? (() => {})
    if (this.handBack === undefined) this.missing.push(withoutFeature.handBack)
    if (this.localSettled) this.missing.push(withoutFeature.watchSettled)
    if (this.localQueued) this.missing.push(withoutFeature.onQueued)
  }

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    const opened = await this.store.open(rules, runtimeId, request)
    if (this.localQueued && 'queued' in opened && opened.queued) this.local.emitQueued(runtimeId, rules.kind)
    return opened
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    return await this.store.get(rules, runtimeId, id)
  }

  async probe (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    return await this.store.probe(runtimeId, kinds)
  }

  async claim (rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]> {
    return await this.store.claim(rules, runtimeId, max)
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    const record = await this.store.settle(rules, runtimeId, id, outcome, cache)
    // A late report wakes the polls too: they read again and find what they had.
    if (this.localSettled && record !== null) this.local.emitSettled(runtimeId, id)
    return record
  }
}
