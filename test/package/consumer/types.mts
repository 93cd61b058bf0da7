// TypeScript ESM consumer: the default import is the typed plugin (not `any`).
import Fastify from 'fastify'
import fastifyModelList, { fastifyModelList as named, MemoryModelListStore, ModelEntry, type FastifyModelListOptions } from 'fastify-model-list'

const app = Fastify()
await app.register(fastifyModelList, {
  prefix: '/api',
  getRuntime: async (request, runtimeId) => ({ online: request.headers['x-runtime'] === runtimeId }),
  authorizeDaemon: (request, runtimeId) => runtimeId.length > 0
})
// @ts-expect-error: a typo in an option name is caught
await app.register(fastifyModelList, { getRuntime: () => null, authorizeDaemon: () => true, pendingTimeoutMS: 5 })
// @ts-expect-error: a hook answering the wrong shape is caught
await app.register(fastifyModelList, { getRuntime: () => 'online', authorizeDaemon: () => true })
const same: typeof named = fastifyModelList
const entry: ModelEntry = { id: ModelEntry.type, label: 'x' }
const store = new MemoryModelListStore()
const options: FastifyModelListOptions = { store, getRuntime: () => null, authorizeDaemon: () => false }
const pending: { id: string } | null = await app.claimPendingModelList('rt')
export { same, entry, options, pending }
