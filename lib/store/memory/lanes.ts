import { PendingQueue } from './pending-queue'

/**
 * Each lane's pending queue and running claims; a lane is a runtime's work of
 * one kind (`${runtimeId} ${kind}`). An empty lane takes no memory.
 */
export class Lanes {
  private readonly queues = new Map<string, PendingQueue>()
  // Claimed ids: a stale catalog queues no refresh, and an exclusive kind no second request, while one runs.
  private readonly claims = new Map<string, Set<string>>()

  has (lane: string): boolean {
    return this.queues.has(lane)
  }

  queue (lane: string): PendingQueue | undefined {
    return this.queues.get(lane)
  }

  /** The lane's queue, made when it has none. */
  queueOf (lane: string): PendingQueue {
    let queue = this.queues.get(lane)
    if (queue === undefined) this.queues.set(lane, queue = new PendingQueue())
    return queue
  }

  /** Takes the oldest entry out (the one just claimed). */
  dequeue (lane: string): void {
    this.queues.get(lane)?.shift()
    this.release(lane)
  }

  /** Lets go of the lane's queue once it is empty. */
  release (lane: string): void {
    if (this.queues.get(lane)?.size === 0) this.queues.delete(lane)
  }

  running (lane: string): Iterable<string> {
    return this.claims.get(lane) ?? []
  }

  claim (lane: string, id: string): void {
    const claims = this.claims.get(lane)
    if (claims === undefined) this.claims.set(lane, new Set([id]))
    else claims.add(id)
  }

  unclaim (lane: string, id: string): void {
    const claims = this.claims.get(lane)
    if (claims === undefined) return
    claims.delete(id)
    if (claims.size === 0) this.claims.delete(lane)
  }
}
