import { WorkBusyError } from '../errors'
import type { Engine } from '../store/features'
import type { CatalogAction, OpenRequest, Outcome, WorkRecord } from '../store/contract'
import type { Kind } from './kind'

/**
 * One kind's face of the engine: what the routes, the heartbeat and the typed
 * stores call. Records go in and out as the store keeps them; the kind's codec
 * gives their wire shape.
 */
export class Face<Wire = unknown> {
  constructor (readonly kind: Kind<Wire>, readonly engine: Engine) {}

  /**
   * Queues a request (joining, refusing or answering from the cache, as the
   * store decides in one step); answers it on the wire and whether work was
   * queued. An exclusive kind with a request in flight throws a 409 naming it.
   */
  async open (runtimeId: string, request: OpenRequest): Promise<{ answer: Wire, queued: boolean }> {
    const { kind, engine } = this
    const opened = await engine.open(kind.rules, runtimeId, request)
    if ('busy' in opened) throw new WorkBusyError(kind.name, opened.busy)
    if ('record' in opened) return { answer: kind.toWire(opened.record), queued: opened.queued }
    const answer = kind.cacheAnswer?.(runtimeId, opened.cached) ?? null
    if (answer !== null) return { answer, queued: opened.queued }
    // A cached result that cannot be read is a miss: ask the daemon (joining a refresh just queued).
    const miss = await engine.open(kind.rules, runtimeId, { ...request, useCache: false }) as { record: WorkRecord, queued: boolean }
    return { answer: kind.toWire(miss.record), queued: opened.queued || miss.queued }
  }

  async get (runtimeId: string, id: string): Promise<WorkRecord | null> {
    return await this.engine.get(this.kind.rules, runtimeId, id)
  }

  /** Moves up to the kind's `claimBatch` of the oldest claimable requests to running. */
  async claim (runtimeId: string): Promise<WorkRecord[]> {
    return await this.engine.claim(this.kind.rules, runtimeId, this.kind.claimBatch)
  }

  async settle (runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    return await this.engine.settle(this.kind.rules, runtimeId, id, outcome, cache)
  }

  /** Makes a claim nobody heard about claimable again, while it is still that claim; true when it did. */
  async handBack (runtimeId: string, claimed: WorkRecord): Promise<boolean> {
    const handBack = this.engine.handBack as NonNullable<Engine['handBack']>
    return await handBack(this.kind.rules, runtimeId, claimed.id, claimed.updatedAt) !== null
  }

  /** How long a live record has before its own deadline, by the store's clock. */
  msUntilDeadline (record: WorkRecord): number {
    return record.deadline - this.engine.now()
  }
}
