import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { PendingModelList } from './schemas'
import type { ModelListStore } from './store'
import { resolveOptions, type FastifyModelListOptions, type ResolvedOptions } from './options'
import { makeClaimPendingModelList } from './heartbeat'
import { strictValidatorCompiler } from './validator'
import { createRoute, getRoute } from './routes/frontend'
import { reportRoute } from './routes/daemon'

declare module 'fastify' {
  interface FastifyInstance {
    /** The store in use. */
    modelListStore: ModelListStore
    /** For the host's heartbeat route: claims the runtime's oldest pending request; never throws. */
    claimPendingModelList(runtimeId: string): Promise<PendingModelList | null>
  }
}

// `prefix` was spent on this context: the routes' own contexts must not add it again.
async function routes (app: FastifyInstance, { prefix, ...options }: ResolvedOptions & { prefix?: string }): Promise<void> {
  app.setValidatorCompiler(strictValidatorCompiler)
  // The create route has a JSON parser of its own, so it gets a context of its own.
  await app.register(createRoute, options)
  await app.register(getRoute, options)
  await app.register(reportRoute, options)
}

async function modelList (app: FastifyInstance, options: FastifyModelListOptions): Promise<void> {
  const resolved = resolveOptions(app, options)
  const { store } = resolved

  app.decorate('modelListStore', store)
  app.decorate('claimPendingModelList', makeClaimPendingModelList(store, app.log, resolved.heartbeatProbeTimeoutMs, resolved.storeTimeoutMs))
  // Only what the plugin built: a store object or a Redis client given to it stays open.
  if (resolved.ownsStore) app.addHook('onClose', async () => { await store.close() })

  // fastify-plugin hides the register prefix from this function: pass it on to
  // an encapsulated child, which also keeps the strict validator to our routes.
  await app.register(routes, { ...resolved, prefix: options.prefix })
}

export const fastifyModelList = fp(modelList, { fastify: '5.x', name: 'fastify-model-list' })
