import type { ModelEntry, ModelListRequest } from './schemas'
import type { Lifecycle, Outcome, WorkRecord } from './lifecycle'
import type { CatalogAction } from './catalog'
import type { Signals } from './signals'
import { kHandBack, kListening, kMsUntilDeadline, kOnPendingWork, kOpen, kWatchSettled, type Opened, type OpenOptions } from './capabilities'
import { checkId, newId } from './ids'

export interface ModelListResult {
  models: ModelEntry[]
  supported: boolean
  fallback?: boolean
}

/** What the plugin needs of a store; the built-in ones add optional capabilities (lib/capabilities.ts). */
export interface ModelListStore {
  create(runtimeId: string, options?: { coalesce?: boolean }): Promise<ModelListRequest>
  get(runtimeId: string, requestId: string): Promise<ModelListRequest | null>
  hasPending(runtimeId: string): Promise<boolean>
  popPending(runtimeId: string): Promise<ModelListRequest | null>
  complete(runtimeId: string, requestId: string, result: ModelListResult): Promise<ModelListRequest | null>
  fail(runtimeId: string, requestId: string, error: string): Promise<ModelListRequest | null>
  close(): Promise<void>
}

/** The runtime's cached result and when it was stored. */
export interface CachedResult {
  result: string
  storedAt: number
}

/** The rules of one kind a store applies: its name, numbers and words, and the transitions (lib/lifecycle.ts). */
export type WorkRules = Omit<Lifecycle, 'now'>

/** What a POST asks of the store, decided in one atomic step. */
export interface OpenRequest {
  /** The request's params as JSON; absent for a kind without params. */
  params?: string
  /** Join the oldest claimable pending request with equal params instead of queueing another. */
  coalesce: boolean
  /** Refuse while a request of this kind is pending or running for the runtime. */
  exclusive: boolean
  /** May answer from the runtime's cached result (the model list's catalog). */
  useCache: boolean
}

/**
 * What `open` did: a record made or joined, the cache answered, or (exclusive)
 * the id of the request in flight; `queued` when work was queued.
 */
export type OpenedWork =
  | { record: WorkRecord, queued: boolean }
  | { cached: CachedResult, queued: boolean }
  | { busy: string }

/**
 * The store every kind of work shares: records, queues, claims and settles,
 * kept per runtime and kind. It has no wire shapes, dates or timeout rules of
 * its own: each call brings the kind's rules (lib/lifecycle.ts), and times are
 * epoch milliseconds of the store's clock. A custom store implements this.
 */
export interface WorkStore {
  /** Queues a request (or joins one, or refuses, or answers from the cache) in one atomic step. */
  open(rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork>
  /** The record as of now (a due timeout applied and stored), or null: unknown, forgotten, another runtime's or kind's. */
  get(rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null>
  /** For each kind, whether the runtime has a claimable request: one round trip whatever the number of kinds. */
  probe(runtimeId: string, kinds: readonly string[]): Promise<boolean[]>
  /** Moves up to `max` of the oldest claimable requests to running and answers them; each to exactly one caller. */
  claim(rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]>
  /** Applies a report to a live record; an accepted one applies `cache` to the runtime's cached result in the same step. */
  settle(rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null>
  /**
   * Optional: back to pending (in its old place) if still the claim made at
   * `claimedAt` (running, unchanged since); the record, or null. Without it, a
   * claim its heartbeat gave up on ends as `timeout`.
   */
  handBack?(rules: WorkRules, runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null>
  close(): Promise<void>
}

/** What the built-in stores add: their own rules and clock, and signals heard from every replica. */
export interface WorkBackend extends WorkStore {
  /** The model list's rules, and the store's clock. */
  readonly lifecycle: Lifecycle
  /** What this process hears: settled requests and queued work, from every replica. */
  readonly signals: Signals
  /** Resolves once signals from other replicas reach `signals`. */
  listen(): Promise<void>
  handBack(rules: WorkRules, runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null>
}

interface StoredResult { models: ModelEntry[], supported: boolean }

function toRequest (record: WorkRecord): ModelListRequest {
  const request: ModelListRequest = {
    id: record.id,
    runtime_id: record.runtimeId,
    status: record.status,
    supported: true,
    created_at: new Date(record.createdAt).toISOString(),
    updated_at: new Date(record.updatedAt).toISOString()
  }
  if (record.result !== undefined) {
    // Parsed per read, so callers never share an object with the store.
    const result = JSON.parse(record.result) as StoredResult
    request.models = result.models
    request.supported = result.supported
  }
  if (record.error !== undefined) request.error = record.error
  return request
}

function toRequestOrNull (record: WorkRecord | null): ModelListRequest | null {
  return record === null ? null : toRequest(record)
}

/** A cache answer: completed, stamped when the catalog was stored, under a fresh id nobody polls. */
function cachedRequest (runtimeId: string, cached: CachedResult): ModelListRequest | null {
  let result: StoredResult
  try {
    result = JSON.parse(cached.result) as StoredResult
    if (!Array.isArray(result.models)) return null
  } catch {
    return null
  }
  const at = new Date(cached.storedAt).toISOString()
  return {
    id: newId(),
    runtime_id: runtimeId,
    status: 'completed',
    models: result.models,
    supported: result.supported !== false,
    created_at: at,
    updated_at: at,
    cached: true,
    cached_at: at
  }
}

/**
 * What an accepted report does to the catalog: a real catalog is stored, a
 * real "nothing" drops it; a fallback (the daemon's guess) leaves it.
 */
export function catalogAction (outcome: ModelListResult | null): CatalogAction {
  if (outcome === null || outcome.fallback === true) return 'keep'
  return outcome.supported && outcome.models.length > 0 ? 'store' : 'drop'
}

/** The model-list face of a work backend: ids checked, records mapped to the wire shape. */
export abstract class WorkModelListStore implements ModelListStore {
  protected readonly backend: WorkBackend
  protected readonly rules: Lifecycle

  protected constructor (backend: WorkBackend) {
    this.backend = backend
    this.rules = backend.lifecycle
  }

  async create (runtimeId: string, options?: { coalesce?: boolean }): Promise<ModelListRequest> {
    checkId('runtimeId', runtimeId)
    const opened = await this.backend.open(this.rules, runtimeId, { coalesce: options?.coalesce === true, exclusive: false, useCache: false }) as { record: WorkRecord }
    return toRequest(opened.record)
  }

  async get (runtimeId: string, requestId: string): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    return toRequestOrNull(await this.backend.get(this.rules, runtimeId, requestId))
  }

  async hasPending (runtimeId: string): Promise<boolean> {
    checkId('runtimeId', runtimeId)
    const [pending] = await this.backend.probe(runtimeId, [this.rules.kind])
    return pending
  }

  async popPending (runtimeId: string): Promise<ModelListRequest | null> {
    checkId('runtimeId', runtimeId)
    const [claimed] = await this.backend.claim(this.rules, runtimeId, 1)
    return claimed === undefined ? null : toRequest(claimed)
  }

  async complete (runtimeId: string, requestId: string, result: ModelListResult): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    const stored: StoredResult = { models: result.models, supported: result.supported }
    return toRequestOrNull(await this.backend.settle(this.rules, runtimeId, requestId, { status: 'completed', result: JSON.stringify(stored) }, catalogAction(result)))
  }

  async fail (runtimeId: string, requestId: string, error: string): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    return toRequestOrNull(await this.backend.settle(this.rules, runtimeId, requestId, { status: 'failed', error: String(error) }, catalogAction(null)))
  }

  async close (): Promise<void> {
    await this.backend.close()
  }

  async [kHandBack] (runtimeId: string, claim: ModelListRequest): Promise<boolean> {
    checkIds(runtimeId, claim.id)
    return await this.backend.handBack(this.rules, runtimeId, claim.id, Date.parse(claim.updated_at)) !== null
  }

  async [kOpen] (runtimeId: string, { coalesce, useCache }: OpenOptions): Promise<Opened> {
    checkId('runtimeId', runtimeId)
    const opened = await this.backend.open(this.rules, runtimeId, { coalesce, exclusive: false, useCache }) as Exclude<OpenedWork, { busy: string }>
    if ('record' in opened) return { request: toRequest(opened.record), queued: opened.queued }
    const request = cachedRequest(runtimeId, opened.cached)
    if (request !== null) return { request, queued: opened.queued }
    // A catalog that cannot be read is a miss: ask the daemon (joining a refresh just queued).
    const miss = await this.backend.open(this.rules, runtimeId, { coalesce, exclusive: false, useCache: false }) as { record: WorkRecord, queued: boolean }
    return { request: toRequest(miss.record), queued: opened.queued || miss.queued }
  }

  async [kWatchSettled] (runtimeId: string, requestId: string, wake: () => void): Promise<() => void> {
    checkIds(runtimeId, requestId)
    const unwatch = this.backend.signals.watchSettled(runtimeId, requestId, wake)
    try {
      await this.backend.listen()
    } catch (error) {
      unwatch()
      throw error
    }
    return unwatch
  }

  [kMsUntilDeadline] (request: ModelListRequest): number {
    const lifecycle = this.rules
    const deadline = request.status === 'pending'
      ? Date.parse(request.created_at) + lifecycle.pendingTimeoutMs
      : Date.parse(request.updated_at) + lifecycle.runningTimeoutMs
    return deadline - this.backend.lifecycle.now()
  }

  async [kListening] (): Promise<void> {
    await this.backend.listen()
  }

  [kOnPendingWork] (listener: (runtimeId: string, kind: string) => void): () => void {
    const off = this.backend.signals.onQueued(listener)
    // In the background: a subscriber that cannot connect yet keeps trying, and
    // a hint missed meanwhile costs only latency (the next heartbeat claims).
    this.backend.listen().catch(() => {})
    return off
  }
}

function checkIds (runtimeId: string, requestId: string): void {
  checkId('runtimeId', runtimeId)
  checkId('requestId', requestId)
}
