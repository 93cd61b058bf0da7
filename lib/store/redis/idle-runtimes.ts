import { InvalidOptionError, shown } from '../../errors'

// What one replica remembers of runtimes whose probe found nothing, so their
// next heartbeats send Redis nothing. It may only say "nothing" when that is
// still true: what it remembers is trusted only while the signal path (the
// subscriber, proven live by the canary) is, and forgotten for a runtime the
// moment work is signalled for it. A probe answer that may have raced a
// signal is not remembered: each probe takes a generation before it is sent,
// and its answer is kept only if no signal for that runtime (and no change of
// trust) came since. Bounded: the least recently used runtimes go first.

export interface IdleRuntimeCacheOptions {
  /** How many runtimes a replica remembers at most (least recently used go first). */
  maxRuntimes?: number
}

export const defaultMaxRuntimes = 1_000_000

/** The cache's bound, or null when it is off (`false`). */
export function resolveIdleRuntimeCache (option: unknown): { maxRuntimes: number } | null {
  if (option === false) return null
  if (option === undefined) return { maxRuntimes: defaultMaxRuntimes }
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new InvalidOptionError(`idleRuntimeCache must be an object ({ maxRuntimes }) or false, got ${shown(option)}`)
  }
  const unknown = Object.keys(option).filter(name => name !== 'maxRuntimes')
  if (unknown.length > 0) throw new InvalidOptionError(`idleRuntimeCache has no option ${unknown.join(', ')} (only maxRuntimes)`)
  const { maxRuntimes = defaultMaxRuntimes } = option as IdleRuntimeCacheOptions
  if (!Number.isSafeInteger(maxRuntimes) || maxRuntimes < 1) {
    throw new InvalidOptionError(`idleRuntimeCache.maxRuntimes must be a positive integer, got ${shown(maxRuntimes)}`)
  }
  return { maxRuntimes }
}

// Generations older than this many signals are not checked one by one: a
// probe that slow is simply not remembered.
const ringSize = 1024
// In the ring, a change of trust: every probe begun before it is void.
const everyRuntime = null
// Kinds get a bit each; a runtime's entry is the bits of the kinds known idle.
const maxKinds = 30

/** A probe sent while nothing is trusted: its answer is never remembered. */
export const untrusted = -1

// One remembered runtime, on a list from least to most recently used.
interface Entry {
  runtimeId: string
  bits: number
  older: Entry | null
  newer: Entry | null
}

export class IdleRuntimes {
  private readonly maxRuntimes: number
  // A hit relinks its entry as the newest: the map is only written when a
  // runtime is remembered or forgotten (a Map's delete and set per hit cost
  // the heartbeat more than the rest of its probe).
  private readonly idle = new Map<string, Entry>()
  private oldest: Entry | null = null
  private newest: Entry | null = null
  private readonly kindBits = new Map<string, number>()
  // The runtimes signalled (or a change of trust) at each of the last generations.
  private readonly ring: Array<string | null> = new Array<string | null>(ringSize).fill(everyRuntime)
  private generation = 0
  private trustedNow = false

  constructor ({ maxRuntimes }: { maxRuntimes: number }) {
    this.maxRuntimes = maxRuntimes
  }

  /** Whether what is remembered may be answered. */
  get trusted (): boolean {
    return this.trustedNow
  }

  get size (): number {
    return this.idle.size
  }

  /** The signal path is proven: probes sent from now on may be remembered. */
  trust (): void {
    if (this.trustedNow) return
    this.trustedNow = true
    this.mark(everyRuntime)
  }

  /** The signal path cannot be vouched for: forget everything, remember nothing until trusted again. */
  distrust (): void {
    this.trustedNow = false
    this.idle.clear()
    this.oldest = this.newest = null
    this.mark(everyRuntime)
  }

  /** Work became claimable for `runtimeId` (any kind): forget it, and void its probes in flight. */
  signal (runtimeId: string): void {
    const entry = this.idle.get(runtimeId)
    if (entry !== undefined) this.forget(entry)
    this.mark(runtimeId)
  }

  /** Whether every one of `kinds` is known idle for the runtime; a hit makes it the most recently used. */
  idleFor (runtimeId: string, kinds: readonly string[]): boolean {
    if (!this.trustedNow) return false
    const entry = this.idle.get(runtimeId)
    if (entry === undefined) return false
    const wanted = this.bits(kinds, false)
    if (wanted === 0 || (entry.bits & wanted) !== wanted) return false
    if (entry !== this.newest) {
      this.unlink(entry)
      this.append(entry)
    }
    return true
  }

  /** Taken before a probe is sent: what `remember` needs to know whether the answer may have raced a signal. */
  begin (): number {
    return this.trustedNow ? this.generation : untrusted
  }

  /** The probe begun at `generation` found nothing of `kinds` for the runtime: remember it, unless it may have raced. */
  remember (runtimeId: string, kinds: readonly string[], generation: number): void {
    if (generation === untrusted || !this.trustedNow || this.generation - generation >= ringSize) return
    for (let at = generation + 1; at <= this.generation; at++) {
      const signalled = this.ring[at % ringSize]
      if (signalled === everyRuntime || signalled === runtimeId) return
    }
    const wanted = this.bits(kinds, true)
    if (wanted === 0) return
    const known = this.idle.get(runtimeId)
    if (known !== undefined) {
      known.bits |= wanted
      this.unlink(known)
      this.append(known)
      return
    }
    const entry: Entry = { runtimeId, bits: wanted, older: null, newer: null }
    this.idle.set(runtimeId, entry)
    this.append(entry)
    // The least recently used goes first.
    if (this.idle.size > this.maxRuntimes) this.forget(this.oldest as Entry)
  }

  private forget (entry: Entry): void {
    this.idle.delete(entry.runtimeId)
    this.unlink(entry)
  }

  private unlink (entry: Entry): void {
    const { older, newer } = entry
    if (older === null) this.oldest = newer
    else older.newer = newer
    if (newer === null) this.newest = older
    else newer.older = older
    entry.older = entry.newer = null
  }

  private append (entry: Entry): void {
    entry.older = this.newest
    if (this.newest === null) this.oldest = entry
    else this.newest.newer = entry
    this.newest = entry
  }

  private mark (runtimeId: string | null): void {
    this.generation++
    this.ring[this.generation % ringSize] = runtimeId
  }

  // The kinds' bits; 0 when one has none (more kinds than bits: those are never remembered).
  private bits (kinds: readonly string[], assign: boolean): number {
    let bits = 0
    for (let i = 0; i < kinds.length; i++) {
      let bit = this.kindBits.get(kinds[i])
      if (bit === undefined) {
        if (!assign || this.kindBits.size >= maxKinds) return 0
        this.kindBits.set(kinds[i], bit = 1 << this.kindBits.size)
      }
      bits |= bit
    }
    return bits
  }
}
