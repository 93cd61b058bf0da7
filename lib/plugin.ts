import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { resolveOptions, type FastifyModelListOptions, type ResolvedOptions } from './options'
import { makeHeartbeat, modelListOnly, type ClaimPendingModelList, type ClaimPendingWork } from './heartbeat'
import type { DaemonWork } from './kinds/declare'
import { Face } from './kinds/face'
import { modelListKind } from './kinds/model-list'
import { ModelListObjectStore } from './kinds/model-list-object'
import { ModelListOnWorkStore, runsItsOwnWorkStore, type ModelListStore } from './kinds/model-list-store'
import { declaredKind } from './kinds/work-kind'
import { workKindStore, type WorkKindStore } from './kinds/work-kind-store'
import { Engine } from './store/features'
import type { WorkStore } from './store/contract'
import { MemoryModelListStore } from './store/memory'
import { RedisModelListStore } from './store/redis'
import { InvalidOptionError } from './errors'
import { wireHints } from './hints'
import { HeldPolls } from './routes/held-polls'
import { routes } from './routes'

declare module 'fastify' {
  interface FastifyInstance {
    /** The store in use. */
    modelListStore: ModelListStore
    /**
     * For the host's heartbeat route: claims the runtime's oldest pending request;
     * never throws. Given the request, its log lines carry the request's id.
     */
    claimPendingModelList: ClaimPendingModelList
    /**
     * For the host's heartbeat route: claims for every kind (the model list and
     * those given to `work`) with one probe round trip; never throws.
     */
    claimPendingWork: ClaimPendingWork
    /** A declared kind's store, typed by its schemas (create, get, claim, complete, fail). */
    daemonWorkStore: <Kind extends DaemonWork>(kind: Kind) => WorkKindStore<Kind>
  }
}

/** The stores the plugin runs: the model list's, and the work store every declared kind shares. */
interface Stores {
  /** What `app.modelListStore` is. */
  modelListStore: ModelListStore
  /** The model list's engine and rules. */
  modelList: Engine
  rules: ResolvedOptions['rules']
  /** The declared kinds' engine; undefined when the store serves the model list alone. */
  work: Engine | undefined
  /** What the plugin built, and so closes. */
  owned: WorkStore | undefined
}

function buildStores ({ store, rules, now, keyPrefix, catalogCache }: ResolvedOptions): Stores {
  const { pendingTimeoutMs, runningTimeoutMs, retentionMs } = rules
  const lifecycle = { pendingTimeoutMs, runningTimeoutMs, retentionMs, now, catalogCache }
  if (store.type === 'memory' || store.type === 'redis') {
    const built = store.type === 'memory'
      ? new MemoryModelListStore(lifecycle)
      : new RedisModelListStore({ ...lifecycle, redis: store.redis, keyPrefix })
    const engine = new Engine(built.workStore)
    return { modelListStore: built, modelList: engine, rules: built.rules, work: engine, owned: built.workStore }
  }
  if (store.type === 'work store') {
    const engine = new Engine(store.store)
    return { modelListStore: new ModelListOnWorkStore(store.store, rules), modelList: engine, rules, work: engine, owned: undefined }
  }
  const given = store.store
  // A built-in store left as it is runs its own work store; anything else runs through its methods.
  if (runsItsOwnWorkStore(given)) {
    const engine = new Engine(given.workStore)
    return { modelListStore: given, modelList: engine, rules: given.rules, work: engine, owned: undefined }
  }
  return {
    modelListStore: given,
    modelList: new Engine(new ModelListObjectStore(given)),
    rules,
    // A subclass of a built-in store still has the work store other kinds share.
    work: given instanceof ModelListOnWorkStore ? new Engine(given.workStore) : undefined,
    owned: undefined
  }
}

async function modelList (app: FastifyInstance, options: FastifyModelListOptions): Promise<void> {
  const resolved = resolveOptions(app, options)
  const stores = buildStores(resolved)
  const { storeTimeoutMs } = resolved
  if (stores.work === undefined && resolved.work.length > 0) {
    throw new InvalidOptionError('work needs a store that serves every kind: a ModelListStore object serves the model list alone (give a work store)')
  }
  const engines = stores.work === undefined || stores.work === stores.modelList ? [stores.modelList] : [stores.modelList, stores.work]
  for (const engine of engines) engine.useLog(app.log)
  const missing = engines.flatMap(engine => engine.missing)
  const cacheOn = resolved.catalogCache !== false && !(stores.modelList.store instanceof ModelListObjectStore)
  if (resolved.catalogCache !== false && !cacheOn) missing.push('the catalog cache (a store object runs through its methods, which have none)')
  if (missing.length > 0) app.log.info({ missing }, `fastify-model-list: the store does without ${missing.join('; ')}`)

  // Kinds: the model list first, then the declared ones.
  const modelListFace = new Face(modelListKind(stores.rules, { coalesce: resolved.coalesce, useCache: cacheOn }), stores.modelList)
  const declared = resolved.work.map(kind => ({ kind, face: new Face(declaredKind(kind, stores.rules), stores.work as Engine) }))
  const faces = [modelListFace, ...declared.map(({ face }) => face)]

  const heartbeatOptions = { log: app.log, probeTimeoutMs: resolved.heartbeatProbeTimeoutMs, storeTimeoutMs, now: resolved.now ?? Date.now }
  app.decorate('modelListStore', stores.modelListStore)
  app.decorate('claimPendingModelList', modelListOnly(makeHeartbeat([modelListFace], heartbeatOptions)))
  app.decorate('claimPendingWork', makeHeartbeat(faces, heartbeatOptions) as ClaimPendingWork)
  const typed = new Map(declared.map(({ kind, face }) => [kind, workKindStore(face as Face<never>)]))
  app.decorate('daemonWorkStore', function daemonWorkStore<Kind extends DaemonWork> (kind: Kind): WorkKindStore<Kind> {
    const found = typed.get(kind)
    if (found === undefined) throw new InvalidOptionError(`daemonWorkStore: ${String((kind as DaemonWork | undefined)?.name)} is not a kind given to work`)
    return found as unknown as WorkKindStore<Kind>
  })

  // Each long-lived wait has one owner that ends it: held polls answer before
  // the server stops; the hint listener and a store we built go on close.
  const polls = new HeldPolls(storeTimeoutMs)
  // Beside a store object's engine, the work store's hints are for the other kinds only.
  const hints = wireHints(resolved.notifyPendingWork, engines.map((engine, i) => ({ engine, kinds: i === 0 ? undefined : new Set(resolved.work.map(kind => kind.name)) })), app.log, storeTimeoutMs)
  app.addHook('onReady', hints.ready)
  app.addHook('preClose', async () => { polls.close() })
  app.addHook('onClose', async () => {
    hints.close()
    // Only what the plugin built: a store object or a Redis client given to it stays open.
    await stores.owned?.close()
  })

  // fastify-plugin hides Fastify's register options (prefix, logLevel, ...) from
  // this function: pass them on to an encapsulated child, which also keeps our
  // compilers to our routes.
  const { prefix, logLevel, logSerializers } = options
  await app.register(routes, { faces, polls, storeTimeoutMs, getRuntime: resolved.getRuntime, authorizeDaemon: resolved.authorizeDaemon, prefix, logLevel, logSerializers })
}

export const fastifyModelList = fp(modelList, { fastify: '5.x', name: 'fastify-model-list' })
