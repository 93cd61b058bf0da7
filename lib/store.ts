import type { ModelEntry, ModelListRequest } from './schemas'
import type { Outcome, WorkRecord } from './lifecycle'
import { checkId } from './ids'
import { kHandBack } from './capabilities'

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

/** Keeps work records; knows the lifecycle, not what the work is. */
export interface WorkBackend {
  create(runtimeId: string, coalesce: boolean): Promise<WorkRecord>
  get(runtimeId: string, id: string): Promise<WorkRecord | null>
  hasPending(runtimeId: string): Promise<boolean>
  popPending(runtimeId: string): Promise<WorkRecord | null>
  settle(runtimeId: string, id: string, outcome: Outcome): Promise<WorkRecord | null>
  /** Back to pending if still running since `claimedAt` (the claim's update time); the record, or null. */
  handBack(runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null>
  close(): Promise<void>
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

/** The model-list face of a work backend: ids checked, records mapped to the wire shape. */
export abstract class WorkModelListStore implements ModelListStore {
  protected readonly backend: WorkBackend

  protected constructor (backend: WorkBackend) {
    this.backend = backend
  }

  async create (runtimeId: string, options?: { coalesce?: boolean }): Promise<ModelListRequest> {
    checkId('runtimeId', runtimeId)
    return toRequest(await this.backend.create(runtimeId, options?.coalesce === true))
  }

  async get (runtimeId: string, requestId: string): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    return toRequestOrNull(await this.backend.get(runtimeId, requestId))
  }

  async hasPending (runtimeId: string): Promise<boolean> {
    checkId('runtimeId', runtimeId)
    return await this.backend.hasPending(runtimeId)
  }

  async popPending (runtimeId: string): Promise<ModelListRequest | null> {
    checkId('runtimeId', runtimeId)
    return toRequestOrNull(await this.backend.popPending(runtimeId))
  }

  async complete (runtimeId: string, requestId: string, result: ModelListResult): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    const stored: StoredResult = { models: result.models, supported: result.supported }
    return toRequestOrNull(await this.backend.settle(runtimeId, requestId, { status: 'completed', result: JSON.stringify(stored) }))
  }

  async fail (runtimeId: string, requestId: string, error: string): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    return toRequestOrNull(await this.backend.settle(runtimeId, requestId, { status: 'failed', error: String(error) }))
  }

  async close (): Promise<void> {
    await this.backend.close()
  }

  async [kHandBack] (runtimeId: string, claim: ModelListRequest): Promise<boolean> {
    checkIds(runtimeId, claim.id)
    return await this.backend.handBack(runtimeId, claim.id, Date.parse(claim.updated_at)) !== null
  }
}

function checkIds (runtimeId: string, requestId: string): void {
  checkId('runtimeId', runtimeId)
  checkId('requestId', requestId)
}
