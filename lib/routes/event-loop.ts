// Held polls and the event loop: thousands woken at once go on a slice at a
// time, and the time a poll waits for the loop is told apart from the store's.

/** A queue of polls waiting for a turn, taken from its head. */
class Queue {
  readonly items: Array<() => void> = []
  head = 0

  get size (): number {
    return this.items.length - this.head
  }

  /** Calls those at the head while `slice` has room in this turn, each counted before it is called. */
  run (slice: Slice, size: number): void {
    while (slice.ran < size && this.head < this.items.length) {
      slice.ran++
      this.items[this.head++]()
    }
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    }
  }
}

/** The polls one signal or one read may set going at once: those of one request. */
export class Slice {
  ran = 0
  turn = -1
  /** Polls back from a read, to answer or sleep again: they go before those still to wake. */
  readonly resuming = new Queue()
  readonly waiting = new Queue()
}

/**
 * Lets at most `size` held polls of one slice (one request) go on per turn of
 * the event loop: a settle that wakes 5,000 polls of one request answers them
 * a slice at a time, the loop free for everything else between slices. Polls
 * of different requests, woken by signals of their own, never wait for each
 * other: a burst of reports on as many requests is answered as it comes.
 * A poll back from its read ({@link Pacer.turn}) goes before those still to
 * wake: each slice woken is answered next, not once all 5,000 are woken (what
 * they hold meanwhile would outlive the young generation, GC's cheap part).
 */
export class Pacer {
  private turns = 0
  private armed = false
  private readonly backlog = new Set<Slice>()

  constructor (private readonly size: number) {}

  /** Calls `next` now, or in a later turn when this turn's share of `slice` is used up. */
  go (slice: Slice, next: () => void, queue = slice.waiting): void {
    if (slice.turn !== this.turns) {
      slice.turn = this.turns
      slice.ran = 0
    }
    if (slice.ran < this.size) {
      slice.ran++
      next()
      return
    }
    queue.items.push(next)
    this.backlog.add(slice)
    this.arm()
  }

  /** A poll back from a read: on now, or first in a later turn. */
  async turn (slice: Slice): Promise<void> {
    await new Promise<void>(resolve => { this.go(slice, resolve, slice.resuming) })
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
      slice.resuming.run(slice, this.size)
      slice.waiting.run(slice, this.size)
      if (slice.resuming.size + slice.waiting.size === 0) this.backlog.delete(slice)
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
