import type { FastifyBaseLogger } from 'fastify'
import type { WorkRecord } from '../store/contract'
import type { Face } from '../kinds/face'
import { bounded } from '../bounded'
import { isLive } from '../rules'
import { LoopLag, Pacer, Slice } from './event-loop'

/** How many held polls of one request go on in one turn of the event loop; the rest wait for the next turn. */
const defaultSliceSize = 32
/** How often the event loop's lateness is sampled while a poll waits on a read. */
const lagProbeMs = 20

/**
 * One poll's share of storeTimeoutMs: the watch and every read draw on it, so
 * the poll never waits on the store longer than that in total. Sleeps are
 * free, and so is waiting for the event loop: a read is charged from when the
 * poll asked until the store's answer came (not until the poll had its turn
 * to read it), less what the loop was late meanwhile (an answer that came
 * while the loop was busy waited for the loop, not for the store).
 */
class StoreBudget {
  constructor (private left: number) {}

  get ms (): number {
    return Math.max(this.left, 0)
  }

  charge (ms: number): void {
    this.left -= Math.max(ms, 0)
  }
}

/** One store read shared by the polls of one request that asked for it while it was on its way. */
interface SharedRead {
  /** When it started, in the order of wake-ups and reads ({@link HeldPolls.mark}). */
  readonly mark: number
  /** The record, when the store answered (Date.now() in the answer's first callback), and the loop's lateness then. */
  readonly answer: Promise<{ record: WorkRecord | null, at: number, late: number }>
}

/** The polls held on one request of one kind, their latest read, and their share of each turn of the event loop. */
interface Request {
  polls: number
  latest?: SharedRead
  readonly slice: Slice
}

/**
 * One held poll's sleep: ends at its timer or at a wake-up, on its turn (a
 * signal may wake thousands at once). A wake-up that comes while the poll is
 * reading is kept, so the next sleep ends at once. `since` is when it was
 * last woken: the next read must start after it. A wake-up may carry the
 * settled record (the store's signal did): the poll answers it, no read.
 */
class Sleeper {
  private woken = false
  private end: (() => void) | undefined
  since = 0
  /** The settled record a wake-up carried, until the poll takes it. */
  carried: WorkRecord | undefined

  constructor (private readonly mark: () => number, private readonly go: (next: () => void) => void) {}

  readonly wake = (record?: WorkRecord): void => {
    this.since = this.mark()
    if (record !== undefined) this.carried = record
    this.woken = true
    this.go(this.ends)
  }

  async sleep (ms: number): Promise<void> {
    if (!this.woken) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(() => {
          this.since = this.mark()
          this.go(this.ends)
        }, ms)
        this.end = () => {
          clearTimeout(timer)
          this.end = undefined
          resolve()
        }
      })
    }
    this.woken = false
  }

  private readonly ends = (): void => { this.end?.() }
}

/**
 * Every poll held by one plugin instance. A held poll sends nothing to the
 * store while it sleeps: the store's signal (or its own timer) wakes it to
 * read once more. The polls of one request woken by one signal share one
 * read (one that started after the signal: an older one may predate the
 * report), and go on a slice at a time. Closing answers them all at once with
 * what they last read.
 */
export class HeldPolls {
  private readonly sleepers = new Set<Sleeper>()
  private readonly requests = new Map<string, Request>()
  private readonly pacer: Pacer
  private readonly lag = new LoopLag(lagProbeMs)
  private closing = false
  private marks = 0

  constructor (private readonly storeTimeoutMs: number, sliceSize = defaultSliceSize) {
    this.pacer = new Pacer(sliceSize)
  }

  /** Holds a poll of one of `face`'s requests until it is terminal, its own deadline passes, or `waitMs` pass. */
  async hold ({ face, runtimeId, requestId, waitMs, read, log }: {
    face: Face
    runtimeId: string
    requestId: string
    waitMs: number
    /** One read of the request through `get`, bounded by `withinMs`. */
    read: <T>(withinMs: number, get: () => Promise<T>) => Promise<T>
    log: FastifyBaseLogger
  }): Promise<WorkRecord | null> {
    const until = Date.now() + waitMs
    const { watchSettled } = face.engine
    const budget = new StoreBudget(this.storeTimeoutMs)
    const key = `${face.kind.key} ${runtimeId} ${requestId}`
    const request = this.join(key)
    const sleeper = new Sleeper(this.mark, next => { this.pacer.go(request.slice, next) })
    this.sleepers.add(sleeper)
    let unwatch: (() => void) | undefined
    let finished = false
    // Watching starts before the first read, so a report landing in between still wakes us.
    const watchStarted = Date.now()
    let watchEnded = watchStarted
    const watching = watchSettled(runtimeId, requestId, sleeper.wake).then(
      stop => { watchEnded = Date.now(); if (finished) stop(); else unwatch = stop },
      (error: unknown) => { log.warn({ err: error }, 'fastify-model-list: cannot hold the poll, answering at once') }
    )
    const readOnce = async (): Promise<WorkRecord | null> => {
      const { carried } = sleeper
      // Settled: what the signal carried is what a read would answer now, and
      // for good. Its wake-up was its turn: no read to pace, no second turn.
      if (carried !== undefined) return carried
      const since = sleeper.since
      this.lag.start()
      const asked = Date.now()
      const lateAsked = this.lag.now()
      try {
        const { record, at, late } = await read(budget.ms, async () => await this.share(request, since, face, runtimeId, requestId).answer)
        // An answer there before the poll asked cost it nothing.
        if (at > asked) budget.charge(at - asked - (late - lateAsked))
        return record
      } finally {
        this.lag.stop()
        await this.pacer.turn(request.slice)
      }
    }
    try {
      // A watch that hangs spends the budget: the read then answers 503 at once.
      await bounded('watch', budget.ms, async () => await watching).catch((error: unknown) => {
        watchEnded = Date.now()
        log.warn({ err: error }, 'fastify-model-list: cannot hold the poll, answering at once')
      })
      budget.charge(watchEnded - watchStarted)
      sleeper.since = this.mark()
      let current = await readOnce()
      while (current !== null && isLive(current.status) && unwatch !== undefined && !this.closing) {
        // Past its deadline the request reads as `timeout`: wake just after it.
        const ms = Math.min(until - Date.now(), face.msUntilDeadline(current) + 1)
        if (ms <= 0) break
        await sleeper.sleep(ms)
        if (this.closing) break
        current = await readOnce()
      }
      return current
    } finally {
      finished = true
      unwatch?.()
      this.sleepers.delete(sleeper)
      this.leave(key, request)
    }
  }

  /** Answers every held poll now, and any held later at once. */
  close (): void {
    this.closing = true
    for (const sleeper of this.sleepers) sleeper.wake()
  }

  /** A read of the request that started after `since`: the latest one if it did, else a new one. */
  private share (request: Request, since: number, face: Face, runtimeId: string, requestId: string): SharedRead {
    const { latest } = request
    if (latest !== undefined && latest.mark > since) return latest
    const started: SharedRead = {
      mark: this.mark(),
      answer: face.get(runtimeId, requestId).then(record => ({ record, at: Date.now(), late: this.lag.now() }))
    }
    request.latest = started
    // A failed read is not shared with the polls that ask after it failed.
    started.answer.catch(() => { if (request.latest === started) request.latest = undefined })
    return started
  }

  /** A number larger than every one before it: orders wake-ups and the reads they may share. */
  private readonly mark = (): number => ++this.marks

  private join (key: string): Request {
    let request = this.requests.get(key)
    if (request === undefined) this.requests.set(key, request = { polls: 0, slice: new Slice() })
    request.polls++
    return request
  }

  private leave (key: string, request: Request): void {
    if (--request.polls === 0) this.requests.delete(key)
  }
}
