import type { FastifyBaseLogger } from 'fastify'
import type { StoreCapabilities } from './capabilities'

/**
 * The wake-up hint. A store that carries it (the built-in ones) calls it on
 * every replica whenever work is queued; otherwise the replica that queued
 * calls it itself. Best effort: a hint that throws or rejects is logged.
 * Answers what a route calls after it queued work, and how to stop listening.
 */
export function wireHints (
  notify: ((runtimeId: string) => unknown) | undefined,
  { onPendingWork }: StoreCapabilities,
  log: FastifyBaseLogger
): { afterQueued: (runtimeId: string) => void, close: () => void } {
  const nothing = (): void => {}
  if (notify === undefined) return { afterQueued: nothing, close: nothing }
  const hint = (runtimeId: string): void => {
    const failed = (error: unknown): void => { log.warn({ err: error, runtimeId }, 'fastify-model-list: notifyPendingWork failed') }
    try {
      const result = notify(runtimeId)
      if (typeof (result as Promise<unknown> | undefined)?.then === 'function') (result as Promise<unknown>).then(undefined, failed)
    } catch (error) {
      failed(error)
    }
  }
  if (onPendingWork === undefined) return { afterQueued: hint, close: nothing }
  return { afterQueued: nothing, close: onPendingWork(hint) }
}
