import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { ModelListStore } from './store'
import { resolveOptions, type FastifyModelListOptions } from './options'
import { makeClaimPendingModelList, type ClaimPendingModelList } from './heartbeat'
import { schemaSerializerCompiler, strictValidatorCompiler } from './validator'
import { createRoute, getRoute, type FrontendOptions } from './routes/frontend'
import { reportRoute } from './routes/daemon'
import { workRoutes } from './routes/work'
import { makeClaimPendingWork, type ClaimPendingWork } from './work/heartbeat'
import type { DaemonWork } from './work/declare'
import type { WorkKindStore } from './work/kind-store'
import { InvalidOptionError } from './errors'
import { HeldPolls } from './held-polls'
import { wireHints } from './hints'

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

type RegisterOptions = Pick<FastifyModelListOptions, 'prefix' | 'logLevel' | 'logSerializers'>

async function routes (app: FastifyInstance, options: FrontendOptions): Promise<void> {
  // Ours whatever the host set (a zod or TypeBox provider, its own Ajv): the
  // routes validate strictly and answer from the TypeBox schemas. Parsers,
  // hooks and the error handler stay the host's.
  app.setValidatorCompiler(strictValidatorCompiler)
  app.setSerializerCompiler(schemaSerializerCompiler)
  await createRoute(app, options)
  await getRoute(app, options)
  await reportRoute(app, options)
  for (const kind of options.kinds) await workRoutes(app, options, kind)
}

async function modelList (app: FastifyInstance, options: FastifyModelListOptions): Promise<void> {
  const resolved = resolveOptions(app, options)
  const { store, capabilities } = resolved
  capabilities.useLog?.(app.log)

  app.decorate('modelListStore', store)
  app.decorate('claimPendingModelList', makeClaimPendingModelList(store, capabilities, app.log, resolved.heartbeatProbeTimeoutMs, resolved.storeTimeoutMs, resolved.now))
  app.decorate('claimPendingWork', makeClaimPendingWork(store, resolved.backend, resolved.kinds, capabilities, app.log, resolved.heartbeatProbeTimeoutMs, resolved.storeTimeoutMs, resolved.now))
  app.decorate('daemonWorkStore', function daemonWorkStore<Kind extends DaemonWork> (kind: Kind): WorkKindStore<Kind> {
    const found = resolved.kinds.find(known => known.kind === kind)
    if (found === undefined) throw new InvalidOptionError(`daemonWorkStore: ${String((kind as DaemonWork | undefined)?.name)} is not a kind given to work`)
    return found as unknown as WorkKindStore<Kind>
  })

  // Each long-lived wait has one owner that ends it: held polls answer before
  // the server stops; the hint listener and a store we built go on close.
  const polls = new HeldPolls(capabilities, resolved.storeTimeoutMs)
  const hints = wireHints(resolved.notifyPendingWork, capabilities, app.log, resolved.storeTimeoutMs)
  app.addHook('onReady', hints.ready)
  app.addHook('preClose', async () => { polls.close() })
  app.addHook('onClose', async () => {
    hints.close()
    // Only what the plugin built: a store object or a Redis client given to it stays open.
    if (resolved.ownsStore) await store.close()
  })

  // fastify-plugin hides Fastify's register options (prefix, logLevel, ...) from
  // this function: pass them on to an encapsulated child, which also keeps our
  // compilers to our routes.
  const { prefix, logLevel, logSerializers } = options
  const register: RegisterOptions = { prefix, logLevel, logSerializers }
  await app.register(routes, { ...resolved, polls, afterQueued: hints.afterQueued, ...register })
}

export const fastifyModelList = fp(modelList, { fastify: '5.x', name: 'fastify-model-list' })
