import type { FastifyBaseLogger } from 'fastify'
import type { ModelListRequest } from '../schemas'
import { modelListKind, type WorkRules } from '../rules'
import { Signals } from '../store/signals'
import type { CatalogAction, OpenedWork, OpenRequest, Outcome, QueuedListener, WorkRecord, WorkStore } from '../store/contract'
import { ModelListOnWorkStore, type ModelListStore } from './model-list-store'
import type { ModelListResult } from './model-list'

// The deadline of a request read through a replaced method is the store's own
// business: a held poll waits for its wake-up or for `wait_ms`.
const unknownDeadline = Number.POSITIVE_INFINITY

type Method = 'create' | 'get' | 'hasPending' | 'popPending' | 'complete' | 'fail' | 'handBack'

function toRecord (request: ModelListRequest, kind: string): WorkRecord {
  const record: WorkRecord = {
    id: request.id,
    runtimeId: request.runtime_id,
    kind,
    status: request.status,
    createdAt: Date.parse(request.created_at),
    updatedAt: Date.parse(request.updated_at),
    deadline: unknownDeadline
  }
  if (request.models !== undefined || request.supported === false) {
    record.result = JSON.stringify({ ...(request.models !== undefined && { models: request.models }), supported: request.supported })
  }
  if (request.error !== undefined) record.error = request.error
  return record
}

/**
 * The store the plugin runs: the model list through `app.modelListStore`'s
 * public methods, every other kind on its work store. A method that is the
 * built-in one runs the work store directly (which is what it would do, with
 * every feature: the catalog cache, deadlines, signals from every replica); a
 * method replaced (by a subclass, an own property, a wrapper), even after
 * start-up, is the one that runs. A store object that is not a built-in one
 * serves the model list alone, with held polls and hints in this process.
 */
export class ModelListObjectStore implements WorkStore {
  readonly handBack?: WorkStore['handBack']
  readonly probeNow?: WorkStore['probeNow']
  readonly mayHavePending: NonNullable<WorkStore['mayHavePending']>
  readonly now?: WorkStore['now']
  readonly useLog?: WorkStore['useLog']
  /** The work store behind a built-in store (and its subclasses); other kinds live there. */
  readonly work: WorkStore | undefined
  // What replaced methods settle and queue, heard in this process.
  private readonly local = new Signals()

  /** `closes`: the plugin built the store, so closing this closes it; a store object is the host's. */
  constructor (private readonly store: ModelListStore, private readonly closes = false) {
    const work = this.work = store instanceof ModelListOnWorkStore ? store.workStore : undefined
    if (typeof store.handBack === 'function') this.handBack = async (rules, runtimeId, id, claimedAt) => await this.handBackClaim(rules, runtimeId, id, claimedAt)
    const probeNow = work?.probeNow
    if (probeNow !== undefined) {
      this.probeNow = (runtimeId, kinds) => this.builtIn('hasPending') ? probeNow.call(work, runtimeId, kinds) : undefined
    }
    this.mayHavePending = async (runtimeId, kinds) => this.builtIn('hasPending') && work?.mayHavePending !== undefined
      ? await work.mayHavePending(runtimeId, kinds)
      : await this.probe(runtimeId, kinds)
    if (work?.now !== undefined) this.now = () => (work.now as () => number).call(work)
    if (work?.useLog !== undefined) this.useLog = (log: FastifyBaseLogger) => (work.useLog as (log: FastifyBaseLogger) => void).call(work, log)
  }

  /** What this store does without, each with what that means: for the one start-up line. */
  missing (cacheAsked: boolean): string[] {
    const { work } = this
    const missing: string[] = []
    if (this.handBack === undefined || (this.builtIn('handBack') && work?.handBack === undefined)) {
      missing.push('handBack (a claim its heartbeat gave up on ends as timeout)')
    }
    if (work?.watchSettled === undefined) missing.push('watchSettled (held polls wake only for reports this process receives)')
    if (work?.onQueued === undefined) missing.push('onQueued (wake-up hints only for work this process queues)')
    if (cacheAsked && !this.builtIn('create')) missing.push('the catalog cache (create is the store object\'s own)')
    return missing
  }

  /** Whether the store's `name` is the built-in method over its own work store. */
  builtIn (name: Method): boolean {
    return this.work !== undefined && this.store[name] === ModelListOnWorkStore.prototype[name]
  }

  private workOr (kind: string, name: Method): WorkStore | undefined {
    return kind !== modelListKind || this.builtIn(name) ? this.work : undefined
  }

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    const work = this.workOr(rules.kind, 'create')
    if (work !== undefined) return await work.open(rules, runtimeId, request)
    // A replaced create cannot say whether it joined: every create counts as
    // queued (a spare hint costs one early heartbeat), and it has no cache.
    const record = toRecord(await this.store.create(runtimeId, { coalesce: request.coalesce }), rules.kind)
    this.local.emitQueued(runtimeId, rules.kind)
    return { record, queued: true }
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    const work = this.workOr(rules.kind, 'get')
    if (work !== undefined) return await work.get(rules, runtimeId, id)
    const found = await this.store.get(runtimeId, id)
    return found === null ? null : toRecord(found, rules.kind)
  }

  async probe (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    const { work } = this
    if (work !== undefined && this.builtIn('hasPending')) return await work.probe(runtimeId, kinds)
    // The model list through its own hasPending; the other kinds (if any) in one more call.
    const others = kinds.filter(kind => kind !== modelListKind)
    const [pending, otherPending] = await Promise.all([
      this.store.hasPending(runtimeId),
      others.length > 0 ? (work as WorkStore).probe(runtimeId, others) : []
    ])
    let next = 0
    return kinds.map(kind => kind === modelListKind ? pending : otherPending[next++])
  }

  async claim (rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]> {
    const work = this.workOr(rules.kind, 'popPending')
    if (work !== undefined) return await work.claim(rules, runtimeId, max)
    const claimed = await this.store.popPending(runtimeId)
    return claimed === null ? [] : [toRecord(claimed, rules.kind)]
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    const work = this.workOr(rules.kind, outcome.status === 'completed' ? 'complete' : 'fail')
    if (work !== undefined) return await work.settle(rules, runtimeId, id, outcome, cache)
    // The store decides what a report does to its catalog, if it keeps one.
    const stored = outcome.status === 'completed'
      ? await this.store.complete(runtimeId, id, JSON.parse(outcome.result) as ModelListResult)
      : await this.store.fail(runtimeId, id, outcome.error)
    if (stored === null) return null
    // A late report wakes the polls too: they read again and find what they had.
    this.local.emitSettled(runtimeId, id)
    return toRecord(stored, rules.kind)
  }

  private async handBackClaim (rules: WorkRules, runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    const work = this.workOr(rules.kind, 'handBack')
    if (work?.handBack !== undefined) return await work.handBack(rules, runtimeId, id, claimedAt)
    if (rules.kind !== modelListKind) return null
    const at = new Date(claimedAt).toISOString()
    const claim: ModelListRequest = { id, runtime_id: runtimeId, status: 'running', supported: true, created_at: at, updated_at: at }
    return await (this.store.handBack as NonNullable<ModelListStore['handBack']>)(runtimeId, claim)
      ? { id, runtimeId, kind: rules.kind, status: 'pending', createdAt: claimedAt, updatedAt: claimedAt, deadline: unknownDeadline }
      : null
  }

  async watchSettled (runtimeId: string, id: string, wake: (record?: WorkRecord) => void): Promise<() => void> {
    const stopLocal = this.local.watchSettled(runtimeId, id, wake)
    const watch = this.work?.watchSettled
    if (watch === undefined) return stopLocal
    // A record the work store's signal carries is what its get answers: with
    // the model list's get replaced, the polls read through the replacement.
    const wakeWork = (record?: WorkRecord): void => {
      wake(record !== undefined && this.workOr(record.kind, 'get') !== undefined ? record : undefined)
    }
    try {
      const stop = await watch.call(this.work, runtimeId, id, wakeWork)
      return () => { stopLocal(); stop() }
    } catch (error) {
      stopLocal()
      throw error
    }
  }

  onQueued (listener: QueuedListener): () => void {
    const stopLocal = this.local.onQueued(listener)
    const stop = this.work?.onQueued?.call(this.work, listener)
    return () => { stopLocal(); stop?.() }
  }

  async listening (): Promise<void> {
    await this.work?.listening?.call(this.work)
  }

  // Through its public close(): a subclass's override runs there too.
  async close (): Promise<void> {
    if (this.closes) await this.store.close()
  }
}
