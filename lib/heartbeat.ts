import type { FastifyBaseLogger } from 'fastify'
import type { PendingModelList } from './schemas'
import { kHasPendingNow, type ModelListStore } from './store'
import { bounded } from './bounded'

type HasPendingNow = (runtimeId: string) => boolean

/**
 * The heartbeat's claim: a cheap probe first (almost every heartbeat ends there),
 * then the claim. It never throws: a store that fails or hangs costs the
 * heartbeat its bound and answers null; a claim abandoned so ends as `timeout`.
 */
export function makeClaimPendingModelList (
  store: ModelListStore,
  log: FastifyBaseLogger,
  probeTimeoutMs: number,
  storeTimeoutMs: number
): (runtimeId: string) => Promise<PendingModelList | null> {
  const hasPendingNow = (store as { [kHasPendingNow]?: HasPendingNow })[kHasPendingNow]?.bind(store)

  return async function claimPendingModelList (runtimeId) {
    try {
      const pending = hasPendingNow !== undefined
        ? hasPendingNow(runtimeId)
        : await bounded('hasPending', probeTimeoutMs, () => store.hasPending(runtimeId))
      if (!pending) return null
      // A spurious "true" is harmless: popPending answers null when the queue emptied meanwhile.
      const claimed = await bounded('popPending', storeTimeoutMs, () => store.popPending(runtimeId))
      return claimed === null ? null : { id: claimed.id }
    } catch (error) {
      log.error({ err: error, runtimeId }, 'fastify-model-list: heartbeat claim failed')
      return null
    }
  }
}
