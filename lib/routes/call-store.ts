import type { FastifyReply, FastifyRequest } from 'fastify'
import { bounded } from '../bounded'
import { RuntimeNotFoundError, RuntimeOfflineError, StoreUnavailableError } from '../errors'
import type { FastifyModelListOptions } from '../options'

// The daemon and the frontend retry a 503; tell them how soon.
function unavailable (reply: FastifyReply, error: Error): Error {
  reply.header('Retry-After', '1')
  return error
}

// A custom store's own refusal (a quota's 429, say) is the caller's to read, as a hook's is.
function isClientError (error: unknown): boolean {
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500
}

/**
 * A store call bounded by storeTimeoutMs (or `withinMs`: what a held poll has
 * left of it). A failure answers 503 with the store's error as `cause`: the
 * host's error handler sees it, and Fastify's log line carries it (one line
 * per failure; Redis messages stay in the log).
 */
/** What the routes need of the plugin's options. */
export interface RouteOptions {
  storeTimeoutMs: number
  getRuntime: FastifyModelListOptions['getRuntime']
  authorizeDaemon: FastifyModelListOptions['authorizeDaemon']
}

export async function callStore<T> (
  options: Pick<RouteOptions, 'storeTimeoutMs'>,
  reply: FastifyReply,
  operation: string,
  work: () => Promise<T>,
  withinMs = options.storeTimeoutMs
): Promise<T> {
  try {
    return await bounded(operation, withinMs, work)
  } catch (error) {
    if (isClientError(error)) throw error
    throw unavailable(reply, new StoreUnavailableError({ cause: error }))
  }
}

/** The host's lookup of the runtime; `requireOnline` adds the offline check. */
export async function findRuntime (
  options: Pick<RouteOptions, 'getRuntime'>,
  request: FastifyRequest,
  reply: FastifyReply,
  runtimeId: string,
  requireOnline: boolean
): Promise<void> {
  const runtime = await options.getRuntime(request, runtimeId)
  if (runtime === null || runtime === undefined) throw new RuntimeNotFoundError()
  if (requireOnline && runtime.online !== true) throw unavailable(reply, new RuntimeOfflineError())
}
