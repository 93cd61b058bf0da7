import type { FastifyInstance, FastifyRequest, LogLevel } from 'fastify'
import type { ModelListStore, WorkBackend, WorkStore } from './store'
import { isDaemonWork, type DaemonWork } from './work/declare'
import { WorkKindStore } from './work/kind-store'
import { CustomWorkModelListStore, isWorkStore } from './work/custom-store'
import { kWorkBackend } from './capabilities'
import { detectCapabilities, type StoreCapabilities } from './capabilities'
import type { CatalogCacheOptions } from './catalog'
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
  /**
   * `'memory'`, `'redis'`, or a store object: a work store (serves every kind)
   * or a ModelListStore (the model list alone); default `'redis'` when `redis`
   * is given, else `'memory'`.
   */
  store?: 'memory' | 'redis' | WorkStore | ModelListStore
  /** With store `'redis'`; defaults to `app.redis` (from `@fastify/redis`). */
  redis?: RedisClient
  /** Redis key namespace; no `{` or `}`. */
  keyPrefix?: string
  /** How long the heartbeat waits for `hasPending` before answering "nothing". */
  heartbeatProbeTimeoutMs?: number
  /** A store call taking longer answers 503 (routes) or null (heartbeat). */
  storeTimeoutMs?: number
  /** A runtime as the caller of a frontend route sees it; null or undefined answers 404. */
  getRuntime: (request: FastifyRequest, runtimeId: string) => Promise<RuntimeInfo | null | undefined> | RuntimeInfo | null | undefined
  /** May the caller of the daemon route report for this runtime; anything but `true` answers 404. */
  authorizeDaemon: (request: FastifyRequest, runtimeId: string) => Promise<boolean> | boolean
  /** A POST for a runtime with a claimable pending request joins it. */
  coalesce?: boolean
  /** Called with the runtime id and the kind whenever work is queued for its daemon, on every replica; best effort. */
  notifyPendingWork?: (runtimeId: string, kind: string) => unknown
  /** The catalog cache's windows; `false` turns it off. */
  catalogCache?: CatalogCacheOptions | false
  /** Other kinds of daemon work, each declared with `daemonWork`. */
  work?: readonly DaemonWork[]
  /** Fastify's own register option: where the routes mount. */
  prefix?: string
  /** Fastify's own register option: the log level of the routes' requests. */
  logLevel?: LogLevel
  /** Fastify's own register option: log serializers for the routes' requests. */
  logSerializers?: Record<string, (value: any) => string>
}

export interface ResolvedOptions {
  store: ModelListStore
  /** The work store every kind shares; undefined for a ModelListStore object (the model list alone). */
  backend: WorkBackend | undefined
  /** The declared kinds, each a face of `backend`. */
  kinds: WorkKindStore[]
  /** The plugin built the store, so it closes it. */
  ownsStore: boolean
  heartbeatProbeTimeoutMs: number
  storeTimeoutMs: number
  getRuntime: FastifyModelListOptions['getRuntime']
  authorizeDaemon: FastifyModelListOptions['authorizeDaemon']
  coalesce: boolean
  /** The clock of the plugin's own intervals (the store has its own). */
  now: () => number
  /** What the store offers beyond the contract, looked up once. */
  capabilities: StoreCapabilities
  notifyPendingWork: ((runtimeId: string, kind: string) => unknown) | undefined
  /** POSTs may be answered from the catalog (not `catalogCache: false`). */
  useCache: boolean
}

const defaultHeartbeatProbeTimeoutMs = 1_000
const defaultStoreTimeoutMs = 2_000

// Every option API.md names, and Fastify's own register options: anything else
// is a typo (`pendingTimeoutMS`) that JavaScript users would otherwise never hear of.
const knownOptions = new Set([
  'store', 'redis', 'keyPrefix', 'pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs',
  'heartbeatProbeTimeoutMs', 'storeTimeoutMs', 'now', 'getRuntime', 'authorizeDaemon',
  'notifyPendingWork', 'coalesce', 'catalogCache', 'work',
  'prefix', 'logLevel', 'logSerializers'
])

function checkKnown (options: object): void {
  const unknown = Object.keys(options).filter(name => !knownOptions.has(name))
  if (unknown.length > 0) throw new InvalidOptionError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`)
}

// The model list's own path: no declared kind may mount there.
const modelListPath = 'models'

function checkWork (work: unknown): readonly DaemonWork[] {
  if (work === undefined) return []
  if (!Array.isArray(work)) throw new InvalidOptionError('work must be an array of daemonWork(...) kinds')
  const names = new Set<string>()
  const paths = new Set<string>([modelListPath])
  for (const kind of work) {
    if (!isDaemonWork(kind)) throw new InvalidOptionError('work must be an array of daemonWork(...) kinds')
    if (names.has(kind.name)) throw new InvalidOptionError(`work: two kinds are named ${kind.name}`)
    if (paths.has(kind.path)) throw new InvalidOptionError(`${kind.name}.path '${kind.path}' is taken`)
    names.add(kind.name)
    paths.add(kind.path)
  }
  return work
}

const storeMethods = ['create', 'get', 'hasPending', 'popPending', 'complete', 'fail', 'close'] as const
// Options that shape a built-in store: a store object is configured on itself.
const builtInStoreOptions = ['redis', 'keyPrefix', 'pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs', 'now'] as const
// A work store has no rules of its own: the lifecycle timeouts are the plugin's to give it.
const workStoreRefused = ['redis', 'keyPrefix', 'now'] as const

export function resolveOptions (app: FastifyInstance, options: FastifyModelListOptions): ResolvedOptions {
  checkKnown(options)
  const work = checkWork(options.work)
  const getRuntime = checkFunction('getRuntime', options.getRuntime)
  const authorizeDaemon = checkFunction('authorizeDaemon', options.authorizeDaemon)
  const heartbeatProbeTimeoutMs = checkDuration('heartbeatProbeTimeoutMs', given(options.heartbeatProbeTimeoutMs, defaultHeartbeatProbeTimeoutMs))
  const storeTimeoutMs = checkDuration('storeTimeoutMs', given(options.storeTimeoutMs, defaultStoreTimeoutMs))
  const coalesce = given(options.coalesce, true)
  if (typeof coalesce !== 'boolean') throw new InvalidOptionError('coalesce must be a boolean')
  const notifyPendingWork = options.notifyPendingWork === undefined ? undefined : checkFunction('notifyPendingWork', options.notifyPendingWork)
  // Refused whatever the store: a braced prefix is a mistake even where it shapes nothing.
  if (options.keyPrefix !== undefined) checkKeyPrefix(options.keyPrefix)
  const { store, ownsStore } = chooseStore(app, options)
  // Checked by the store it was given to, or refused beside a store object.
  const now = options.now ?? Date.now
  const backend = workBackendOf(store)
  if (backend === undefined && work.length > 0) {
    throw new InvalidOptionError('work needs a store that serves every kind: a ModelListStore object serves the model list alone (give a work store)')
  }
  return {
    store,
    ownsStore,
    backend,
    kinds: backend === undefined ? [] : work.map(kind => new WorkKindStore(kind, backend)),
    heartbeatProbeTimeoutMs,
    storeTimeoutMs,
    getRuntime,
    authorizeDaemon,
    coalesce,
    now,
    capabilities: detectCapabilities(store),
    notifyPendingWork,
    useCache: options.catalogCache !== false
  }
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
    return { store: new MemoryModelListStore({ ...lifecycle, catalogCache: options.catalogCache }), ownsStore: true }
  }
  if (store === 'redis') {
    const redis = options.redis ?? (app as FastifyInstance & { redis?: RedisClient }).redis
    if (redis === undefined || redis === null) {
      throw new InvalidOptionError("store 'redis' needs a client: pass the redis option or register @fastify/redis first")
    }
    return { store: new RedisModelListStore({ ...lifecycle, redis, keyPrefix: options.keyPrefix, catalogCache: options.catalogCache }), ownsStore: true }
  }
  if (typeof store !== 'object' || store === null) {
    throw new InvalidOptionError(`store must be 'memory', 'redis' or a store object, got ${String(store)}`)
  }
  if (isWorkStore(store)) return { store: customWorkStore(store, options), ownsStore: false }
  for (const method of storeMethods) {
    if (typeof store[method] !== 'function') throw new InvalidOptionError(`store object has no ${method}() method`)
  }
  for (const name of builtInStoreOptions) {
    if (options[name] !== undefined) {
      throw new InvalidOptionError(`${name} shapes a built-in store and cannot be given beside a store object: configure the store itself`)
    }
  }
  // `false` still means "never answer from the cache"; the windows are the store's own.
  if (options.catalogCache !== undefined && options.catalogCache !== false) {
    throw new InvalidOptionError('catalogCache windows shape a built-in store and cannot be given beside a store object: configure the store itself (false is allowed)')
  }
  return { store, ownsStore: false }
}

function customWorkStore (store: WorkStore, options: FastifyModelListOptions): ModelListStore {
  for (const name of workStoreRefused) {
    if (options[name] !== undefined) {
      throw new InvalidOptionError(`${name} shapes a built-in store and cannot be given beside a store object: configure the store itself`)
    }
  }
  if (options.catalogCache !== undefined && options.catalogCache !== false) {
    throw new InvalidOptionError('catalogCache windows shape a built-in store and cannot be given beside a store object (false is allowed)')
  }
  return new CustomWorkModelListStore(store, { pendingTimeoutMs: options.pendingTimeoutMs, runningTimeoutMs: options.runningTimeoutMs, retentionMs: options.retentionMs })
}

/** The work store every kind shares: a built-in store's, or a custom work store's; none for a ModelListStore object. */
function workBackendOf (store: ModelListStore): WorkBackend | undefined {
  if (store instanceof CustomWorkModelListStore) return store.workBackend
  const own = (store as unknown as Record<symbol, unknown>)[kWorkBackend]
  return typeof own === 'function' ? (own as () => WorkBackend).call(store) : undefined
}
