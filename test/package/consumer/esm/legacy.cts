// A CommonJS file in an ESM project: this program reads both declaration
// sets (the .d.ts for this file, the .d.mts for the .ts files beside it).
import Fastify = require('fastify')
import modelList = require('fastify-model-list')
import client = require('fastify-model-list/client')

const app = Fastify()
app.register(modelList.fastifyModelList, { getRuntime: () => null, authorizeDaemon: () => false })
app.register(modelList.default, { getRuntime: () => ({ online: true }), authorizeDaemon: () => true })
// @ts-expect-error: a typo in an option name is caught
app.register(modelList.fastifyModelList, { getRuntime: () => null, authorizeDaemon: () => false, keyprefix: 'x' })
export const store: modelList.ModelListStore = new modelList.MemoryModelListStore()
export const list: typeof client.listModels = client.listModels
