// Held polls and the event loop: thousands woken at once go on a slice at a
// time, and the time a poll waits for the loop is told apart from the store's.

/** The polls one signal or one read may set going at once: those of one request. */
export class Slice {
  ran = 0
  turn = -1
  readonly waiting: Array<() => void> = []
  head = 0
}

/**
 * Lets at most `size` held polls of one slice (one request) go on per turn of
 * the event loop: a settle that wakes 5,000 polls of one request answers them
 * a slice at a time, the loop free for everything else between slices. Polls
 * of different requests, woken by signals of their own, never wait for each
 * other: a burst of reports on as many requests is answered as it comes.
 */
export class Pacer {
  private turns = 0
  private armed = false
  private readonly backlog = new Set<Slice>()

  constructor (private readonly size: number) {}

  /** Calls `next` now, or in a later turn when this turn's share of `slice` is used up. */
  go (slice: Slice, next: () => void): void {
    if (slice.turn !== this.turns) {
      slice.turn = this.turns
      slice.ran = 0
    }
    if (slice.ran < this.size) {
      slice.ran++
      next()
      return
    }
    slice.waiting.push(next)
    this.backlog.add(slice)
    this.arm()
  }

  async turn (slice: Slice): Promise<void> {
    await new Promise<void>(resolve => { this.go(slice, resolve) })
  }

  private arm (): void {
    if (this.armed) return
    this.armed = true
    setImmediate(this.nextTurn)
  }

  // A new turn: each slice waiting lets the next of its polls go on.
  private readonly nextTurn = (): void => {
    this.armed = false
    this.turns++
    for (const slice of [...this.backlog]) {
      slice.turn = this.turns
      slice.ran = 0
      const end = Math.min(slice.head + this.size, slice.waiting.length)
      while (slice.head < end) {
        slice.ran++
        slice.waiting[slice.head++]()
      }
      if (slice.head === slice.waiting.length) {
        slice.waiting.length = 0
        slice.head = 0
        this.backlog.delete(slice)
      }
    }
    if (this.backlog.size > 0) this.arm()
  }
}

/**
 * How late the event loop has been running timers, sampled every `everyMs`
 * while someone needs it: time a store's answer may have waited, read by
 * nobody, while the loop was busy (a burst of wake-ups). Late by less than
 * `everyMs` goes unseen.
 */
export class LoopLag {
  private users = 0
  private late = 0
  private due = 0
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor (private readonly everyMs: number) {}

  /** Lateness so far, in ms: grows only while the loop is late. */
  now (): number {
    return this.late + Math.max(0, Date.now() - this.due)
  }

  /** Samples until as many stop() as start(). */
  start (): void {
    if (this.users++ === 0) this.arm(Date.now())
  }

  stop (): void {
    if (--this.users === 0) clearTimeout(this.timer)
  }

  private arm (from: number): void {
    this.due = from + this.everyMs
    this.timer = setTimeout(this.sample, this.everyMs)
  }

  private readonly sample = (): void => {
    const now = Date.now()
    this.late += Math.max(0, now - this.due)
    this.arm(now)
  }
}
