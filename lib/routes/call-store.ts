import type { FastifyReply, FastifyRequest } from 'fastify'
import { bounded } from '../bounded'
import { RuntimeNotFoundError, RuntimeOfflineError, StoreUnavailableError } from '../errors'
import type { ResolvedOptions } from '../options'

// The daemon and the frontend retry a 503; tell them how soon.
function unavailable (reply: FastifyReply, error: Error): Error {
  reply.header('Retry-After', '1')
  return error
}

/** A store call bounded by storeTimeoutMs; any failure is logged and answers 503. */
export async function callStore<T> (
  options: ResolvedOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  operation: string,
  work: () => Promise<T>
): Promise<T> {
  try {
    return await bounded(operation, options.storeTimeoutMs, work)
  } catch (error) {
    // Redis messages and addresses stay in the log.
    request.log.error({ err: error }, `fastify-model-list: store ${operation} failed`)
    throw unavailable(reply, new StoreUnavailableError())
  }
}

/** The host's lookup of the runtime; `requireOnline` adds the offline check. */
export async function findRuntime (
  options: ResolvedOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  runtimeId: string,
  requireOnline: boolean
): Promise<void> {
  const runtime = await options.getRuntime(request, runtimeId)
  if (runtime === null || runtime === undefined) throw new RuntimeNotFoundError()
  if (requireOnline && runtime.online !== true) throw unavailable(reply, new RuntimeOfflineError())
}
