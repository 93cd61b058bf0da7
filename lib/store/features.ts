import type { FastifyBaseLogger } from 'fastify'
import type { WorkRules } from '../rules'
import type { CatalogAction, OpenedWork, OpenRequest, Outcome, QueuedListener, WorkRecord, WorkStore } from './contract'

type Probe = (runtimeId: string, kinds: readonly string[]) => Promise<boolean[]>

function method<T> (store: WorkStore, name: keyof WorkStore): T | undefined {
  const found = store[name]
  return typeof found === 'function' ? (found as (...args: unknown[]) => unknown).bind(store) as T : undefined
}

/**
 * A work store as the plugin drives it: its optional features are found here,
 * once, when the plugin starts, and nowhere else; what it lacks is done without.
 */
export class Engine {
  readonly store: WorkStore
  /** Answers at once when it can (a store in this process): the heartbeat arms no timer. */
  readonly probeNow: ((runtimeId: string, kinds: readonly string[]) => boolean[] | undefined) | undefined
  /** The heartbeat's probe: the cheapest the store has (a spurious true only costs a claim). */
  readonly mayHavePending: Probe
  readonly handBack: ((rules: WorkRules, runtimeId: string, id: string, claimedAt: number) => Promise<WorkRecord | null>) | undefined
  /** The store's clock: deadlines are on it. */
  readonly now: () => number
  /** Wake-ups for held polls; without them, a poll waits for its deadline or `wait_ms`. */
  readonly watchSettled: (runtimeId: string, id: string, wake: () => void) => Promise<() => void>
  readonly onQueued: (listener: QueuedListener) => () => void
  readonly listening: () => Promise<void>
  readonly useLog: (log: FastifyBaseLogger) => void

  constructor (store: WorkStore) {
    this.store = store
    this.probeNow = method(store, 'probeNow')
    const probe: Probe = async (runtimeId, kinds) => await store.probe(runtimeId, kinds)
    this.mayHavePending = method(store, 'mayHavePending') ?? probe
    this.handBack = method(store, 'handBack')
    this.now = method(store, 'now') ?? Date.now
    this.watchSettled = method(store, 'watchSettled') ?? (async () => () => {})
    this.onQueued = method(store, 'onQueued') ?? (() => () => {})
    this.listening = method(store, 'listening') ?? (async () => {})
    this.useLog = method(store, 'useLog') ?? (() => {})
  }

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    return await this.store.open(rules, runtimeId, request)
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    return await this.store.get(rules, runtimeId, id)
  }

  async claim (rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]> {
    return await this.store.claim(rules, runtimeId, max)
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    return await this.store.settle(rules, runtimeId, id, outcome, cache)
  }
}
