import type { FastifyBaseLogger } from 'fastify'
import type { StoreCapabilities } from './capabilities'
import { bounded } from './bounded'

/**
 * The wake-up hint. A store that carries it (the built-in ones) calls it on
 * every replica whenever work is queued (with its kind); otherwise the replica that queued
 * calls it itself. Best effort: a hint that throws or rejects is logged.
 * Answers what a route calls after it queued work, what the app waits for
 * before it is ready (other replicas' hints heard, within `readyWithinMs`),
 * and how to stop listening.
 */
export function wireHints (
  notify: ((runtimeId: string, kind: string) => unknown) | undefined,
  { onPendingWork, listening }: StoreCapabilities,
  log: FastifyBaseLogger,
  readyWithinMs: number
): { afterQueued: (runtimeId: string, kind: string) => void, ready: () => Promise<void>, close: () => void } {
  const nothing = (): void => {}
  const ready = async (): Promise<void> => {}
  if (notify === undefined) return { afterQueued: nothing, ready, close: nothing }
  const hint = (runtimeId: string, kind: string): void => {
    const failed = (error: unknown): void => { log.warn({ err: error, runtimeId, kind }, 'fastify-model-list: notifyPendingWork failed') }
    try {
      const result = notify(runtimeId, kind)
      if (typeof (result as Promise<unknown> | undefined)?.then === 'function') (result as Promise<unknown>).then(undefined, failed)
    } catch (error) {
      failed(error)
    }
  }
  if (onPendingWork === undefined) return { afterQueued: hint, ready, close: nothing }
  const close = onPendingWork(hint)
  if (listening === undefined) return { afterQueued: nothing, ready, close }
  return {
    afterQueued: nothing,
    // A store that cannot listen yet (Redis down) does not hold the start-up: it keeps trying.
    ready: async () => {
      await bounded('listen', readyWithinMs, listening).catch((error: unknown) => {
        log.warn({ err: error }, 'fastify-model-list: hints from other replicas are not heard yet')
      })
    },
    close
  }
}
