import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ModelListStore } from './store'
import { checkDuration, checkFunction, given, type LifecycleOptions } from './lifecycle'
import { InvalidOptionError } from './errors'
import { MemoryModelListStore } from './stores/memory'
import { checkKeyPrefix, RedisModelListStore } from './stores/redis'
import type { RedisClient } from './stores/redis-client'

/** What the host's `getRuntime` tells about a runtime its caller may see. */
export interface RuntimeInfo {
  online: boolean
}

export interface FastifyModelListOptions extends LifecycleOptions {
  /** `'memory'`, `'redis'`, or a store object; default `'redis'` when `redis` is given, else `'memory'`. */
  store?: 'memory' | 'redis' | ModelListStore
  /** With store `'redis'`; defaults to `app.redis` (from `@fastify/redis`). */
  redis?: RedisClient
  /** Redis key namespace; no `{` or `}`. */
  keyPrefix?: string
  /** How long the heartbeat waits for `hasPending` before answering "nothing". */
  heartbeatProbeTimeoutMs?: number
  /** A store call taking longer answers 503 (routes) or null (heartbeat). */
  storeTimeoutMs?: number
  /** A runtime as the caller of a frontend route sees it; null answers 404. */
  getRuntime: (request: FastifyRequest, runtimeId: string) => Promise<RuntimeInfo | null> | RuntimeInfo | null
  /** May the caller of the daemon route report for this runtime; false answers 404. */
  authorizeDaemon: (request: FastifyRequest, runtimeId: string) => Promise<boolean> | boolean
  /** A POST for a runtime with a claimable pending request joins it. */
  coalesce?: boolean
  /** Fastify's own register option: where the routes mount. */
  prefix?: string
}

export interface ResolvedOptions {
  store: ModelListStore
  /** The plugin built the store, so it closes it. */
  ownsStore: boolean
  heartbeatProbeTimeoutMs: number
  storeTimeoutMs: number
  getRuntime: FastifyModelListOptions['getRuntime']
  authorizeDaemon: FastifyModelListOptions['authorizeDaemon']
  coalesce: boolean
}

const defaultHeartbeatProbeTimeoutMs = 1_000
const defaultStoreTimeoutMs = 2_000

const storeMethods = ['create', 'get', 'hasPending', 'popPending', 'complete', 'fail', 'close'] as const
// Options that shape a built-in store: a store object is configured on itself.
const builtInStoreOptions = ['redis', 'keyPrefix', 'pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs', 'now'] as const

export function resolveOptions (app: FastifyInstance, options: FastifyModelListOptions): ResolvedOptions {
  const getRuntime = checkFunction('getRuntime', options.getRuntime)
  const authorizeDaemon = checkFunction('authorizeDaemon', options.authorizeDaemon)
  const heartbeatProbeTimeoutMs = checkDuration('heartbeatProbeTimeoutMs', given(options.heartbeatProbeTimeoutMs, defaultHeartbeatProbeTimeoutMs))
  const storeTimeoutMs = checkDuration('storeTimeoutMs', given(options.storeTimeoutMs, defaultStoreTimeoutMs))
  const coalesce = given(options.coalesce, true)
  if (typeof coalesce !== 'boolean') throw new InvalidOptionError('coalesce must be a boolean')
  // Refused whatever the store: a braced prefix is a mistake even where it shapes nothing.
  if (options.keyPrefix !== undefined) checkKeyPrefix(options.keyPrefix)
  const { store, ownsStore } = chooseStore(app, options)
  return { store, ownsStore, heartbeatProbeTimeoutMs, storeTimeoutMs, getRuntime, authorizeDaemon, coalesce }
}

function chooseStore (app: FastifyInstance, options: FastifyModelListOptions): { store: ModelListStore, ownsStore: boolean } {
  const store = given(options.store, options.redis === undefined ? 'memory' : 'redis')
  const lifecycle: LifecycleOptions = {
    pendingTimeoutMs: options.pendingTimeoutMs,
    runningTimeoutMs: options.runningTimeoutMs,
    retentionMs: options.retentionMs,
    now: options.now
  }
  if (store === 'memory') {
    if (options.redis !== undefined) {
      throw new InvalidOptionError("redis was given with store 'memory': drop one (with a client, the default store is 'redis')")
    }
    return { store: new MemoryModelListStore(lifecycle), ownsStore: true }
  }
  if (store === 'redis') {
    const redis = options.redis ?? (app as FastifyInstance & { redis?: RedisClient }).redis
    if (redis === undefined || redis === null) {
      throw new InvalidOptionError("store 'redis' needs a client: pass the redis option or register @fastify/redis first")
    }
    return { store: new RedisModelListStore({ ...lifecycle, redis, keyPrefix: options.keyPrefix }), ownsStore: true }
  }
  if (typeof store !== 'object' || store === null) {
    throw new InvalidOptionError(`store must be 'memory', 'redis' or a store object, got ${String(store)}`)
  }
  for (const method of storeMethods) {
    if (typeof store[method] !== 'function') throw new InvalidOptionError(`store object has no ${method}() method`)
  }
  for (const name of builtInStoreOptions) {
    if (options[name] !== undefined) {
      throw new InvalidOptionError(`${name} shapes a built-in store and cannot be given beside a store object: configure the store itself`)
    }
  }
  return { store, ownsStore: false }
}
