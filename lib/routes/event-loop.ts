// Held polls and the event loop: thousands woken at once go on a slice at a
// time, and the time a poll waits for the loop is told apart from the store's.

/**
 * Lets at most `size` held polls go on per turn of the event loop: a settle
 * that wakes 5,000 of them answers them a slice at a time, the loop free for
 * everything else between slices. A poll finding the turn's slice not yet
 * full goes on at once.
 */
export class Pacer {
  private readonly waiting: Array<() => void> = []
  private head = 0
  private ran = 0
  private armed = false

  constructor (private readonly size: number) {}

  /** Calls `next` now, or in a later turn when this one's slice is full. */
  readonly go = (next: () => void): void => {
    this.arm()
    if (this.ran < this.size) {
      this.ran++
      next()
    } else this.waiting.push(next)
  }

  async turn (): Promise<void> {
    await new Promise<void>(resolve => { this.go(resolve) })
  }

  // Once a turn: the slice starts again, and the polls waiting go on, a slice of them.
  private arm (): void {
    if (this.armed) return
    this.armed = true
    setImmediate(this.nextTurn)
  }

  private readonly nextTurn = (): void => {
    this.armed = false
    this.ran = 0
    const end = Math.min(this.head + this.size, this.waiting.length)
    while (this.head < end) {
      this.ran++
      this.waiting[this.head++]()
    }
    if (this.head === this.waiting.length) {
      this.waiting.length = 0
      this.head = 0
    } else this.arm()
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
