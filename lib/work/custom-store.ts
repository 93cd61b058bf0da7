import { Lifecycle, type LifecycleOptions } from '../lifecycle'
import { Signals } from '../signals'
import type { CatalogAction } from '../catalog'
import { WorkModelListStore, type OpenedWork, type OpenRequest, type WorkBackend, type WorkRules, type WorkStore } from '../store'
import type { Outcome, WorkRecord } from '../lifecycle'

export const workStoreMethods = ['open', 'get', 'probe', 'claim', 'settle', 'close'] as const

/** Whether a store object is a work store (serves every kind) rather than a ModelListStore. */
export function isWorkStore (store: object): store is WorkStore {
  return workStoreMethods.every(method => typeof (store as Record<string, unknown>)[method] === 'function')
}

/**
 * A custom work store as the plugin uses a built-in one: the plugin's rules
 * for the model list, and signals heard in this process (held polls and hints
 * for what this replica queues and settles; the store has no channel to others).
 */
class CustomWorkBackend implements WorkBackend {
  readonly signals = new Signals()

  constructor (private readonly store: WorkStore, readonly lifecycle: Lifecycle) {}

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    const opened = await this.store.open(rules, runtimeId, request)
    if ('queued' in opened && opened.queued) this.signals.emitQueued(runtimeId, rules.kind)
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
    if (record !== null) this.signals.emitSettled(runtimeId, id)
    return record
  }

  async handBack (rules: WorkRules, runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    return await this.store.handBack?.(rules, runtimeId, id, claimedAt) ?? null
  }

  async listen (): Promise<void> {}

  // The store object is the host's: the plugin never closes it.
  async close (): Promise<void> {}
}

/** The model list's face of a custom work store, under the plugin's rules. */
export class CustomWorkModelListStore extends WorkModelListStore {
  constructor (store: WorkStore, lifecycle: LifecycleOptions) {
    super(new CustomWorkBackend(store, new Lifecycle(lifecycle)))
  }

  /** The work store the other kinds share. */
  get workBackend (): WorkBackend {
    return this.backend
  }
}
