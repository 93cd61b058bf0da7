import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { ModelListStore } from './store'
import { resolveOptions, type FastifyModelListOptions } from './options'
import { makeClaimPendingModelList, type ClaimPendingModelList } from './heartbeat'
import { schemaSerializerCompiler, strictValidatorCompiler } from './validator'
import { createRoute, getRoute, type FrontendOptions } from './routes/frontend'
import { reportRoute } from './routes/daemon'
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
}

async function modelList (app: FastifyInstance, options: FastifyModelListOptions): Promise<void> {
  const resolved = resolveOptions(app, options)
  const { store, capabilities } = resolved
  capabilities.useLog?.(app.log)

  app.decorate('modelListStore', store)
  app.decorate('claimPendingModelList', makeClaimPendingModelList(store, capabilities, app.log, resolved.heartbeatProbeTimeoutMs, resolved.storeTimeoutMs, resolved.now))

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
