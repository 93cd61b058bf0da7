import type { FastifyBaseLogger } from 'fastify'
import type { ModelListRequest } from './schemas'
import type { ModelListStore } from './store'

// What a store may offer beyond the ModelListStore methods. Each capability is
// a method under a registered symbol (so a store written against the README
// needs no import from this package), looked up once when the plugin starts.
// A store without one still works: the plugin does without that feature.

export const kHasPendingNow = Symbol.for('fastify-model-list.hasPendingNow')
export const kMayHavePending = Symbol.for('fastify-model-list.mayHavePending')
export const kOpen = Symbol.for('fastify-model-list.open')
export const kWatchSettled = Symbol.for('fastify-model-list.watchSettled')
export const kMsUntilDeadline = Symbol.for('fastify-model-list.msUntilDeadline')
export const kOnPendingWork = Symbol.for('fastify-model-list.onPendingWork')
export const kListening = Symbol.for('fastify-model-list.listening')
export const kUseLog = Symbol.for('fastify-model-list.useLog')
export const kHandBack = Symbol.for('fastify-model-list.handBack')
// The built-in stores' work store, which every other kind of work shares.
export const kWorkBackend = Symbol.for('fastify-model-list.workBackend')

export interface OpenOptions {
  /** Join the runtime's oldest claimable pending request instead of queueing another. */
  coalesce: boolean
  /** May answer from the runtime's catalog (false: `{ "force": true }`). */
  useCache: boolean
}

export interface Opened {
  /** A new or joined request, or a cache answer (`cached: true`, never stored). */
  request: ModelListRequest
  /** A request was queued for the daemon (a new one, or a cache answer's refresh). */
  queued: boolean
}

export interface StoreCapabilities {
  /** A synchronous hasPending: the heartbeat skips a timer and a promise. */
  hasPendingNow?: (runtimeId: string) => boolean
  /**
   * A probe cheaper than hasPending that may answer true when nothing is
   * claimable (the claim then answers null), never false when something is.
   */
  mayHavePending?: (runtimeId: string) => Promise<boolean>
  /** create that says whether it queued anything, and may answer from the catalog cache. */
  open?: (runtimeId: string, options: OpenOptions) => Promise<Opened>
  /**
   * Held polls: `wake` is called once the request is settled, on whichever
   * replica. Resolves once such a wake-up can be heard, with the way to stop.
   */
  watchSettled?: (runtimeId: string, requestId: string, wake: () => void) => Promise<() => void>
  /** How long a live request has left before it times out, by the store's clock. */
  msUntilDeadline?: (request: ModelListRequest) => number
  /** Calls `listener(runtimeId, kind)` on every replica whenever work is queued; answers the way to stop. */
  onPendingWork?: (listener: (runtimeId: string, kind: string) => void) => () => void
  /** Resolves once signals from other replicas are heard (before, a hint sent elsewhere is lost). */
  listening?: () => Promise<void>
  /** Gives the store the plugin's logger, for what it meets and repairs on its own. */
  useLog?: (log: FastifyBaseLogger) => void
  /**
   * Makes a claim its heartbeat gave up on claimable again, atomically and only
   * while it is still that claim (running, unchanged since); true when it did.
   */
  handBack?: (runtimeId: string, claim: ModelListRequest) => Promise<boolean>
}

type Method = (...args: any[]) => any

function method<T extends Method> (store: object, key: symbol): T | undefined {
  const found = (store as Record<symbol, unknown>)[key]
  return typeof found === 'function' ? (found as T).bind(store) as T : undefined
}

/** The store's optional capabilities, bound to it; asked once, at start-up. */
export function detectCapabilities (store: ModelListStore): StoreCapabilities {
  const watchSettled = method<NonNullable<StoreCapabilities['watchSettled']>>(store, kWatchSettled)
  const msUntilDeadline = method<NonNullable<StoreCapabilities['msUntilDeadline']>>(store, kMsUntilDeadline)
  const held = watchSettled !== undefined && msUntilDeadline !== undefined
  return {
    hasPendingNow: method(store, kHasPendingNow),
    mayHavePending: method(store, kMayHavePending),
    open: method(store, kOpen),
    // Holding a poll needs both: the wake-up and the deadline to stop at.
    watchSettled: held ? watchSettled : undefined,
    msUntilDeadline: held ? msUntilDeadline : undefined,
    onPendingWork: method(store, kOnPendingWork),
    listening: method(store, kListening),
    useLog: method(store, kUseLog),
    handBack: method(store, kHandBack)
  }
}
