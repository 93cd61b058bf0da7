import { PendingQueue } from './pending-queue'

/** A runtime's work of one kind: where its queue and claims are found. */
export interface Lane {
  runtimeId: string
  kind: string
}

/**
 * Each lane's pending queue and running claims, kept by kind, then by runtime:
 * finding a runtime's queue builds no key, so an idle heartbeat allocates
 * nothing. An empty lane takes no memory.
 */
export class Lanes {
  private readonly queues = new Map<string, Map<string, PendingQueue>>()
  // Claimed ids: a stale catalog queues no refresh, and an exclusive kind no second request, while one runs.
  private readonly claims = new Map<string, Map<string, Set<string>>>()

  queue (runtimeId: string, kind: string): PendingQueue | undefined {
    return this.queues.get(kind)?.get(runtimeId)
  }

  /** The lane's queue, made when it has none. */
  queueOf ({ runtimeId, kind }: Lane): PendingQueue {
    let byRuntime = this.queues.get(kind)
    if (byRuntime === undefined) this.queues.set(kind, byRuntime = new Map())
    let queue = byRuntime.get(runtimeId)
    if (queue === undefined) byRuntime.set(runtimeId, queue = new PendingQueue())
    return queue
  }

  /** Takes the oldest entry out (the one just claimed). */
  dequeue (lane: Lane): void {
    this.queue(lane.runtimeId, lane.kind)?.shift()
    this.release(lane)
  }

  /** Lets go of the lane's queue once it is empty. */
  release ({ runtimeId, kind }: Lane): void {
    const byRuntime = this.queues.get(kind)
    if (byRuntime?.get(runtimeId)?.size !== 0) return
    byRuntime.delete(runtimeId)
    if (byRuntime.size === 0) this.queues.delete(kind)
  }

  running ({ runtimeId, kind }: Lane): Iterable<string> {
    return this.claims.get(kind)?.get(runtimeId) ?? []
  }

  claim ({ runtimeId, kind }: Lane, id: string): void {
    let byRuntime = this.claims.get(kind)
    if (byRuntime === undefined) this.claims.set(kind, byRuntime = new Map())
    const claims = byRuntime.get(runtimeId)
    if (claims === undefined) byRuntime.set(runtimeId, new Set([id]))
    else claims.add(id)
  }

  unclaim ({ runtimeId, kind }: Lane, id: string): void {
    const byRuntime = this.claims.get(kind)
    const claims = byRuntime?.get(runtimeId)
    if (byRuntime === undefined || claims === undefined) return
    claims.delete(id)
    if (claims.size > 0) return
    byRuntime.delete(runtimeId)
    if (byRuntime.size === 0) this.claims.delete(kind)
  }
}
