import type { FastifyBaseLogger } from 'fastify'
import type { Engine } from './store/features'
import { bounded } from './bounded'

/**
 * The wake-up hint: called on every replica whenever work is queued (with its
 * kind), as the stores' signals carry it; a store without signals of its own
 * is heard in this process. Best effort: a hint that throws or rejects is
 * logged. Answers what the app waits for before it is ready (other replicas'
 * hints heard, within `readyWithinMs`), and how to stop listening.
 */
export function wireHints (
  notify: ((runtimeId: string, kind: string) => unknown) | undefined,
  engine: Engine,
  log: FastifyBaseLogger,
  readyWithinMs: number
): { ready: () => Promise<void>, close: () => void } {
  if (notify === undefined) return { ready: async () => {}, close: () => {} }
  const hint = (runtimeId: string, kind: string): void => {
    const failed = (error: unknown): void => { log.warn({ err: error, runtimeId, kind }, 'fastify-model-list: notifyPendingWork failed') }
    try {
      const result = notify(runtimeId, kind)
      if (typeof (result as Promise<unknown> | undefined)?.then === 'function') (result as Promise<unknown>).then(undefined, failed)
    } catch (error) {
      failed(error)
    }
  }
  const stop = engine.onQueued(hint)
  // In the background: a subscriber that cannot connect yet keeps trying, and
  // a hint missed meanwhile costs only latency (the next heartbeat claims).
  engine.listening().catch(() => {})
  return {
    // A store that cannot listen yet (Redis down) does not hold the start-up: it keeps trying.
    ready: async () => {
      await bounded('listen', readyWithinMs, engine.listening).catch((error: unknown) => {
        log.warn({ err: error }, 'fastify-model-list: hints from other replicas are not heard yet')
      })
    },
    close: stop
  }
}
