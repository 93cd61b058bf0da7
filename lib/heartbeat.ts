import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { PendingModelList } from './schemas'
import type { ModelListStore } from './store'
import type { StoreCapabilities } from './capabilities'
import { bounded } from './bounded'
import { OutageLog } from './outage-log'

export type ClaimPendingModelList = (runtimeId: string, request?: FastifyRequest) => Promise<PendingModelList | null>

/**
 * The heartbeat's claim: a cheap probe first (almost every heartbeat ends there),
 * then the claim. It never throws: a store that fails or hangs costs the
 * heartbeat its bound and answers null; a claim abandoned so ends as `timeout`.
 * Given the host's request, it logs on that request's logger (its id on the line).
 */
export function makeClaimPendingModelList (
  store: ModelListStore,
  { hasPendingNow }: StoreCapabilities,
  log: FastifyBaseLogger,
  probeTimeoutMs: number,
  storeTimeoutMs: number,
  now: () => number
): ClaimPendingModelList {
  const outage = new OutageLog('fastify-model-list: heartbeat claim failed', now)

  return async function claimPendingModelList (runtimeId, request) {
    let operation = 'hasPending'
    try {
      const pending = hasPendingNow !== undefined
        ? hasPendingNow(runtimeId)
        : await bounded(operation, probeTimeoutMs, () => store.hasPending(runtimeId))
      let claimed = null
      // A spurious "true" is harmless: popPending answers null when the queue emptied meanwhile.
      if (pending) {
        operation = 'popPending'
        claimed = await bounded(operation, storeTimeoutMs, () => store.popPending(runtimeId))
      }
      if (outage.active) outage.recovered(request?.log ?? log)
      return claimed === null ? null : { id: claimed.id }
    } catch (error) {
      outage.failed(request?.log ?? log, operation, error, { runtimeId })
      return null
    }
  }
}
