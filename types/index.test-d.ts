import fastify, { type FastifyRequest } from 'fastify'
import { Redis, Cluster } from 'ioredis'
import { Redis as Redis6, Cluster as Cluster6 } from 'ioredis6'
import fastifyRedis from '@fastify/redis'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import fastifyModelListDefault, {
  fastifyModelList,
  MemoryModelListStore,
  RedisModelListStore,
  ModelEntry,
  ModelListReport,
  ModelListRequest,
  ModelListStatus,
  ModelServiceTier,
  ModelThinking,
  PendingModelList,
  ThinkingLevel,
  type FastifyModelListOptions,
  type MemoryModelListStoreOptions,
  type ModelListStore,
  type RedisModelListStoreOptions,
  type RuntimeInfo
} from '..'

expectType<typeof fastifyModelList>(fastifyModelListDefault)

const hooks = {
  getRuntime: async (request: FastifyRequest, runtimeId: string): Promise<RuntimeInfo | null> => ({ online: runtimeId !== '' }),
  authorizeDaemon: async (request: FastifyRequest, runtimeId: string) => request.headers.authorization === runtimeId
}

const app = fastify()
app.register(fastifyModelList, hooks)
app.register(fastifyModelList, {
  ...hooks,
  store: 'memory',
  keyPrefix: 'model-list',
  pendingTimeoutMs: 30_000,
  runningTimeoutMs: 60_000,
  retentionMs: 120_000,
  heartbeatProbeTimeoutMs: 1_000,
  storeTimeoutMs: 2_000,
  now: () => Date.now(),
  coalesce: true,
  notifyPendingWork: (runtimeId: string) => { void runtimeId },
  catalogCache: { serveWindowMs: 86_400_000, revalidateAfterMs: 60_000 },
  prefix: '/api'
})
// The cache off, or one window given (the other keeps its default); an async hint.
app.register(fastifyModelList, { ...hooks, catalogCache: false, notifyPendingWork: async () => {} })
app.register(fastifyModelList, { ...hooks, catalogCache: { revalidateAfterMs: 5_000 } })
expectError(app.register(fastifyModelList, { ...hooks, catalogCache: true }))
expectError(app.register(fastifyModelList, { ...hooks, catalogCache: { serveWindowMs: '1 day' } }))
expectError(app.register(fastifyModelList, { ...hooks, notifyPendingWork: 'rt' }))
app.register(fastifyModelList, { ...hooks, store: 'redis', redis: new Redis() })
app.register(fastifyModelList, { ...hooks, redis: new Cluster([{ host: '127.0.0.1', port: 7001 }]) })
app.register(fastifyModelList, { ...hooks, store: new MemoryModelListStore({ now: () => 0 }) })
// Fastify's function form, for a client another plugin decorates.
app.register(fastifyModelList, () => ({ ...hooks, redis: new Redis() }))
// Hooks may answer synchronously.
app.register(fastifyModelList, { getRuntime: () => null, authorizeDaemon: () => false })

expectError(app.register(fastifyModelList, { authorizeDaemon: hooks.authorizeDaemon }))
expectError(app.register(fastifyModelList, { getRuntime: hooks.getRuntime }))
expectError(app.register(fastifyModelList, { ...hooks, store: 'postgres' }))
expectError(app.register(fastifyModelList, { ...hooks, redis: 'redis://localhost' }))
expectError(app.register(fastifyModelList, { ...hooks, redis: { host: '127.0.0.1' } }))
// ioredis 6 clients fit as well as ioredis 5 ones.
app.register(fastifyModelList, { ...hooks, redis: new Redis6() })
app.register(fastifyModelList, { ...hooks, redis: new Cluster6([{ host: '127.0.0.1', port: 7001 }]) })
// app.redis from @fastify/redis (8 here; 9 is compiled by the pack test), through the function form.
app.register(fastifyRedis, { host: '127.0.0.1' })
app.register(fastifyModelList, (parent) => ({ ...hooks, redis: parent.redis }))
expectNotAssignable<FastifyModelListOptions>({ ...hooks, getRuntime: async () => ({ status: 'online' }) })
// Options kept in a typed object of their own, the prefix among them.
const typed: FastifyModelListOptions = { ...hooks, prefix: '/api' }
app.register(fastifyModelList, typed)

// Decorators, visible on the host.
expectType<ModelListStore>(app.modelListStore)
expectType<Promise<PendingModelList | null>>(app.claimPendingModelList('runtime-1'))
app.post('/api/daemon/heartbeat', async (request) => {
  // Given the request, the claim logs on its logger.
  const pending = await app.claimPendingModelList('runtime-1', request)
  return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
})
expectError(app.claimPendingModelList('runtime-1', 'request-id'))

// getRuntime may answer undefined (what a db.find gives): 404.
app.register(fastifyModelList, { ...hooks, getRuntime: async () => undefined })
app.register(fastifyModelList, { ...hooks, getRuntime: () => undefined })
// Fastify's own register options beside ours; `work` takes daemonWork(...) kinds only.
app.register(fastifyModelList, { ...hooks, prefix: '/api', logLevel: 'warn', work: [] })
expectError(app.register(fastifyModelList, { ...hooks, work: [{ name: 'skill_import' }] }))

// The stores.
expectAssignable<ModelListStore>(new MemoryModelListStore())
expectAssignable<ModelListStore>(new RedisModelListStore({ redis: new Redis(), keyPrefix: 'ml' }))
expectAssignable<MemoryModelListStoreOptions>({ pendingTimeoutMs: 1, runningTimeoutMs: 1, retentionMs: 2, now: () => 0 })
expectAssignable<RedisModelListStoreOptions>({ redis: new Cluster([]), retentionMs: 5 })
expectAssignable<RedisModelListStoreOptions>({ redis: new Redis6(), keyPrefix: 'ml' })
expectAssignable<RedisModelListStoreOptions>({ redis: new Cluster6([]) })
expectAssignable<RedisModelListStoreOptions>({ redis: new Redis(), catalogCache: { serveWindowMs: 1_000 } })
expectAssignable<MemoryModelListStoreOptions>({ catalogCache: false })
expectError(new RedisModelListStore({ keyPrefix: 'ml' }))
expectError(new MemoryModelListStore({ retentionMs: '5' }))

const store = new MemoryModelListStore()
expectType<Promise<ModelListRequest>>(store.create('rt', { coalesce: true }))
expectType<Promise<ModelListRequest | null>>(store.get('rt', 'id'))
expectType<Promise<boolean>>(store.hasPending('rt'))
expectType<Promise<ModelListRequest | null>>(store.popPending('rt'))
expectType<Promise<ModelListRequest | null>>(store.complete('rt', 'id', { models: [], supported: true, fallback: false }))
expectType<Promise<ModelListRequest | null>>(store.fail('rt', 'id', 'boom'))
expectType<Promise<void>>(store.close())

// A custom store needs only the contract's methods.
const custom: ModelListStore = {
  create: async () => await store.create('rt'),
  get: async () => null,
  hasPending: async () => false,
  popPending: async () => null,
  complete: async () => null,
  fail: async () => null,
  close: async () => {}
}
app.register(fastifyModelList, { ...hooks, store: custom })

// Each schema is also its static type, with the wire's snake_case names.
expectType<'pending' | 'running' | 'completed' | 'failed' | 'timeout'>({} as ModelListStatus)
expectAssignable<ModelListStatus>(ModelListStatus.anyOf[0].const)
expectType<{ value: string, label: string, description?: string }>({} as ThinkingLevel)
expectType<{ supported_levels: ThinkingLevel[], default_level?: string }>({} as ModelThinking)
expectType<{ id: string, name: string, description?: string }>({} as ModelServiceTier)
expectAssignable<ModelEntry>({ id: 'm', label: 'M', provider: 'p', default: true, thinking: { supported_levels: [] }, service_tiers: [] })
expectNotAssignable<ModelEntry>({ id: 'm' })
expectAssignable<ModelListRequest>({
  id: 'i', runtime_id: 'r', status: 'completed', models: [], supported: true, error: 'e',
  created_at: '', updated_at: '', cached: true, cached_at: ''
})
expectNotAssignable<ModelListRequest>({ id: 'i', runtime_id: 'r', status: 'done', supported: true, created_at: '', updated_at: '' })
expectAssignable<ModelListReport>({ status: 'failed', error: 'x' })
expectAssignable<ModelListReport>({ status: 'completed', models: [], supported: false, fallback: true })
expectNotAssignable<ModelListReport>({ status: 'running' })
expectType<{ id: string }>({} as PendingModelList)
expectType<'object'>(ModelEntry.type)
