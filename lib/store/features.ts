import type { FastifyBaseLogger } from 'fastify'
import type { WorkRules } from '../rules'
import { storeChannel, tracingStore, type StoreCallContext } from '../diagnostics'
import type { CatalogAction, OpenedWork, OpenRequest, Outcome, QueuedListener, WorkRecord, WorkStore } from './contract'

type Probe = (runtimeId: string, kinds: readonly string[]) => Promise<boolean[]>

function method<T> (store: WorkStore, name: keyof WorkStore): T | undefined {
  const found = store[name]
  return typeof found === 'function' ? (found as (...args: unknown[]) => unknown).bind(store) as T : undefined
}

/** A store call on the tracing channel; called only when someone listens. */
async function traced<T> (context: StoreCallContext, call: () => Promise<T>): Promise<T> {
  return await storeChannel.tracePromise(call, context)
}

export interface EngineOptions {
  /**
   * Publish on the diagnostics channels (store calls here; lifecycle events
   * by the faces over it). Off for an engine inside a store the plugin's own
   * engine already drives, so nothing is told twice.
   */
  observed?: boolean
}

/**
 * A work store as the plugin drives it: its optional features are found here,
 * once, when the plugin starts, and nowhere else; what it lacks is done without.
 * Every store call passes here, so here it is traced.
 */
export class Engine {
  readonly store: WorkStore
  readonly observed: boolean
  /** Answers at once when it can (a store in this process): the heartbeat arms no timer. */
  readonly probeNow: ((runtimeId: string, kinds: readonly string[]) => boolean[] | undefined) | undefined
  /** The heartbeat's probe: the cheapest the store has (a spurious true only costs a claim). */
  readonly mayHavePending: Probe
  readonly handBack: ((rules: WorkRules, runtimeId: string, id: string, claimedAt: number) => Promise<WorkRecord | null>) | undefined
  /** The store's clock: deadlines are on it. */
  readonly now: () => number
  /** Wake-ups for held polls; without them, a poll waits for its deadline or `wait_ms`. */
  readonly watchSettled: NonNullable<WorkStore['watchSettled']>
  readonly onQueued: (listener: QueuedListener) => () => void
  readonly listening: () => Promise<void>
  readonly useLog: (log: FastifyBaseLogger) => void
  private readonly tracing: () => boolean

  constructor (store: WorkStore, { observed = true }: EngineOptions = {}) {
    this.store = store
    this.observed = observed
    const trace = observed ? tracingStore : () => false
    const probeNow = method<NonNullable<Engine['probeNow']>>(store, 'probeNow')
    this.probeNow = probeNow === undefined
      ? undefined
      : (runtimeId, kinds) => trace()
          ? storeChannel.traceSync(probeNow, { operation: 'probeNow', kind: kinds.join(','), runtimeId }, undefined, runtimeId, kinds)
          : probeNow(runtimeId, kinds)
    const mayHavePending = method<Probe>(store, 'mayHavePending')
    const probe: Probe = mayHavePending ?? (async (runtimeId, kinds) => await store.probe(runtimeId, kinds))
    const probeName = mayHavePending === undefined ? 'probe' : 'mayHavePending'
    this.mayHavePending = async (runtimeId, kinds) => trace()
      ? await traced({ operation: probeName, kind: kinds.join(','), runtimeId }, async () => await probe(runtimeId, kinds))
      : await probe(runtimeId, kinds)
    const handBack = method<NonNullable<Engine['handBack']>>(store, 'handBack')
    this.handBack = handBack === undefined
      ? undefined
      : async (rules, runtimeId, id, claimedAt) => trace()
        ? await traced({ operation: 'handBack', kind: rules.kind, runtimeId, requestId: id }, async () => await handBack(rules, runtimeId, id, claimedAt))
        : await handBack(rules, runtimeId, id, claimedAt)
    this.now = method(store, 'now') ?? Date.now
    this.watchSettled = method(store, 'watchSettled') ?? (async () => () => {})
    this.onQueued = method(store, 'onQueued') ?? (() => () => {})
    this.listening = method(store, 'listening') ?? (async () => {})
    this.useLog = method(store, 'useLog') ?? (() => {})
    this.tracing = trace
  }

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    if (!this.tracing()) return await this.store.open(rules, runtimeId, request)
    return await traced({ operation: 'open', kind: rules.kind, runtimeId }, async () => await this.store.open(rules, runtimeId, request))
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    if (!this.tracing()) return await this.store.get(rules, runtimeId, id)
    return await traced({ operation: 'get', kind: rules.kind, runtimeId, requestId: id }, async () => await this.store.get(rules, runtimeId, id))
  }

  async claim (rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]> {
    if (!this.tracing()) return await this.store.claim(rules, runtimeId, max)
    return await traced({ operation: 'claim', kind: rules.kind, runtimeId }, async () => await this.store.claim(rules, runtimeId, max))
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    if (!this.tracing()) return await this.store.settle(rules, runtimeId, id, outcome, cache)
    return await traced({ operation: 'settle', kind: rules.kind, runtimeId, requestId: id }, async () => await this.store.settle(rules, runtimeId, id, outcome, cache))
  }
}
