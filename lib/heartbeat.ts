import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { bounded, StoreTimeoutError } from './bounded'
import { checkId } from './ids'
import { OutageLog } from './outage-log'
import { SlowHeartbeatLog } from './slow-heartbeat-log'
import { heartbeatChannel, type HeartbeatMessage } from './diagnostics'
import type { Face } from './kinds/face'
import type { DaemonWork, PendingWork } from './kinds/declare'
import type { PendingModelList } from './schemas'
import type { WorkRecord } from './store/contract'

export type ClaimPendingModelList = (runtimeId: string, request?: FastifyRequest) => Promise<PendingModelList | null>

export interface ClaimPendingWork {
  /**
   * Claims for every kind in one call, probing all of them in one store round
   * trip; answers a key per kind that had work, or null. Never throws. Type it
   * with the kinds given to `work`: `app.claimPendingWork<typeof work>(runtimeId)`.
   */
  <Kinds extends readonly DaemonWork[] = []>(runtimeId: string, request?: FastifyRequest): Promise<PendingWork<Kinds> | null>
}

type Answer = Record<string, unknown>

export interface HeartbeatOptions {
  log: FastifyBaseLogger
  /** Answer this key's value alone (`claimPendingModelList`), or null. */
  only?: string
  probeTimeoutMs: number
  storeTimeoutMs: number
  /** The clock of the outage log's intervals. */
  now: () => number
  /** The clock a call's phases are timed with (ms; differences only). */
  timer: () => number
  /** A call slower than this logs one warning with its phases (rate-limited). */
  slowHeartbeatMs: number
}

/**
 * The heartbeat's claim for the kinds given: one probe (one round trip
 * whatever the number of kinds; almost every heartbeat ends there), then
 * a claim for each kind that has work, side by side. It never throws: a store
 * that fails or hangs costs the heartbeat its bound and answers null. A kind
 * whose claim fails is left out and logged; what the others claimed is still
 * answered. A claim that lands after its heartbeat gave up is handed back
 * where the store can; elsewhere it ends as `timeout`. Given the host's
 * request, it logs on that request's logger (its id on the line).
 */
export function makeHeartbeat (kinds: readonly Face[], { log, only, probeTimeoutMs, storeTimeoutMs, now, timer, slowHeartbeatMs }: HeartbeatOptions): (runtimeId: string, request?: FastifyRequest) => Promise<unknown> {
  const outage = new OutageLog('fastify-model-list: heartbeat claim failed', now)
  const slowLog = new SlowHeartbeatLog(slowHeartbeatMs, now)

  /**
   * One call's timings, on the heartbeat channel and, when slow, in the log;
   * nothing is built unless one of them takes it.
   */
  function timed (logger: FastifyBaseLogger, runtimeId: string, started: number, probed: number, ended: number, claims?: Array<PromiseSettledResult<WorkRecord[]>>, error?: unknown): void {
    const durationMs = ended - started
    const slow = durationMs > slowHeartbeatMs
    if (!slow && !heartbeatChannel.hasSubscribers) return
    const claimed: Record<string, number> = {}
    claims?.forEach((claim, i) => {
      if (claim.status === 'fulfilled' && claim.value.length > 0) claimed[kinds[i].kind.name] = claim.value.length
      else if (claim.status === 'rejected') error ??= claim.reason
    })
    const message: HeartbeatMessage = { runtimeId, durationMs, probeMs: probed - started, claimMs: ended - probed, claimed }
    if (error !== undefined) message.error = error
    if (heartbeatChannel.hasSubscribers) heartbeatChannel.publish(message)
    if (slow) slowLog.slow(logger, message)
  }

  // Every kind lives in one store: one probe for all of them.
  const { engine } = kinds[0]
  const names = kinds.map(face => face.kind.name)
  const { probeNow, mayHavePending } = engine

  return async function heartbeat (runtimeId, request) {
    const logger = request?.log ?? log
    const started = timer()
    let pending: boolean[] | undefined
    try {
      checkId('runtimeId', runtimeId)
      pending = probeNow?.(runtimeId, names) ?? await bounded('probe', probeTimeoutMs, async () => await mayHavePending(runtimeId, names))
    } catch (error) {
      outage.failed(logger, 'probe', error, { runtimeId })
      const failedAt = timer()
      timed(logger, runtimeId, started, failedAt, failedAt, undefined, error)
      return null
    }
    const probed = timer()
    if (!pending.includes(true)) {
      if (outage.active) outage.recovered(logger)
      timed(logger, runtimeId, started, probed, probed)
      return null
    }
    // A spurious "maybe" is harmless: the claim answers nothing when the queue emptied meanwhile.
    const claims = kinds.map((face, i) => pending[i] ? face.claim(runtimeId) : undefined)
    const settled = await Promise.allSettled(claims.map(async claim => claim === undefined ? [] : await bounded('claim', storeTimeoutMs, async () => await claim)))
    let answer: Answer | null = null
    let failed = false
    settled.forEach((claim, i) => {
      const face = kinds[i]
      if (claim.status === 'rejected') {
        failed = true
        outage.failed(logger, 'claim', claim.reason, { runtimeId, kind: face.kind.name })
        if (claim.reason instanceof StoreTimeoutError && face.engine.handBack !== undefined) handBackLate(claims[i] as Promise<WorkRecord[]>, runtimeId, face, logger)
      } else if (claim.value.length > 0) {
        (answer ??= {})[face.kind.key] = face.kind.pending(claim.value)
      }
    })
    if (!failed && outage.active) outage.recovered(logger)
    timed(logger, runtimeId, started, probed, timer(), settled)
    return only === undefined ? answer : (answer as Answer | null)?.[only] ?? null
  }
}

/** Once a claim its heartbeat gave up on lands, hands back what it took, so the next heartbeat claims it again. */
function handBackLate (claim: Promise<WorkRecord[]>, runtimeId: string, face: Face, log: FastifyBaseLogger): void {
  const kind = face.kind.name
  claim.then(async landed => {
    // Newest first: each goes back to the front of its queue, so a batch keeps its order.
    for (const claimed of [...landed].reverse()) {
      const handedBack = await face.handBack(runtimeId, claimed)
      log.warn({ runtimeId, kind, requestId: claimed.id, handedBack },
        handedBack
          ? 'fastify-model-list: a claim landed after its heartbeat gave up: handed back to the queue'
          : 'fastify-model-list: a claim landed after its heartbeat gave up and changed before it could be handed back')
    }
  }, () => {
    // The claim failed after all: nothing was taken, nothing to hand back.
  }).catch((error: unknown) => {
    log.error({ err: error, runtimeId, kind }, 'fastify-model-list: handing back a late claim failed; it ends as timeout')
  })
}
