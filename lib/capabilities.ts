import type { FastifyBaseLogger } from 'fastify'
import type { ModelListRequest } from './schemas'
import type { ModelListStore } from './store'

// What a store may offer beyond the ModelListStore methods. Each capability is
// a method under a registered symbol (so a store written against the README
// needs no import from this package), looked up once when the plugin starts.
// A store without one still works: the plugin does without that feature.

export const kHasPendingNow = Symbol.for('fastify-model-list.hasPendingNow')
export const kUseLog = Symbol.for('fastify-model-list.useLog')
export const kHandBack = Symbol.for('fastify-model-list.handBack')

export interface StoreCapabilities {
  /** A synchronous hasPending: the heartbeat skips a timer and a promise. */
  hasPendingNow?: (runtimeId: string) => boolean
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
  return {
    hasPendingNow: method(store, kHasPendingNow),
    useLog: method(store, kUseLog),
    handBack: method(store, kHandBack)
  }
}
