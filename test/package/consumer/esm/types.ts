// TypeScript ESM consumer: the default import is the typed plugin (not `any`).
import Fastify from 'fastify'
import { listModels, ModelListError, reportModelList } from 'fastify-model-list/client'
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
const listed: { models: Array<{ id: string }>, supported: boolean, cached: boolean, cachedAt?: string } = await listModels({ baseUrl: 'http://127.0.0.1/api', runtimeId: 'rt', force: true, timeoutMs: 1_000 })
await reportModelList({ baseUrl: 'http://127.0.0.1/api', runtimeId: 'rt', requestId: 'id', report: { status: 'completed', models: [{ id: 'm', label: 'M' }] } })
// @ts-expect-error: a report's status is completed or failed
await reportModelList({ baseUrl: '', runtimeId: 'rt', requestId: 'id', report: { status: 'running' } })
const failure: number | undefined = new ModelListError('x').statusCode
export { same, entry, options, pending, listed, failure }
