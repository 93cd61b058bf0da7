import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { ModelListStore, WorkBackend } from '../store'
import type { ModelListRequest } from '../schemas'
import type { StoreCapabilities } from '../capabilities'
import { bounded, StoreTimeoutError } from '../bounded'
import { checkId } from '../ids'
import { modelListKind, type WorkRecord } from '../lifecycle'
import { OutageLog } from '../outage-log'
import type { DaemonWork, PendingWork } from './declare'
import type { WorkKindStore } from './kind-store'

export interface ClaimPendingWork {
  /**
   * Claims for every kind in one call, probing all of them in one store round
   * trip; answers a key per kind that had work, or null. Never throws. Type it
   * with the kinds given to `work`: `app.claimPendingWork<typeof work>(runtimeId)`.
   */
  <Kinds extends readonly DaemonWork[] = []>(runtimeId: string, request?: FastifyRequest): Promise<PendingWork<Kinds> | null>
}

/** A kind as the heartbeat claims it: its answer key, its claim, and how a claim nobody heard about goes back. */
interface Lane {
  kind: string
  key: string
  claim: (runtimeId: string) => Promise<Claimed[]>
  answer: (claimed: Claimed[]) => unknown
  handBack: ((runtimeId: string, claimed: Claimed) => Promise<boolean>) | undefined
}
// What a lane's claim took: the model list's request, or another kind's records.
type Claimed = ModelListRequest | WorkRecord

type Probe = (runtimeId: string, kinds: readonly string[]) => Promise<boolean[]>

/**
 * The heartbeat's claim for every kind: one probe (one round trip whatever the
 * number of kinds; almost every heartbeat ends there), then a claim for each
 * kind that has work, side by side. A kind whose claim fails is left out and
 * logged; what the others claimed is still answered. Bounds as
 * claimPendingModelList, and as there, a claim that lands after its heartbeat
 * gave up is handed back where the store can.
 */
export function makeClaimPendingWork (
  store: ModelListStore,
  backend: WorkBackend | undefined,
  kinds: readonly WorkKindStore[],
  { handBack }: StoreCapabilities,
  log: FastifyBaseLogger,
  probeTimeoutMs: number,
  storeTimeoutMs: number,
  now: () => number
): ClaimPendingWork {
  const outage = new OutageLog('fastify-model-list: heartbeat claim failed', now)
  const lanes: Lane[] = [
    {
      kind: modelListKind,
      key: 'pending_model_list',
      claim: async runtimeId => await store.popPending(runtimeId).then(claimed => claimed === null ? [] : [claimed]),
      answer: ([claimed]) => ({ id: claimed.id }),
      handBack: handBack === undefined ? undefined : async (runtimeId, claimed) => await handBack(runtimeId, claimed as ModelListRequest)
    },
    ...kinds.map((kinds): Lane => ({
      kind: kinds.kind.name,
      key: `pending_${kinds.kind.name}`,
      claim: async runtimeId => await kinds.claimRecords(runtimeId),
      answer: claimed => kinds.kind.claimBatch > 1 ? kinds.pending(claimed as WorkRecord[]) : kinds.pending(claimed as WorkRecord[])[0],
      handBack: async (runtimeId, claimed) => await kinds.handBack(runtimeId, claimed as WorkRecord)
    }))
  ]
  const names = lanes.map(lane => lane.kind)
  // The memory store answers at once: no timer, no promise.
  const atOnce = backend as { probeNow?: (runtimeId: string, kinds: readonly string[]) => boolean[] } | undefined
  const probeNow = typeof atOnce?.probeNow === 'function' ? (runtimeId: string, kinds: readonly string[]) => (atOnce.probeNow as NonNullable<typeof atOnce.probeNow>)(runtimeId, kinds) : undefined
  // The Redis store has a cheaper probe for the heartbeat, which may say "maybe".
  const maybe = backend as { mayHavePending?: Probe } | undefined
  const mayHavePending = typeof maybe?.mayHavePending === 'function' ? maybe.mayHavePending.bind(backend) : undefined
  // A ModelListStore object serves the model list alone: its own probe.
  const probe: Probe = mayHavePending ?? (backend !== undefined
    ? async (runtimeId, kinds) => await backend.probe(runtimeId, kinds)
    : async runtimeId => [await store.hasPending(runtimeId)])

  async function claimPendingWork (runtimeId: string, request?: FastifyRequest): Promise<Record<string, unknown> | null> {
    const logger = request?.log ?? log
    let pending: boolean[]
    try {
      checkId('runtimeId', runtimeId)
      pending = probeNow !== undefined ? probeNow(runtimeId, names) : await bounded('probe', probeTimeoutMs, () => probe(runtimeId, names))
    } catch (error) {
      outage.failed(logger, 'probe', error, { runtimeId })
      return null
    }
    if (!pending.includes(true)) {
      if (outage.active) outage.recovered(logger)
      return null
    }
    const claims: Array<Promise<Claimed[]> | undefined> = lanes.map((lane, i) => pending[i] ? lane.claim(runtimeId) : undefined)
    let answer: Record<string, unknown> | null = null
    let failed = false
    const settled = await Promise.allSettled(claims.map(async claim => claim === undefined ? [] : await bounded('claim', storeTimeoutMs, async () => await claim)))
    settled.forEach((claim, i) => {
      const lane = lanes[i]
      if (claim.status === 'rejected') {
        failed = true
        outage.failed(logger, 'claim', claim.reason, { runtimeId, kind: lane.kind })
        if (claim.reason instanceof StoreTimeoutError && lane.handBack !== undefined) handBackLate(claims[i] as Promise<Claimed[]>, runtimeId, lane, logger)
      } else if (claim.value.length > 0) {
        (answer ??= {})[lane.key] = lane.answer(claim.value)
      }
    })
    if (!failed && outage.active) outage.recovered(logger)
    return answer
  }
  return claimPendingWork as ClaimPendingWork
}

/** Once a claim its heartbeat gave up on lands, hands back what it took, so the next heartbeat claims it again. */
function handBackLate (claim: Promise<Claimed[]>, runtimeId: string, lane: Lane, log: FastifyBaseLogger): void {
  const handBack = lane.handBack as NonNullable<Lane['handBack']>
  claim.then(async landed => {
    // Newest first: each goes back to the front of its queue, so a batch keeps its order.
    for (const claimed of [...landed].reverse()) {
      const handedBack = await handBack(runtimeId, claimed)
      log.warn({ runtimeId, kind: lane.kind, requestId: claimed.id, handedBack },
        handedBack
          ? 'fastify-model-list: a claim landed after its heartbeat gave up: handed back to the queue'
          : 'fastify-model-list: a claim landed after its heartbeat gave up and changed before it could be handed back')
    }
  }, () => {
    // The claim failed after all: nothing was taken, nothing to hand back.
  }).catch((error: unknown) => {
    log.error({ err: error, runtimeId, kind: lane.kind }, 'fastify-model-list: handing back a late claim failed; it ends as timeout')
  })
}
