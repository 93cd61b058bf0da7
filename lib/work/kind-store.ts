import { Lifecycle, type WorkRecord } from '../lifecycle'
import type { OpenedWork, WorkBackend } from '../store'
import { WorkBusyError } from '../errors'
import { checkId } from '../ids'
import type { DaemonWork, PendingWorkItem, WorkParams, WorkResult } from './declare'
import type { WorkRequest } from './request'

/** A kind's rules: its own timeouts, else the store's (the plugin's). */
export function kindRules (kind: DaemonWork, base: Lifecycle): Lifecycle {
  const pendingTimeoutMs = kind.pendingTimeoutMs ?? base.pendingTimeoutMs
  const runningTimeoutMs = kind.runningTimeoutMs ?? base.runningTimeoutMs
  // A terminal record must outlive the kind's own timeouts, which may be longer than the plugin's.
  const retentionMs = kind.retentionMs ?? Math.max(base.retentionMs, 2 * Math.max(pendingTimeoutMs, runningTimeoutMs))
  return new Lifecycle({ pendingTimeoutMs, runningTimeoutMs, retentionMs, now: base.now }, kind.name)
}

/** JSON with every object's keys sorted, so equal values give equal strings. */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner
    const sorted: Record<string, unknown> = {}
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key]
    return sorted
  })
}

// Parsed per read, so callers never share an object with the store.
function parse (json: string): unknown {
  return JSON.parse(json)
}

/**
 * One declared kind's face of the shared work store: ids checked, params and
 * results kept as JSON, records mapped to the wire shape. Typed by the kind.
 */
export class WorkKindStore<Kind extends DaemonWork = DaemonWork> {
  readonly kind: Kind
  readonly rules: Lifecycle
  private readonly backend: WorkBackend

  constructor (kind: Kind, backend: WorkBackend) {
    this.kind = kind
    this.backend = backend
    this.rules = kindRules(kind, backend.lifecycle)
  }

  private toRequest (record: WorkRecord): WorkRequest<WorkParams<Kind>, WorkResult<Kind>> {
    const request: WorkRequest<WorkParams<Kind>, WorkResult<Kind>> = {
      id: record.id,
      runtime_id: record.runtimeId,
      status: record.status,
      created_at: new Date(record.createdAt).toISOString(),
      updated_at: new Date(record.updatedAt).toISOString()
    }
    if (record.params !== undefined) request.params = parse(record.params) as WorkParams<Kind>
    if (record.result !== undefined) request.result = parse(record.result) as WorkResult<Kind>
    if (record.error !== undefined) request.error = record.error
    return request
  }

  /**
   * Queues a request (joining an equal pending one when the kind coalesces);
   * answers it and whether work was queued. An exclusive kind with a request
   * in flight throws a 409 naming it.
   */
  async open (runtimeId: string, params: WorkParams<Kind>): Promise<{ request: WorkRequest<WorkParams<Kind>, WorkResult<Kind>>, queued: boolean }> {
    checkId('runtimeId', runtimeId)
    const { kind } = this
    const opened = await this.backend.open(this.rules, runtimeId, {
      // Stored with sorted keys: equal params are equal strings, whatever order a client sent them in.
      ...(params !== undefined && kind.params !== undefined && { params: canonicalJson(params) }),
      coalesce: kind.coalesce,
      exclusive: kind.exclusive,
      useCache: false
    }) as Exclude<OpenedWork, { cached: unknown }>
    if ('busy' in opened) throw new WorkBusyError(kind.name, opened.busy)
    return { request: this.toRequest(opened.record), queued: opened.queued }
  }

  async create (runtimeId: string, params: WorkParams<Kind>): Promise<WorkRequest<WorkParams<Kind>, WorkResult<Kind>>> {
    return (await this.open(runtimeId, params)).request
  }

  async get (runtimeId: string, requestId: string): Promise<WorkRequest<WorkParams<Kind>, WorkResult<Kind>> | null> {
    checkIds(runtimeId, requestId)
    const record = await this.backend.get(this.rules, runtimeId, requestId)
    return record === null ? null : this.toRequest(record)
  }

  /** Moves up to `claimBatch` of the runtime's oldest claimable requests to running: what the heartbeat hands the daemon. */
  async claim (runtimeId: string): Promise<Array<PendingWorkItem<Kind>>> {
    return this.pending(await this.claimRecords(runtimeId))
  }

  /** The claim as stored records (the heartbeat keeps them to hand back a claim it gave up on). */
  async claimRecords (runtimeId: string): Promise<WorkRecord[]> {
    checkId('runtimeId', runtimeId)
    return await this.backend.claim(this.rules, runtimeId, this.kind.claimBatch)
  }

  /** Claimed records as the heartbeat hands them to the daemon. */
  pending (claimed: WorkRecord[]): Array<PendingWorkItem<Kind>> {
    return claimed.map(record => (record.params === undefined ? { id: record.id } : { id: record.id, params: parse(record.params) }) as PendingWorkItem<Kind>)
  }

  /** Makes a claim nobody heard about claimable again, while it is still that claim; true when it did. */
  async handBack (runtimeId: string, claimed: WorkRecord): Promise<boolean> {
    return await this.backend.handBack(this.rules, runtimeId, claimed.id, claimed.updatedAt) !== null
  }

  async complete (runtimeId: string, requestId: string, result: WorkResult<Kind>): Promise<WorkRequest<WorkParams<Kind>, WorkResult<Kind>> | null> {
    checkIds(runtimeId, requestId)
    const record = await this.backend.settle(this.rules, runtimeId, requestId, { status: 'completed', result: JSON.stringify(result) }, 'keep')
    return record === null ? null : this.toRequest(record)
  }

  async fail (runtimeId: string, requestId: string, error: string): Promise<WorkRequest<WorkParams<Kind>, WorkResult<Kind>> | null> {
    checkIds(runtimeId, requestId)
    const record = await this.backend.settle(this.rules, runtimeId, requestId, { status: 'failed', error: String(error) }, 'keep')
    return record === null ? null : this.toRequest(record)
  }

  /** How long a live request has left before it times out, by the store's clock. */
  msUntilDeadline (request: WorkRequest): number {
    const deadline = request.status === 'pending'
      ? Date.parse(request.created_at) + this.rules.pendingTimeoutMs
      : Date.parse(request.updated_at) + this.rules.runningTimeoutMs
    return deadline - this.rules.now()
  }
}

function checkIds (runtimeId: string, requestId: string): void {
  checkId('runtimeId', runtimeId)
  checkId('requestId', requestId)
}
