import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { ModelListRequest, PendingModelList } from './schemas'
import type { ModelListStore } from './store'
import type { StoreCapabilities } from './capabilities'
import { bounded, StoreTimeoutError } from './bounded'
import { OutageLog } from './outage-log'

export type ClaimPendingModelList = (runtimeId: string, request?: FastifyRequest) => Promise<PendingModelList | null>

/**
 * The heartbeat's claim: a cheap probe first (almost every heartbeat ends there),
 * then the claim. It never throws: a store that fails or hangs costs the
 * heartbeat its bound and answers null. A claim that lands after its heartbeat
 * gave up is handed back (claimable again) where the store can; elsewhere it
 * ends as `timeout`.
 * Given the host's request, it logs on that request's logger (its id on the line).
 */
export function makeClaimPendingModelList (
  store: ModelListStore,
  { hasPendingNow, mayHavePending, handBack }: StoreCapabilities,
  log: FastifyBaseLogger,
  probeTimeoutMs: number,
  storeTimeoutMs: number,
  now: () => number
): ClaimPendingModelList {
  const outage = new OutageLog('fastify-model-list: heartbeat claim failed', now)
  // The cheapest probe the store has: a spurious true only costs the claim below.
  const probe = mayHavePending ?? ((runtimeId: string) => store.hasPending(runtimeId))

  return async function claimPendingModelList (runtimeId, request) {
    const requestLog = request?.log ?? log
    let operation = 'hasPending'
    let claim: Promise<ModelListRequest | null> | undefined
    try {
      const pending = hasPendingNow !== undefined
        ? hasPendingNow(runtimeId)
        : await bounded(operation, probeTimeoutMs, () => probe(runtimeId))
      let claimed = null
      // A spurious "true" is harmless: popPending answers null when the queue emptied meanwhile.
      if (pending) {
        operation = 'popPending'
        claimed = await bounded(operation, storeTimeoutMs, () => (claim = store.popPending(runtimeId)))
      }
      if (outage.active) outage.recovered(requestLog)
      return claimed === null ? null : { id: claimed.id }
    } catch (error) {
      outage.failed(requestLog, operation, error, { runtimeId })
      if (error instanceof StoreTimeoutError && claim !== undefined && handBack !== undefined) {
        handBackLate(claim, runtimeId, handBack, requestLog)
      }
      return null
    }
  }
}

/** Once an abandoned claim lands, hands it back, so the next heartbeat claims it again. */
function handBackLate (
  claim: Promise<ModelListRequest | null>,
  runtimeId: string,
  handBack: NonNullable<StoreCapabilities['handBack']>,
  log: FastifyBaseLogger
): void {
  claim.then(async landed => {
    if (landed === null) return
    const handedBack = await handBack(runtimeId, landed)
    log.warn({ runtimeId, requestId: landed.id, handedBack },
      handedBack
        ? 'fastify-model-list: a claim landed after its heartbeat gave up: handed back to the queue'
        : 'fastify-model-list: a claim landed after its heartbeat gave up and changed before it could be handed back')
  }, () => {
    // The claim failed after all: nothing was taken, nothing to hand back.
  }).catch((error: unknown) => {
    log.error({ err: error, runtimeId }, 'fastify-model-list: handing back a late claim failed; it ends as timeout')
  })
}
