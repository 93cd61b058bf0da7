import fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { expectError, expectType } from 'tsd'
import fastifyModelList, { ModelEntry, ModelListRequest, ModelListReport, type FastifyModelListOptions } from '..'

const app = fastify()

// The hooks' parameters are typed from the options, not `any`.
app.register(fastifyModelList, {
  getRuntime: (request, runtimeId) => {
    expectType<FastifyRequest>(request)
    expectType<string>(runtimeId)
    return null
  },
  authorizeDaemon: async (request, runtimeId) => {
    expectType<FastifyRequest>(request)
    expectType<string>(runtimeId)
    return true
  }
})

const hooks = { getRuntime: () => ({ online: true }), authorizeDaemon: () => true }

// Typos and wrong hook results are refused.
expectError(app.register(fastifyModelList, { ...hooks, pendingTimeoutMS: 5_000 }))
expectError(app.register(fastifyModelList, { ...hooks, keyprefix: 'ml' }))
expectError(app.register(fastifyModelList, { ...hooks, storeTimeoutMs: '2s' }))
expectError(app.register(fastifyModelList, { getRuntime: () => ({ online: 'yes' }), authorizeDaemon: () => true }))
expectError(app.register(fastifyModelList, { getRuntime: () => true, authorizeDaemon: () => true }))
expectError(app.register(fastifyModelList, { getRuntime: () => null, authorizeDaemon: () => 'yes' }))
expectError(app.register(fastifyModelList, { getRuntime: () => null, authorizeDaemon: async () => 1 }))

// The function form: the parent instance in, options out, typos refused there too.
app.register(fastifyModelList, (parent) => {
  expectType<FastifyInstance>(parent as FastifyInstance)
  return { ...hooks, prefix: '/api' }
})
// (A typo in an object the function returns is not caught: TypeScript checks
// excess properties of a returned literal only against a declared return type.)
expectError(app.register(fastifyModelList, (): FastifyModelListOptions => ({ ...hooks, retentionMS: 1 })))
expectError(app.register(fastifyModelList, () => ({ authorizeDaemon: () => true })))
const typed: FastifyModelListOptions = { ...hooks }
expectType<FastifyModelListOptions>(typed)

// The schemas' Static types are the exported types.
expectType<ModelEntry>({} as Static<typeof ModelEntry>)
expectType<ModelListRequest>({} as Static<typeof ModelListRequest>)
expectType<ModelListReport>({} as Static<typeof ModelListReport>)
