// ESM: the default import is the plugin; the named exports sit beside it.
import Fastify from 'fastify'
import fastifyModelList, { fastifyModelList as named, MemoryModelListStore, ModelEntry } from 'fastify-model-list'
import { listModels, ModelListError, reportModelList } from 'fastify-model-list/client'
import { flow } from './flow.mjs'

const app = Fastify()
await app.register(fastifyModelList, { prefix: '/api', getRuntime: () => ({ online: true }), authorizeDaemon: () => true })
console.log(JSON.stringify({
  same: fastifyModelList === named,
  store: app.modelListStore instanceof MemoryModelListStore,
  schema: ModelEntry.type,
  flow: await flow(app),
  client: [typeof listModels, typeof reportModelList, new ModelListError('x').name]
}))
await app.close()
