import type { FastifyInstance } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { CreateBody, ModelListRequest, RequestParams, RuntimeParams } from '../schemas'
import { RequestNotFoundError } from '../errors'
import type { ResolvedOptions } from '../options'
import { callStore, findRuntime } from './call-store'

export async function createRoute (app: FastifyInstance, options: ResolvedOptions): Promise<void> {
  // The body is optional: an empty one sent as JSON counts as none, where
  // Fastify's own JSON parser would refuse it. Otherwise that parser runs, with
  // the host's poisoning settings (Fastify always fills both in).
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig as Required<typeof app.initialConfig>
  const parseJson = app.getDefaultJsonParser(onProtoPoisoning, onConstructorPoisoning)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, null)
    else parseJson(request, body as string, done)
  })

  app.post<{ Params: Static<typeof RuntimeParams>, Body: Static<typeof CreateBody> }>('/runtimes/:runtimeId/models', {
    schema: { params: RuntimeParams, body: CreateBody, response: { 200: ModelListRequest } }
  }, async (request, reply) => {
    const { runtimeId } = request.params
    await findRuntime(options, request, reply, runtimeId, true)
    const { store, coalesce } = options
    return await callStore(options, request, reply, 'create', () => store.create(runtimeId, { coalesce }))
  })
}

export async function getRoute (app: FastifyInstance, options: ResolvedOptions): Promise<void> {
  app.get<{ Params: Static<typeof RequestParams> }>('/runtimes/:runtimeId/models/:requestId', {
    schema: { params: RequestParams, response: { 200: ModelListRequest } }
  }, async (request, reply) => {
    const { runtimeId, requestId } = request.params
    // No online check: a runtime that went offline still has answers to read.
    await findRuntime(options, request, reply, runtimeId, false)
    const found = await callStore(options, request, reply, 'get', () => options.store.get(runtimeId, requestId))
    if (found === null) throw new RequestNotFoundError()
    return found
  })
}
