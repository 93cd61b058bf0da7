import type { RedisClient } from './client'

// The proof that this replica's signal path is live: once a second it
// publishes a numbered message on a channel of its own, on every master (a
// Cluster bus link can fail for one of them while our socket is fine), from a
// connection of its own (so it never shows among the host client's commands),
// and must hear every copy before the next one goes out. A copy missing then
// fails the proof; hearing every copy of one proves the path again.

/** How often a canary goes out; also how long one has to be heard. */
export const canaryIntervalMs = 1_000

interface Publisher {
  publish(channel: string, message: string): Promise<unknown>
  nodes?: (role: 'master') => Publisher[]
  isCluster?: boolean
  on(event: 'error' | 'ready', listener: (error: Error) => void): unknown
  disconnect(): void
}

export interface CanaryOptions {
  redis: RedisClient
  /** This replica's canary channel (the client's keyPrefix included). */
  channel: string
  /** Every copy of a canary was heard in time. */
  proven: () => void
  /** A copy of the last canary was not heard in time (or could not be sent). */
  failed: () => void
}

export class Canary {
  private readonly options: CanaryOptions
  private publisher: Publisher | undefined
  private timer: NodeJS.Timeout | undefined
  private sequence = 0
  // Copies of the canary out there not yet heard; 0 when none is out.
  private unheard = 0
  private closed = false
  /** Canaries published (copies), for the figures. */
  published = 0

  constructor (options: CanaryOptions) {
    this.options = options
  }

  get started (): boolean {
    return this.timer !== undefined
  }

  /** Publishes one now and one a second from then on. */
  start (): void {
    if (this.closed || this.timer !== undefined) return
    this.timer = setInterval(() => this.tick(), canaryIntervalMs)
    this.timer.unref()
    this.send()
  }

  /**
   * One now, not waiting for the next tick (the subscriber is back): what is
   * out is replaced, not failed. Only while nothing is trusted, so it can
   * never put off the failure of a proof.
   */
  soon (): void {
    if (this.timer !== undefined && !this.closed) this.send()
  }

  /** What the subscriber heard on the canary channel. */
  heard (message: string): void {
    if (this.unheard === 0 || message !== String(this.sequence)) return
    if (--this.unheard === 0) this.options.proven()
  }

  private tick (): void {
    if (this.unheard > 0) {
      this.unheard = 0
      this.options.failed()
    }
    this.send()
  }

  private send (): void {
    const publisher = this.publisher ??= this.connect()
    // A Cluster: every master, each over its own bus links; before the
    // Cluster knows its masters, none (and the next tick fails the proof).
    const targets = publisher.isCluster === true && typeof publisher.nodes === 'function' ? publisher.nodes('master') : [publisher]
    const message = String(++this.sequence)
    this.unheard = targets.length
    if (targets.length === 0) {
      this.unheard = 1
      return
    }
    for (const target of targets) {
      this.published++
      // A copy that cannot be sent is not heard: the next tick fails the proof.
      target.publish(this.options.channel, message).catch(() => {})
    }
  }

  private connect (): Publisher {
    const publisher = this.options.redis.duplicate() as Publisher
    // Its failures show as canaries not heard.
    publisher.on('error', () => {})
    // A Cluster knows its masters once ready: the first canary goes out then.
    if (publisher.isCluster === true) publisher.on('ready', () => { if (!this.closed) this.send() })
    return publisher
  }

  close (): void {
    this.closed = true
    clearInterval(this.timer)
    this.publisher?.disconnect()
  }
}
