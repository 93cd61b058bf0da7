import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { ModelListStore, WorkBackend } from '../store'
import { bounded } from '../bounded'
import { checkId } from '../ids'
import { modelListKind } from '../lifecycle'
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

/** A kind as the heartbeat claims it: its answer key and its claim. */
interface Lane {
  kind: string
  key: string
  claim: (runtimeId: string) => Promise<unknown>
}

type Probe = (runtimeId: string, kinds: readonly string[]) => Promise<boolean[]>

/**
 * The heartbeat's claim for every kind: one probe (one round trip whatever the
 * number of kinds; almost every heartbeat ends there), then a claim for each
 * kind that has work, side by side. A kind whose claim fails is left out and
 * logged; what the others claimed is still answered. Bounds as claimPendingModelList.
 */
export function makeClaimPendingWork (
  store: ModelListStore,
  backend: WorkBackend | undefined,
  kinds: readonly WorkKindStore[],
  log: FastifyBaseLogger,
  probeTimeoutMs: number,
  storeTimeoutMs: number,
  now: () => number
): ClaimPendingWork {
  const outage = new OutageLog('fastify-model-list: heartbeat claim failed', now)
  const lanes: Lane[] = [
    { kind: modelListKind, key: 'pending_model_list', claim: async runtimeId => await store.popPending(runtimeId).then(claimed => claimed === null ? null : { id: claimed.id }) },
    ...kinds.map(kinds => ({
      kind: kinds.kind.name,
      key: `pending_${kinds.kind.name}`,
      claim: async (runtimeId: string) => await kinds.claim(runtimeId).then(claimed => {
        if (claimed.length === 0) return null
        return kinds.kind.claimBatch > 1 ? claimed : claimed[0]
      })
    }))
  ]
  const names = lanes.map(lane => lane.kind)
  // The memory store answers at once: no timer, no promise.
  const atOnce = backend as { probeNow?: (runtimeId: string, kinds: readonly string[]) => boolean[] } | undefined
  const probeNow = typeof atOnce?.probeNow === 'function' ? (runtimeId: string, kinds: readonly string[]) => (atOnce.probeNow as NonNullable<typeof atOnce.probeNow>)(runtimeId, kinds) : undefined
  // A ModelListStore object serves the model list alone: its own probe.
  const probe: Probe = backend !== undefined
    ? async (runtimeId, kinds) => await backend.probe(runtimeId, kinds)
    : async runtimeId => [await store.hasPending(runtimeId)]

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
    const claims = lanes.map(async (lane, i) => pending[i] ? await bounded('claim', storeTimeoutMs, () => lane.claim(runtimeId)) : null)
    let answer: Record<string, unknown> | null = null
    let failed = false
    const settled = await Promise.allSettled(claims)
    settled.forEach((claim, i) => {
      if (claim.status === 'rejected') {
        failed = true
        outage.failed(logger, 'claim', claim.reason, { runtimeId, kind: lanes[i].kind })
      } else if (claim.value !== null) {
        (answer ??= {})[lanes[i].key] = claim.value
      }
    })
    if (!failed && outage.active) outage.recovered(logger)
    return answer
  }
  return claimPendingWork as ClaimPendingWork
}
