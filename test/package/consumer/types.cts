// TypeScript CommonJS consumer.
import Fastify = require('fastify')
import modelList = require('fastify-model-list')

const app = Fastify()
app.register(modelList.fastifyModelList, { getRuntime: () => null, authorizeDaemon: () => false })
app.register(modelList.default, { getRuntime: () => ({ online: true }), authorizeDaemon: () => true })
// @ts-expect-error: a typo in an option name is caught
app.register(modelList.fastifyModelList, { getRuntime: () => null, authorizeDaemon: () => false, keyprefix: 'x' })
export const store: modelList.ModelListStore = new modelList.MemoryModelListStore()
