import type { FastifyBaseLogger } from 'fastify'
import type { WorkRules } from '../rules'

// The one store interface the plugin calls: kind-agnostic records, queues,
// claims and settles, kept per runtime and kind. A store has no wire shapes,
// dates or timeout rules of its own: each call brings the kind's rules
// (lib/rules.ts), and times are epoch milliseconds of the store's clock.
// The built-in stores implement it; so may a host (its contract suite is
// exported as `fastify-model-list/testing`).

export type WorkStatus = 'pending' | 'running' | 'completed' | 'failed' | 'timeout'

export interface WorkRecord {
  id: string
  runtimeId: string
  /** The kind of work (`model_list`, or a declared kind's name). */
  kind: string
  status: WorkStatus
  createdAt: number
  updatedAt: number
  /** A live record still live after this instant has timed out. */
  deadline: number
  /** What the request asks the daemon, as the kind's JSON; absent for a kind without params. */
  params?: string
  /** A completed request's result, as the kind's JSON. */
  result?: string
  error?: string
  /**
   * What this call changed, on an answered copy (never stored): the
   * diagnostics' lifecycle events are read from it. Optional: without it a
   * timeout is not told, and a report counts as landed when the record
   * answered has its status.
   */
  change?: RecordChange
}

/** What a call did to the record it answers. */
export interface RecordChange {
  /** This call applied the record's due timeout: the phase it timed out in. */
  timedOut?: 'pending' | 'running'
  /** `settle`: the report landed (false: the record was already terminal, it changed nothing). */
  settled?: boolean
  /** `settle` that landed on a running record: when it was claimed. */
  claimedAt?: number
}

export type Outcome =
  | { status: 'completed', result: string }
  | { status: 'failed', error: string }

/** What an accepted report does to the runtime's cached result (the model list's catalog). */
export type CatalogAction = 'store' | 'drop' | 'keep'

/** The runtime's cached result and when it was stored. */
export interface CachedResult {
  result: string
  storedAt: number
}

/** What a POST asks of the store, decided in one atomic step. */
export interface OpenRequest {
  /** The request's params as JSON; absent for a kind without params. */
  params?: string
  /** Join the oldest claimable pending request with equal params instead of queueing another. */
  coalesce: boolean
  /** Refuse while a request of this kind is pending or running for the runtime. */
  exclusive: boolean
  /** May answer from the runtime's cached result (the model list's catalog). */
  useCache: boolean
}

/**
 * What `open` did: a record made or joined, the cache answered, or (exclusive)
 * the id of the request in flight; `queued` when work was queued (a cache
 * answer's background refresh: optionally, that request as `refresh`).
 */
export type OpenedWork =
  | { record: WorkRecord, queued: boolean }
  | { cached: CachedResult, queued: boolean, refresh?: WorkRecord }
  | { busy: string }

export type QueuedListener = (runtimeId: string, kind: string) => void

export interface WorkStore {
  /** Queues a request (or joins one, or refuses, or answers from the cache) in one atomic step. */
  open(rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork>
  /** The record as of now (a due timeout applied and stored), or null: unknown, forgotten, another runtime's or kind's. */
  get(rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null>
  /** For each kind, whether the runtime has a claimable request: one round trip whatever the number of kinds. */
  probe(runtimeId: string, kinds: readonly string[]): Promise<boolean[]>
  /** Moves up to `max` of the oldest claimable requests to running and answers them; each to exactly one caller. */
  claim(rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]>
  /**
   * Applies a report to a live record; an accepted one applies `cache` to the
   * runtime's cached result in the same step, only if its request is at least
   * as new (creation order within the runtime) as the one that result (or its
   * drop) came from: newest discovery wins.
   */
  settle(rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null>
  /** Ends what the store made (timers, its own connections); never a client it was given. */
  close(): Promise<void>

  // Optional features, each a plain method, found once when the plugin starts
  // (lib/store/features.ts). Without one the plugin does without it.

  /**
   * Back to pending (in its old place) if still the claim made at `claimedAt`
   * (running, unchanged since); the record, or null. Without it, a claim its
   * heartbeat gave up on ends as `timeout`.
   */
  handBack?(rules: WorkRules, runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null>
  /**
   * `probe` answered at once, for a store in this process: the heartbeat arms
   * no timer. `undefined` when it cannot answer at once this time (the
   * heartbeat then awaits `mayHavePending` or `probe`).
   */
  probeNow?(runtimeId: string, kinds: readonly string[]): boolean[] | undefined
  /** A probe cheaper than `probe` that may answer true when nothing is claimable, never false when something is. */
  mayHavePending?(runtimeId: string, kinds: readonly string[]): Promise<boolean[]>
  /**
   * Held polls across replicas: `wake` is called once the request is settled,
   * on whichever replica. Resolves, with the way to stop, once such a wake-up
   * can be heard. Without it, polls wake for reports this process receives.
   * `wake` may be given the settled record, exactly as `get` would answer it
   * then (the plugin's held polls answer it without a read, and never change it);
   * without one they read.
   */
  watchSettled?(runtimeId: string, id: string, wake: (record?: WorkRecord) => void): Promise<() => void>
  /** Calls `listener(runtimeId, kind)` on every replica whenever work is queued; answers the way to stop. */
  onQueued?(listener: QueuedListener): () => void
  /** Resolves once signals from other replicas are heard (before, a hint sent elsewhere is lost). */
  listening?(): Promise<void>
  /** The store's clock (epoch ms), the one its deadlines are on; without it, this process's. */
  now?(): number
  /** The plugin's logger, for what the store meets and repairs on its own. */
  useLog?(log: FastifyBaseLogger): void
}
