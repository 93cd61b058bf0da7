import type { FastifyInstance, FastifyRequest, LogLevel } from 'fastify'
import { isDaemonWork, operationName, type DaemonWork } from './kinds/declare'
import type { ModelListStore } from './kinds/model-list-store'
import type { WorkStore } from './store/contract'
import type { RedisClient } from './store/redis/client'
import { resolveCatalogCache, type CatalogCacheOptions } from './catalog'
import { checkDuration, checkFunction, given, modelListKind, WorkRules, type RulesOptions } from './rules'
import { InvalidOptionError, shown } from './errors'
import { checkKeyPrefix } from './store/redis/keys'
import { checkWaitForReplicas, type WaitForReplicas } from './store/redis/replicas'
import { defaultSlowHeartbeatMs } from './slow-heartbeat-log'
import { resolveIdleRuntimeCache, type IdleRuntimeCacheOptions } from './store/redis/idle-runtimes'

/** What the host's `getRuntime` tells about a runtime its caller may see. */
export interface RuntimeInfo {
  online: boolean
}

export interface FastifyModelListOptions extends RulesOptions {
  /**
   * `'memory'`, `'redis'`, or a store object: a work store (serves every kind)
   * or a ModelListStore (the model list); default `'redis'` when `redis` is
   * given, else `'memory'`.
   */
  store?: 'memory' | 'redis' | WorkStore | ModelListStore
  /** With store `'redis'`; defaults to `app.redis` (from `@fastify/redis`). */
  redis?: RedisClient
  /** Redis key namespace; no `{` or `}`. */
  keyPrefix?: string
  /** The clock timeouts and catalog age are measured with. */
  now?: () => number
  /** How long the heartbeat waits for its probe before answering "nothing". */
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
  /** Redis store: after each state change, WAIT until this many replicas have it (at most timeoutMs); default off. */
  waitForReplicas?: WaitForReplicas
  /** A heartbeat call slower than this (ms) logs one warning with its phase timings, rate-limited; default 500. */
  slowHeartbeatMs?: number
  /** Redis store: idle heartbeats send no command (`{ maxRuntimes }`, default 1,000,000); `false` turns it off. */
  idleRuntimeCache?: IdleRuntimeCacheOptions | false
  /** Fastify's own register option: where the routes mount. */
  prefix?: string
  /** Fastify's own register option: the log level of the routes' requests. */
  logLevel?: LogLevel
  /** Fastify's own register option: log serializers for the routes' requests. */
  logSerializers?: Record<string, (value: any) => string>
}

/** Which store to use, as the options ask for it; the plugin builds it. */
export type StoreChoice =
  | { type: 'memory' }
  | { type: 'redis', redis: RedisClient }
  | { type: 'work store', store: WorkStore }
  | { type: 'model list store', store: ModelListStore }

export interface ResolvedOptions {
  store: StoreChoice
  keyPrefix: string | undefined
  /** The model list's rules (also the base of every declared kind's). */
  rules: WorkRules
  now: (() => number) | undefined
  heartbeatProbeTimeoutMs: number
  storeTimeoutMs: number
  getRuntime: FastifyModelListOptions['getRuntime']
  authorizeDaemon: FastifyModelListOptions['authorizeDaemon']
  coalesce: boolean
  notifyPendingWork: FastifyModelListOptions['notifyPendingWork']
  catalogCache: CatalogCacheOptions | false | undefined
  work: readonly DaemonWork[]
  waitForReplicas: WaitForReplicas | undefined
  slowHeartbeatMs: number
  idleRuntimeCache: IdleRuntimeCacheOptions | false | undefined
}

const defaultHeartbeatProbeTimeoutMs = 1_000
const defaultStoreTimeoutMs = 2_000

// Every option API.md names, and Fastify's own register options: anything else
// is a typo (`pendingTimeoutMS`) that JavaScript users would otherwise never hear of.
const knownOptions = new Set([
  'store', 'redis', 'keyPrefix', 'pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs',
  'heartbeatProbeTimeoutMs', 'storeTimeoutMs', 'now', 'getRuntime', 'authorizeDaemon',
  'notifyPendingWork', 'coalesce', 'catalogCache', 'work',
  'waitForReplicas',
  'slowHeartbeatMs',
  'idleRuntimeCache',
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
  if (!Array.isArray(work)) throw new InvalidOptionError(`work must be an array of daemonWork(...) kinds, got ${shown(work)}`)
  const names = new Set<string>()
  const paths = new Set<string>([modelListPath])
  // OpenAPI operation ids are unique: `skill__import` would be `skill_import`'s.
  const operations = new Set<string>([operationName(modelListKind)])
  for (const kind of work) {
    if (!isDaemonWork(kind)) throw new InvalidOptionError(`work must be an array of daemonWork(...) kinds, got ${shown(kind)} in it`)
    if (names.has(kind.name)) throw new InvalidOptionError(`work: two kinds are named ${kind.name}`)
    if (paths.has(kind.path)) throw new InvalidOptionError(`${kind.name}.path '${kind.path}' is taken`)
    if (operations.has(operationName(kind.name))) throw new InvalidOptionError(`work: ${kind.name}'s operation ids (create${operationName(kind.name)}Request) are taken by another kind`)
    names.add(kind.name)
    paths.add(kind.path)
    operations.add(operationName(kind.name))
  }
  return work
}

const modelListStoreMethods = ['create', 'get', 'hasPending', 'popPending', 'complete', 'fail', 'close'] as const
const workStoreMethods = ['open', 'get', 'probe', 'claim', 'settle', 'close'] as const

function hasMethods (store: object, methods: readonly string[]): boolean {
  return methods.every(method => typeof (store as Record<string, unknown>)[method] === 'function')
}

// Options that shape a built-in store: a store object is configured on itself.
const builtInStoreOptions = ['redis', 'keyPrefix', 'pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs', 'now', 'waitForReplicas'] as const
// A work store has no rules of its own: the lifecycle timeouts are the plugin's to give it.
const workStoreRefused = ['redis', 'keyPrefix', 'now', 'waitForReplicas'] as const

function refuseBeside (options: FastifyModelListOptions, names: readonly string[]): void {
  for (const name of names) {
    if (options[name as keyof FastifyModelListOptions] !== undefined) {
      throw new InvalidOptionError(`${name} shapes a built-in store and cannot be given beside a store object: configure the store itself`)
    }
  }
  // The store given keeps its own (a RedisModelListStore takes idleRuntimeCache); the plugin cannot turn it on or off.
  if (options.idleRuntimeCache !== undefined) {
    throw new InvalidOptionError('idleRuntimeCache shapes a built-in Redis store and cannot be given beside a store object: configure the store itself (new RedisModelListStore({ idleRuntimeCache }))')
  }
  // `false` still means "never answer from the cache"; the windows are the store's own.
  if (options.catalogCache !== undefined && options.catalogCache !== false) {
    throw new InvalidOptionError('catalogCache windows shape a built-in store and cannot be given beside a store object: configure the store itself (false is allowed)')
  }
}

// A client that cannot serve: `redis: app.redis` written before @fastify/redis
// was registered gives a key holding undefined, which must not quietly mean the
// memory store (each replica would keep its own requests); an ended client
// would answer 503 forever.
function checkRedisClient (options: FastifyModelListOptions): void {
  if ('redis' in options && (options.redis === undefined || options.redis === null)) {
    throw new InvalidOptionError(`redis is ${String(options.redis)}: register @fastify/redis before this plugin (or use the function form of options), or leave the redis option out`)
  }
}

function checkNotEnded (redis: RedisClient): void {
  if ((redis as { status?: unknown }).status === 'end') {
    throw new InvalidOptionError('redis: the client has already ended (quit() or disconnect() was called): give a connected client')
  }
}

function chooseStore (app: FastifyInstance, options: FastifyModelListOptions): StoreChoice {
  checkRedisClient(options)
  const store = given(options.store, options.redis === undefined ? 'memory' : 'redis')
  if (store === 'memory') {
    if (options.redis !== undefined) {
      throw new InvalidOptionError("redis was given with store 'memory': drop one (with a client, the default store is 'redis')")
    }
    return { type: 'memory' }
  }
  if (store === 'redis') {
    const redis = options.redis ?? (app as FastifyInstance & { redis?: RedisClient }).redis
    if (redis === undefined || redis === null) {
      throw new InvalidOptionError("store 'redis' needs a client: pass the redis option or register @fastify/redis first")
    }
    checkNotEnded(redis)
    return { type: 'redis', redis }
  }
  if (typeof store !== 'object' || store === null) {
    throw new InvalidOptionError(`store must be 'memory', 'redis' or a store object, got ${shown(store)}`)
  }
  if (hasMethods(store, workStoreMethods)) {
    refuseBeside(options, workStoreRefused)
    return { type: 'work store', store: store as WorkStore }
  }
  for (const method of modelListStoreMethods) {
    if (typeof (store as unknown as Record<string, unknown>)[method] !== 'function') throw new InvalidOptionError(`store object has no ${method}() method`)
  }
  refuseBeside(options, builtInStoreOptions)
  return { type: 'model list store', store: store as ModelListStore }
}

/** Checks every option, naming the one at fault; builds nothing. */
export function resolveOptions (app: FastifyInstance, options: FastifyModelListOptions): ResolvedOptions {
  checkKnown(options)
  const work = checkWork(options.work)
  const getRuntime = checkFunction('getRuntime', options.getRuntime)
  const authorizeDaemon = checkFunction('authorizeDaemon', options.authorizeDaemon)
  const heartbeatProbeTimeoutMs = checkDuration('heartbeatProbeTimeoutMs', given(options.heartbeatProbeTimeoutMs, defaultHeartbeatProbeTimeoutMs))
  const storeTimeoutMs = checkDuration('storeTimeoutMs', given(options.storeTimeoutMs, defaultStoreTimeoutMs))
  const slowHeartbeatMs = checkDuration('slowHeartbeatMs', given(options.slowHeartbeatMs, defaultSlowHeartbeatMs))
  const coalesce = given(options.coalesce, true)
  if (typeof coalesce !== 'boolean') throw new InvalidOptionError(`coalesce must be a boolean, got ${shown(coalesce)}`)
  const notifyPendingWork = options.notifyPendingWork === undefined ? undefined : checkFunction('notifyPendingWork', options.notifyPendingWork)
  // Refused whatever the store: a braced prefix is a mistake even where it shapes nothing.
  if (options.keyPrefix !== undefined) checkKeyPrefix(options.keyPrefix)
  const store = chooseStore(app, options)
  const rules = new WorkRules({ pendingTimeoutMs: options.pendingTimeoutMs, runningTimeoutMs: options.runningTimeoutMs, retentionMs: options.retentionMs })
  if (options.now !== undefined) checkFunction('now', options.now)
  // The windows are checked here too, whichever store they shape.
  resolveCatalogCache(options.catalogCache)
  const waitForReplicas = checkWaitForReplicas(options.waitForReplicas)
  if (waitForReplicas !== undefined && store.type === 'memory') {
    throw new InvalidOptionError('waitForReplicas needs the Redis store: the memory store has no replicas to wait for')
  }
  // Checked whatever the store, like keyPrefix; the memory store has nothing to cache (its probe sends nothing).
  resolveIdleRuntimeCache(options.idleRuntimeCache)
  return {
    store,
    keyPrefix: options.keyPrefix,
    rules,
    now: options.now,
    heartbeatProbeTimeoutMs,
    storeTimeoutMs,
    getRuntime,
    authorizeDaemon,
    coalesce,
    notifyPendingWork,
    catalogCache: options.catalogCache,
    work,
    waitForReplicas,
    slowHeartbeatMs,
    idleRuntimeCache: options.idleRuntimeCache
  }
}

// Durations are milliseconds: a lifecycle timeout or catalog window under a
// second is most likely seconds given by mistake (`pendingTimeoutMs: 30`). A
// call bound may well be sub-second, so those are questioned only under 100 ms.
const likelySecondsBelowMs = 1_000
const callBoundLikelySecondsBelowMs = 100

/** The warnings a start-up logs for durations that look like seconds; names only what was given. */
export function likelySeconds (options: FastifyModelListOptions, work: readonly DaemonWork[]): string[] {
  const given: Array<[string, unknown, number]> = [
    ['pendingTimeoutMs', options.pendingTimeoutMs, likelySecondsBelowMs],
    ['runningTimeoutMs', options.runningTimeoutMs, likelySecondsBelowMs],
    ['retentionMs', options.retentionMs, likelySecondsBelowMs],
    ['heartbeatProbeTimeoutMs', options.heartbeatProbeTimeoutMs, callBoundLikelySecondsBelowMs],
    ['storeTimeoutMs', options.storeTimeoutMs, callBoundLikelySecondsBelowMs]
  ]
  if (typeof options.catalogCache === 'object' && options.catalogCache !== null) {
    given.push(['catalogCache.serveWindowMs', options.catalogCache.serveWindowMs, likelySecondsBelowMs])
    given.push(['catalogCache.revalidateAfterMs', options.catalogCache.revalidateAfterMs, likelySecondsBelowMs])
  }
  for (const kind of work) {
    for (const name of ['pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs'] as const) given.push([`${kind.name}.${name}`, kind[name], likelySecondsBelowMs])
  }
  return given
    .filter(([, value, below]) => typeof value === 'number' && value < below)
    .map(([name, value]) => `fastify-model-list: ${name} is ${String(value)} ms; durations are in milliseconds (${String(value)} seconds would be ${String((value as number) * 1000)})`)
}
