import type { ModelListRequest } from '../schemas'
import { WorkRules, type RulesOptions } from '../rules'
import { checkId } from '../ids'
import { Engine } from '../store/features'
import type { WorkStore } from '../store/contract'
import { Face } from './face'
import { catalogAction, completed, modelListKind, type ModelListResult } from './model-list'

/** What the plugin needs of a store for the model list (API.md, "The store contract"). */
export interface ModelListStore {
  create(runtimeId: string, options?: { coalesce?: boolean }): Promise<ModelListRequest>
  get(runtimeId: string, requestId: string): Promise<ModelListRequest | null>
  hasPending(runtimeId: string): Promise<boolean>
  popPending(runtimeId: string): Promise<ModelListRequest | null>
  complete(runtimeId: string, requestId: string, result: ModelListResult): Promise<ModelListRequest | null>
  fail(runtimeId: string, requestId: string, error: string): Promise<ModelListRequest | null>
  close(): Promise<void>
  /**
   * Optional: makes a claim its heartbeat gave up on claimable again, atomically
   * and only while it is still that claim (running, unchanged since); true when
   * it did. Without it, such a claim ends as `timeout`.
   */
  handBack?(runtimeId: string, claim: ModelListRequest): Promise<boolean>
}

function checkIds (runtimeId: string, requestId: string): void {
  checkId('runtimeId', runtimeId)
  checkId('requestId', requestId)
}

/**
 * The model list's face of a work store: the built-in stores are this over
 * their own work store. Ids are checked before the work store sees them.
 */
export class ModelListOnWorkStore implements ModelListStore {
  /** The kind-agnostic store this one is a face of; every other kind shares it. */
  readonly workStore: WorkStore
  /** The model list's rules, as this store was configured. */
  readonly rules: WorkRules
  private readonly face: Face<ModelListRequest>
  private readonly closes: boolean

  /** `closes`: whether `close()` closes the work store (false for one the host owns). */
  constructor (workStore: WorkStore, rules: WorkRules | RulesOptions = {}, { closes = true }: { closes?: boolean } = {}) {
    this.workStore = workStore
    this.closes = closes
    this.rules = rules instanceof WorkRules ? rules : new WorkRules(rules)
    // Not observed: when the plugin runs this store, its own engine tells what happens.
    this.face = new Face(modelListKind(this.rules, { coalesce: false, useCache: false }), new Engine(workStore, { observed: false }))
  }

  async create (runtimeId: string, options?: { coalesce?: boolean }): Promise<ModelListRequest> {
    checkId('runtimeId', runtimeId)
    const { answer } = await this.face.open(runtimeId, { coalesce: options?.coalesce === true, exclusive: false, useCache: false })
    // Never a cache answer (useCache: false), so never one already written.
    return answer as ModelListRequest
  }

  async get (runtimeId: string, requestId: string): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    return this.wire(await this.face.get(runtimeId, requestId))
  }

  async hasPending (runtimeId: string): Promise<boolean> {
    checkId('runtimeId', runtimeId)
    const [pending] = await this.workStore.probe(runtimeId, [this.rules.kind])
    return pending
  }

  async popPending (runtimeId: string): Promise<ModelListRequest | null> {
    checkId('runtimeId', runtimeId)
    const [claimed] = await this.face.claim(runtimeId)
    return claimed === undefined ? null : this.face.kind.toWire(claimed)
  }

  async complete (runtimeId: string, requestId: string, result: ModelListResult): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    return this.wire(await this.face.settle(runtimeId, requestId, completed(result), catalogAction(result)))
  }

  async fail (runtimeId: string, requestId: string, error: string): Promise<ModelListRequest | null> {
    checkIds(runtimeId, requestId)
    return this.wire(await this.face.settle(runtimeId, requestId, { status: 'failed', error: String(error) }, catalogAction(null)))
  }

  async handBack (runtimeId: string, claim: ModelListRequest): Promise<boolean> {
    checkIds(runtimeId, claim.id)
    const handBack = this.workStore.handBack
    if (handBack === undefined) return false
    return await handBack.call(this.workStore, this.rules, runtimeId, claim.id, Date.parse(claim.updated_at)) !== null
  }

  async close (): Promise<void> {
    if (this.closes) await this.workStore.close()
  }

  private wire (record: Parameters<Face['kind']['toWire']>[0] | null): ModelListRequest | null {
    return record === null ? null : this.face.kind.toWire(record)
  }
}
