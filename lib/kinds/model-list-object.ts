import type { ModelListRequest } from '../schemas'
import type { WorkRules } from '../rules'
import type { CatalogAction, OpenedWork, OpenRequest, Outcome, WorkRecord, WorkStore } from '../store/contract'
import type { ModelListStore } from './model-list-store'
import type { ModelListResult } from './model-list'

// The deadline of a request read through a ModelListStore object is the
// store's own business: a held poll waits for its wake-up or for `wait_ms`.
const unknownDeadline = Number.POSITIVE_INFINITY

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
 * A ModelListStore object as a work store for the model list alone, driven
 * only through its public methods, so a subclass's override or a wrapper's
 * method is what runs. It joins (coalesce) through `create`; it has no catalog
 * cache, and hands claims back only with a `handBack` of its own.
 */
export class ModelListObjectStore implements WorkStore {
  readonly handBack?: WorkStore['handBack']

  constructor (private readonly store: ModelListStore) {
    if (typeof store.handBack === 'function') {
      this.handBack = async (rules, runtimeId, id, claimedAt) => {
        const at = new Date(claimedAt).toISOString()
        const claim: ModelListRequest = { id, runtime_id: runtimeId, status: 'running', supported: true, created_at: at, updated_at: at }
        return await (store.handBack as NonNullable<ModelListStore['handBack']>)(runtimeId, claim)
          ? { id, runtimeId, kind: rules.kind, status: 'pending', createdAt: claimedAt, updatedAt: claimedAt, deadline: unknownDeadline }
          : null
      }
    }
  }

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    // A plain store cannot say whether it joined: every create counts as queued
    // (a spare hint costs one early heartbeat).
    return { record: toRecord(await this.store.create(runtimeId, { coalesce: request.coalesce }), rules.kind), queued: true }
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    const found = await this.store.get(runtimeId, id)
    return found === null ? null : toRecord(found, rules.kind)
  }

  async probe (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    const pending = await this.store.hasPending(runtimeId)
    return kinds.map(() => pending)
  }

  async claim (rules: WorkRules, runtimeId: string): Promise<WorkRecord[]> {
    const claimed = await this.store.popPending(runtimeId)
    return claimed === null ? [] : [toRecord(claimed, rules.kind)]
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, _cache: CatalogAction): Promise<WorkRecord | null> {
    // The store decides what a report does to its catalog, if it keeps one.
    const stored = outcome.status === 'completed'
      ? await this.store.complete(runtimeId, id, JSON.parse(outcome.result) as ModelListResult)
      : await this.store.fail(runtimeId, id, outcome.error)
    return stored === null ? null : toRecord(stored, rules.kind)
  }

  // The store object is the host's: the plugin never closes it.
  async close (): Promise<void> {}
}
