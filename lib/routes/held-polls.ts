import type { FastifyBaseLogger } from 'fastify'
import type { WorkRecord } from '../store/contract'
import type { Face } from '../kinds/face'
import { bounded } from '../bounded'
import { isLive } from '../rules'

/**
 * One poll's share of storeTimeoutMs: the watch and every read draw on it, so
 * the poll never waits on the store longer than that in total (sleeps are free).
 */
class StoreBudget {
  constructor (private left: number) {}

  async spend<T> (work: (withinMs: number) => Promise<T>): Promise<T> {
    const started = Date.now()
    try {
      return await work(Math.max(this.left, 0))
    } finally {
      this.left -= Date.now() - started
    }
  }
}

/**
 * One held poll's sleep: ends at its timer or at a wake-up. A wake-up that
 * comes while the poll is reading is kept, so the next sleep ends at once.
 */
class Sleeper {
  private woken = false
  private end: (() => void) | undefined

  readonly wake = (): void => {
    this.woken = true
    this.end?.()
  }

  async sleep (ms: number): Promise<void> {
    if (!this.woken) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(() => this.end?.(), ms)
        this.end = () => {
          clearTimeout(timer)
          this.end = undefined
          resolve()
        }
      })
    }
    this.woken = false
  }
}

/**
 * Every poll held by one plugin instance. A held poll sends nothing to the
 * store while it sleeps: the store's signal (or its own timer) wakes it to
 * read once more. Closing answers them all at once with what they last read.
 */
export class HeldPolls {
  private readonly sleepers = new Set<Sleeper>()
  private closing = false

  constructor (private readonly storeTimeoutMs: number) {}

  /** Holds a poll of one of `face`'s requests until it is terminal, its own deadline passes, or `waitMs` pass. */
  async hold ({ face, runtimeId, requestId, waitMs, read, log }: {
    face: Face
    runtimeId: string
    requestId: string
    waitMs: number
    /** One read of the request, bounded by `withinMs`. */
    read: (withinMs: number) => Promise<WorkRecord | null>
    log: FastifyBaseLogger
  }): Promise<WorkRecord | null> {
    const until = Date.now() + waitMs
    const { watchSettled } = face.engine
    const sleeper = new Sleeper()
    const budget = new StoreBudget(this.storeTimeoutMs)
    this.sleepers.add(sleeper)
    let unwatch: (() => void) | undefined
    let finished = false
    // Watching starts before the first read, so a report landing in between still wakes us.
    const watching = watchSettled(runtimeId, requestId, sleeper.wake).then(
      stop => { if (finished) stop(); else unwatch = stop },
      (error: unknown) => { log.warn({ err: error }, 'fastify-model-list: cannot hold the poll, answering at once') }
    )
    try {
      // A watch that hangs spends the budget: the read then answers 503 at once.
      await budget.spend(async ms => await bounded('watch', ms, async () => await watching).catch((error: unknown) => {
        log.warn({ err: error }, 'fastify-model-list: cannot hold the poll, answering at once')
      }))
      let current = await budget.spend(read)
      while (current !== null && isLive(current.status) && unwatch !== undefined && !this.closing) {
        // Past its deadline the request reads as `timeout`: wake just after it.
        const ms = Math.min(until - Date.now(), face.msUntilDeadline(current) + 1)
        if (ms <= 0) break
        await sleeper.sleep(ms)
        if (this.closing) break
        current = await budget.spend(read)
      }
      return current
    } finally {
      finished = true
      unwatch?.()
      this.sleepers.delete(sleeper)
    }
  }

  /** Answers every held poll now, and any held later at once. */
  close (): void {
    this.closing = true
    for (const sleeper of this.sleepers) sleeper.wake()
  }
}
