// The memory store's timer: forgets what is due even when no request arrives,
// a bounded slice per turn of the event loop.

// The beat is the shortest retention of the kinds seen so far, at most this:
// memory comes back within a retention of being due, with no traffic.
const maxSweepIntervalMs = 10_000

export class Sweeper {
  private readonly sweep: () => boolean
  private everyMs = maxSweepIntervalMs
  private timer: NodeJS.Timeout
  private sweepingOn: NodeJS.Immediate | undefined
  private closed = false

  /** `sweep` forgets one bounded slice of what is due; true when more is due. */
  constructor (sweep: () => boolean) {
    this.sweep = sweep
    this.timer = this.start()
  }

  /** A kind keeps its records this long: the beat shortens to it when it is shorter. */
  retention (retentionMs: number): void {
    if (retentionMs >= this.everyMs || this.closed) return
    this.everyMs = retentionMs
    clearInterval(this.timer)
    this.timer = this.start()
  }

  close (): void {
    this.closed = true
    clearInterval(this.timer)
    clearImmediate(this.sweepingOn)
  }

  private start (): NodeJS.Timeout {
    const timer = setInterval(() => this.sweepAll(), this.everyMs)
    timer.unref()
    return timer
  }

  /** Goes on, a slice per turn of the event loop, until nothing is due. */
  private sweepAll (): void {
    // The interval may fire while a sweep goes on: one sweep at a time.
    clearImmediate(this.sweepingOn)
    this.sweepingOn = undefined
    // Not unref'd: Node runs an unref'd immediate only while a ref'd one is
    // queued, so an idle server's sweep stopped after its first slices. The
    // chain ends when nothing is due, and close() clears it.
    if (this.sweep() && !this.closed) this.sweepingOn = setImmediate(() => this.sweepAll())
  }
}
