import { WorkBusyError } from '../errors'
import { lifecycleChannel, type LifecycleEvent, type LifecycleMessage } from '../diagnostics'
import type { Engine } from '../store/features'
import type { CatalogAction, OpenRequest, Outcome, WorkRecord } from '../store/contract'
import type { Kind, WrittenAnswer } from './kind'

/**
 * One kind's face of the engine: what the routes, the heartbeat and the typed
 * stores call. Records go in and out as the store keeps them; the kind's codec
 * gives their wire shape. Every lifecycle event passes here, so here it is told
 * (on the diagnostics channel, when someone listens).
 */
export class Face<Wire = unknown> {
  constructor (readonly kind: Kind<Wire>, readonly engine: Engine) {}

  /**
   * Queues a request (joining, refusing or answering from the cache, as the
   * store decides in one step); answers it on the wire and whether work was
   * queued (a cache answer may come already written). An exclusive kind with a
   * request in flight throws a 409 naming it.
   */
  async open (runtimeId: string, request: OpenRequest): Promise<{ answer: Wire | WrittenAnswer, queued: boolean }> {
    const { kind, engine } = this
    const opened = await engine.open(kind.rules, runtimeId, request)
    if ('busy' in opened) {
      if (this.told()) this.tell('busy', runtimeId, opened.busy, engine.now())
      throw new WorkBusyError(kind.name, opened.busy)
    }
    if ('record' in opened) {
      if (this.told()) this.tellOpened(runtimeId, opened.record, opened.queued)
      return { answer: kind.toWire(opened.record), queued: opened.queued }
    }
    const { refresh } = opened
    if (refresh !== undefined && this.told()) this.tell('queued', runtimeId, refresh.id, refresh.createdAt)
    const answer = kind.cacheAnswer?.(runtimeId, opened.cached) ?? null
    if (answer !== null) {
      if (this.told()) this.tell('cached', runtimeId, (answer as unknown as { id: string }).id, refresh?.createdAt ?? engine.now(), { refreshQueued: opened.queued })
      return { answer, queued: opened.queued }
    }
    // A cached result that cannot be read is a miss: ask the daemon (joining a refresh just queued).
    const miss = await engine.open(kind.rules, runtimeId, { ...request, useCache: false }) as { record: WorkRecord, queued: boolean }
    if (this.told()) this.tellOpened(runtimeId, miss.record, miss.queued)
    return { answer: kind.toWire(miss.record), queued: opened.queued || miss.queued }
  }

  async get (runtimeId: string, id: string): Promise<WorkRecord | null> {
    const record = await this.engine.get(this.kind.rules, runtimeId, id)
    if (record?.change?.timedOut !== undefined && this.told()) this.tellTimeout(runtimeId, record)
    return record
  }

  /** Moves up to the kind's `claimBatch` of the oldest claimable requests to running. */
  async claim (runtimeId: string): Promise<WorkRecord[]> {
    const claimed = await this.engine.claim(this.kind.rules, runtimeId, this.kind.claimBatch)
    if (claimed.length > 0 && this.told()) {
      for (const record of claimed) this.tell('claimed', runtimeId, record.id, record.updatedAt, { pendingMs: record.updatedAt - record.createdAt })
    }
    return claimed
  }

  async settle (runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    const record = await this.engine.settle(this.kind.rules, runtimeId, id, outcome, cache)
    if (record !== null && this.told()) this.tellSettled(runtimeId, record, outcome)
    return record
  }

  /** Makes a claim nobody heard about claimable again, while it is still that claim; true when it did. */
  async handBack (runtimeId: string, claimed: WorkRecord): Promise<boolean> {
    const handBack = this.engine.handBack as NonNullable<Engine['handBack']>
    const record = await handBack(this.kind.rules, runtimeId, claimed.id, claimed.updatedAt)
    if (record !== null && this.told()) this.tell('handed_back', runtimeId, record.id, record.updatedAt)
    return record !== null
  }

  /** How long a live record has before its own deadline, by the store's clock. */
  msUntilDeadline (record: WorkRecord): number {
    return record.deadline - this.engine.now()
  }

  /** Whether lifecycle events are told: someone listens, and this face's engine is the plugin's. */
  private told (): boolean {
    return lifecycleChannel.hasSubscribers && this.engine.observed
  }

  private tell (event: LifecycleEvent, runtimeId: string, requestId: string, at: number, extra?: Partial<LifecycleMessage>): void {
    const message: LifecycleMessage = { event, kind: this.kind.name, runtimeId, requestId, at, ...extra }
    lifecycleChannel.publish(message)
  }

  private tellOpened (runtimeId: string, record: WorkRecord, queued: boolean): void {
    if (queued) this.tell('queued', runtimeId, record.id, record.createdAt)
    else this.tell('joined', runtimeId, record.id, this.engine.now())
  }

  private tellTimeout (runtimeId: string, record: WorkRecord): void {
    this.tell('timeout', runtimeId, record.id, record.updatedAt, { phase: record.change?.timedOut })
  }

  /**
   * A report: the timeout it applied first, if any; then the outcome, with
   * how long the request waited to be claimed and then ran, or a late report.
   * A store that does not say what changed: a record with the report's status
   * counts as landed, pending until the report.
   */
  private tellSettled (runtimeId: string, record: WorkRecord, outcome: Outcome): void {
    const { change } = record
    if (change?.timedOut !== undefined) this.tellTimeout(runtimeId, record)
    if (!(change?.settled ?? record.status === outcome.status)) {
      this.tell('late_report', runtimeId, record.id, this.engine.now())
      return
    }
    const at = record.updatedAt
    const claimedAt = change?.claimedAt ?? at
    this.tell(outcome.status, runtimeId, record.id, at, { pendingMs: claimedAt - record.createdAt, runningMs: at - claimedAt })
  }
}
