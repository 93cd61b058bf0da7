import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { likelySeconds, resolveOptions, type FastifyModelListOptions, type ResolvedOptions } from './options'
import { makeHeartbeat, type ClaimPendingModelList, type ClaimPendingWork } from './heartbeat'
import type { DaemonWork, PendingWork } from './kinds/declare'
import { Face } from './kinds/face'
import { modelListKind } from './kinds/model-list'
import { ModelListObjectStore } from './kinds/model-list-object'
import { ModelListOnWorkStore, type ModelListStore } from './kinds/model-list-store'
import { declaredKind } from './kinds/work-kind'
import { workKindStore, type WorkKindStore } from './kinds/work-kind-store'
import { Engine } from './store/features'
import { MemoryModelListStore } from './store/memory'
import { RedisModelListStore } from './store/redis'
import { InvalidOptionError } from './errors'
import { wireHints } from './hints'
import { HeldPolls } from './routes/held-polls'
import { routes } from './routes'
import type { WorkRules } from './rules'
import type { PendingModelList } from './schemas'

// The decorators are declared as methods: a program that reads both the
// CommonJS and the ESM declarations (a project with .cts and .mts files) sees
// this block twice, and two method declarations merge as overloads where two
// property declarations must have identical types (TS2717 under TypeScript 7).
declare module 'fastify' {
  interface FastifyInstance {
    /** The store in use. */
    modelListStore: ModelListStore
    /**
     * For the host's heartbeat route: claims the runtime's oldest pending request;
     * never throws. Given the request, its log lines carry the request's id.
     */
    claimPendingModelList(runtimeId: string, request?: FastifyRequest): Promise<PendingModelList | null>
    /**
     * For the host's heartbeat route: claims for every kind (the model list and
     * those given to `work`) with one probe round trip; never throws. Type it
     * with the kinds given to `work`: `app.claimPendingWork<typeof work>(runtimeId)`.
     */
    claimPendingWork<Kinds extends readonly DaemonWork[] = []>(runtimeId: string, request?: FastifyRequest): Promise<PendingWork<Kinds> | null>
    /** A declared kind's store, typed by its schemas (create, get, claim, complete, fail). */
    daemonWorkStore<Kind extends DaemonWork>(kind: Kind): WorkKindStore<Kind>
  }
}

/**
 * The model list's store (what `app.modelListStore` is: built, given, or the
 * face of a given work store), whether the plugin built it (and so closes it),
 * and its rules.
 */
function chooseModelListStore ({ store, rules, now, keyPrefix, catalogCache, waitForReplicas, idleRuntimeCache }: ResolvedOptions): { modelListStore: ModelListStore, built: boolean, rules: WorkRules } {
  const { pendingTimeoutMs, runningTimeoutMs, retentionMs } = rules
  const lifecycle = { pendingTimeoutMs, runningTimeoutMs, retentionMs, now, catalogCache }
  switch (store.type) {
    case 'memory': {
      const built = new MemoryModelListStore(lifecycle)
      return { modelListStore: built, built: true, rules: built.rules }
    }
    case 'redis': {
      const built = new RedisModelListStore({ ...lifecycle, redis: store.redis, keyPrefix, waitForReplicas, idleRuntimeCache })
      return { modelListStore: built, built: true, rules: built.rules }
    }
    // The work store is the host's: closing the face leaves it open.
    case 'work store': return { modelListStore: new ModelListOnWorkStore(store.store, rules, { closes: false }), built: false, rules }
    default: return { modelListStore: store.store, built: false, rules: store.store instanceof ModelListOnWorkStore ? store.store.rules : rules }
  }
}

async function modelList (app: FastifyInstance, options: FastifyModelListOptions): Promise<void> {
  // Said in our words, before Fastify's FST_ERR_DEC_ALREADY_PRESENT would name a decorator.
  if (app.hasDecorator('modelListStore')) {
    throw new InvalidOptionError('registered twice on one instance (app.modelListStore is taken): register it once; for a second mount, register each inside its own encapsulated plugin')
  }
  const resolved = resolveOptions(app, options)
  for (const warning of likelySeconds(options, resolved.work)) app.log.warn(warning)
  const { modelListStore, built, rules } = chooseModelListStore(resolved)
  const { storeTimeoutMs } = resolved
  // One store the plugin calls, every kind in it: the model list through
  // app.modelListStore's public methods, the other kinds on its work store.
  const store = new ModelListObjectStore(modelListStore, built)
  if (store.work === undefined && resolved.work.length > 0) {
    throw new InvalidOptionError('work needs a store that serves every kind: a ModelListStore object serves the model list alone (give a work store)')
  }
  const engine = new Engine(store)
  engine.useLog(app.log)
  const missing = store.missing(resolved.catalogCache !== false)
  if (missing.length > 0) app.log.info({ missing }, `fastify-model-list: the store does without ${missing.join('; ')}`)

  // Kinds: the model list first, then the declared ones.
  const modelListFace = new Face(modelListKind(rules, { coalesce: resolved.coalesce, useCache: resolved.catalogCache !== false }), engine)
  const declared = resolved.work.map(kind => ({ kind, face: new Face(declaredKind(kind, rules), engine) }))
  const faces = [modelListFace, ...declared.map(({ face }) => face)]

  // Phases are timed on the injected clock when there is one (tests drive it), else finely.
  const timer = resolved.now ?? (() => performance.now())
  const heartbeatOptions = { log: app.log, probeTimeoutMs: resolved.heartbeatProbeTimeoutMs, storeTimeoutMs, now: resolved.now ?? Date.now, timer, slowHeartbeatMs: resolved.slowHeartbeatMs }
  app.decorate('modelListStore', modelListStore)
  // The model list's heartbeat alone, answering its `{ id }`.
  app.decorate('claimPendingModelList', makeHeartbeat([modelListFace], { ...heartbeatOptions, only: modelListFace.kind.key }) as ClaimPendingModelList)
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
  const hints = wireHints(resolved.notifyPendingWork, engine, app.log, storeTimeoutMs)
  app.addHook('onReady', hints.ready)
  app.addHook('preClose', async () => { polls.close() })
  app.addHook('onClose', async () => {
    hints.close()
    // Only what the plugin built: a store object or a Redis client given to it stays open.
    await store.close()
  })

  // fastify-plugin hides Fastify's register options (prefix, logLevel, ...) from
  // this function: pass them on to an encapsulated child, which also keeps our
  // compilers to our routes.
  const { prefix, logLevel, logSerializers } = options
  await app.register(routes, { faces, polls, storeTimeoutMs, getRuntime: resolved.getRuntime, authorizeDaemon: resolved.authorizeDaemon, prefix, logLevel, logSerializers })
}

export const fastifyModelList = fp(modelList, { fastify: '5.x', name: 'fastify-model-list' })
