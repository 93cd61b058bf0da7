// CommonJS: require() gets the named exports and `default`.
const Fastify = require('fastify')
const modelList = require('fastify-model-list')
const { fastifyModelList, MemoryModelListStore, ModelEntry } = modelList
const { listModels, ModelListError, reportModelList } = require('fastify-model-list/client')

async function main () {
  const app = Fastify()
  await app.register(fastifyModelList, { prefix: '/api', getRuntime: () => ({ online: true }), authorizeDaemon: () => true })
  const { flow } = await import('./flow.mjs')
  console.log(JSON.stringify({
    same: modelList.default === fastifyModelList,
    store: app.modelListStore instanceof MemoryModelListStore,
    schema: ModelEntry.type,
    flow: await flow(app),
    client: [typeof listModels, typeof reportModelList, new ModelListError('x').name]
  }))
  await app.close()
}
main()
