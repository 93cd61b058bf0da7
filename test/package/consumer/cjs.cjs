// CommonJS: require() gets the named exports and `default`.
const Fastify = require('fastify')
const modelList = require('fastify-model-list')
const { fastifyModelList, MemoryModelListStore, ModelEntry } = modelList

async function main () {
  const app = Fastify()
  await app.register(fastifyModelList, { prefix: '/api', getRuntime: () => ({ online: true }), authorizeDaemon: () => true })
  const { flow } = await import('./flow.mjs')
  console.log(JSON.stringify({
    same: modelList.default === fastifyModelList,
    store: app.modelListStore instanceof MemoryModelListStore,
    schema: ModelEntry.type,
    flow: await flow(app)
  }))
  await app.close()
}
main()
