// TypeScript in a CommonJS project: import statements that compile to require().
import Fastify from 'fastify'
import fastifyModelList, { fastifyModelList as named, MemoryModelListStore, ModelEntry, type FastifyModelListOptions, type ModelListStore } from 'fastify-model-list'
import { listModels, ModelListError, reportModelList } from 'fastify-model-list/client'

const app = Fastify()
app.register(fastifyModelList, {
  prefix: '/api',
  getRuntime: async (request, runtimeId) => ({ online: request.headers['x-runtime'] === runtimeId }),
  authorizeDaemon: (request, runtimeId) => runtimeId.length > 0
})
// @ts-expect-error: a typo in an option name is caught
app.register(fastifyModelList, { getRuntime: () => null, authorizeDaemon: () => true, pendingTimeoutMS: 5 })
const same: typeof named = fastifyModelList
const entry: ModelEntry = { id: ModelEntry.type, label: 'x' }
const store: ModelListStore = new MemoryModelListStore()
const options: FastifyModelListOptions = { store, getRuntime: () => null, authorizeDaemon: () => false }
async function heartbeat (): Promise<{ id: string } | null> {
  await reportModelList({ baseUrl: 'http://127.0.0.1/api', runtimeId: 'rt', requestId: 'id', report: { status: 'completed', models: [{ id: 'm', label: 'M' }] } })
  const listed = await listModels({ baseUrl: 'http://127.0.0.1/api', runtimeId: 'rt' })
  if (listed.models.length === 0) throw new ModelListError('none')
  return await app.claimPendingModelList('rt')
}
export { same, entry, options, heartbeat }
