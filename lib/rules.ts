import { InvalidOptionError, shown } from './errors'
import type { Outcome, WorkRecord, WorkStatus } from './store/contract'

// The rules of one kind of work, which every store applies: its timeouts and
// their words, and the transitions. They know nothing about models: the result
// a record carries is the kind's own JSON, opaque here. A store keeps state; it
// has no rules of its own (the Lua scripts get their numbers and words from here).

export interface RulesOptions {
  /** A request pending this long was never claimed: it becomes `timeout`. */
  pendingTimeoutMs?: number
  /** A request running this long was never reported: it becomes `timeout`. */
  runningTimeoutMs?: number
  /** A record is forgotten this long after its last change. */
  retentionMs?: number
}

export const defaultPendingTimeoutMs = 30_000
export const defaultRunningTimeoutMs = 60_000
export const defaultRetentionMs = 120_000
/** The first kind of work: the model list. */
export const modelListKind = 'model_list'
const maxDurationMs = 2 ** 31 - 1

/** An option's value, or its default when not given (null is given, and refused). */
export function given<T> (value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value
}

export function checkDuration (name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > maxDurationMs) {
    throw new InvalidOptionError(`${name} must be a positive integer of milliseconds up to ${maxDurationMs}, got ${shown(value)}`)
  }
  return value as number
}

export function checkFunction<T> (name: string, value: T): T {
  if (typeof value !== 'function') throw new InvalidOptionError(`${name} must be a function, got ${shown(value)}`)
  return value
}

// "30 seconds", "1.5 seconds", "1 second".
export function formatSeconds (ms: number): string {
  const seconds = ms / 1000
  return `${seconds} second${seconds === 1 ? '' : 's'}`
}

export function isLive (status: WorkStatus): boolean {
  return status === 'pending' || status === 'running'
}

export class WorkRules {
  /** The kind these rules are for. */
  readonly kind: string
  readonly pendingTimeoutMs: number
  readonly runningTimeoutMs: number
  readonly retentionMs: number
  readonly pendingTimeoutError: string
  readonly runningTimeoutError: string

  constructor (options: RulesOptions = {}, kind: string = modelListKind) {
    this.kind = kind
    // A declared kind's mistakes name the kind: `skill_import.retentionMs`.
    const field = (name: string): string => kind === modelListKind ? name : `${kind}.${name}`
    this.pendingTimeoutMs = checkDuration(field('pendingTimeoutMs'), given(options.pendingTimeoutMs, defaultPendingTimeoutMs))
    this.runningTimeoutMs = checkDuration(field('runningTimeoutMs'), given(options.runningTimeoutMs, defaultRunningTimeoutMs))
    this.retentionMs = checkDuration(field('retentionMs'), given(options.retentionMs, defaultRetentionMs))
    // Terminal records must outlive both timeouts, or the last poll finds nothing.
    if (this.retentionMs <= this.pendingTimeoutMs || this.retentionMs <= this.runningTimeoutMs) {
      throw new InvalidOptionError(`${field('retentionMs')} (${this.retentionMs}) must be greater than ${field('pendingTimeoutMs')} (${this.pendingTimeoutMs}) and ${field('runningTimeoutMs')} (${this.runningTimeoutMs})`)
    }
    this.pendingTimeoutError = `daemon did not respond within ${formatSeconds(this.pendingTimeoutMs)}`
    this.runningTimeoutError = `daemon did not finish within ${formatSeconds(this.runningTimeoutMs)}`
  }

  open (id: string, runtimeId: string, now: number, params?: string): WorkRecord {
    const record: WorkRecord = { id, runtimeId, kind: this.kind, status: 'pending', createdAt: now, updatedAt: now, deadline: now + this.pendingTimeoutMs }
    if (params !== undefined) record.params = params
    return record
  }

  /** Applies a due timeout; true when the record changed and must be stored. */
  expire (record: WorkRecord, now: number): boolean {
    if (!isLive(record.status) || now <= record.deadline) return false
    record.error = record.status === 'pending' ? this.pendingTimeoutError : this.runningTimeoutError
    record.status = 'timeout'
    record.updatedAt = now
    return true
  }

  /** Moves a claimable (pending, not yet expired) record to running. */
  claim (record: WorkRecord, now: number): void {
    record.status = 'running'
    record.updatedAt = now
    record.deadline = now + this.runningTimeoutMs
  }

  /** Whether a record is still the claim made at `claimedAt`: running, unchanged since. */
  isClaim (record: WorkRecord, claimedAt: number): boolean {
    return record.status === 'running' && record.updatedAt === claimedAt
  }

  /**
   * Hands a claim nobody heard about back: pending again, with the deadline it
   * had (its creation plus the pending timeout), so it is claimed again or
   * times out as never claimed.
   */
  handBack (record: WorkRecord, now: number): void {
    record.status = 'pending'
    record.updatedAt = now
    record.deadline = record.createdAt + this.pendingTimeoutMs
  }

  /**
   * Applies a report to a record read as of `now` (timeouts applied); true when
   * it landed. A late one changes nothing.
   */
  settle (record: WorkRecord, outcome: Outcome, now: number): boolean {
    if (!isLive(record.status)) return false
    record.status = outcome.status
    record.updatedAt = now
    if (outcome.status === 'completed') record.result = outcome.result
    else record.error = outcome.error
    return true
  }
}
