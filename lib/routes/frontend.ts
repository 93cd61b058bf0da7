import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { CreateBody, ModelListRequest, RequestParams, RuntimeParams } from '../schemas'
import { RequestNotFoundError } from '../errors'
import type { ResolvedOptions } from '../options'
import { callStore, findRuntime } from './call-store'

const kHiddenContentType = Symbol('fastify-model-list.hiddenContentType')
type Hiding = FastifyRequest & { [kHiddenContentType]?: string }

function isJson (contentType: string): boolean {
  return contentType.split(';', 1)[0].trim().toLowerCase() === 'application/json'
}

// The create body is optional: an empty one sent as JSON counts as none. Fastify
// parses only a body that names its content type, so that name is hidden for
// this one request; every other body goes through the host's own JSON parser.
async function emptyJsonIsNone (request: FastifyRequest): Promise<void> {
  const headers = request.raw.headers
  const contentType = headers['content-type']
  const empty = headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0')
  if (empty && contentType !== undefined && isJson(contentType)) {
    (request as Hiding)[kHiddenContentType] = contentType
    delete headers['content-type']
  }
}

// Past parsing: the host's later hooks see the request as it came.
async function restoreContentType (request: FastifyRequest): Promise<void> {
  const hidden = (request as Hiding)[kHiddenContentType]
  if (hidden !== undefined) request.raw.headers['content-type'] = hidden
}

export async function createRoute (app: FastifyInstance, options: ResolvedOptions): Promise<void> {
  app.post<{ Params: Static<typeof RuntimeParams>, Body: Static<typeof CreateBody> }>('/runtimes/:runtimeId/models', {
    schema: { params: RuntimeParams, body: CreateBody, response: { 200: ModelListRequest } },
    preParsing: emptyJsonIsNone,
    preValidation: restoreContentType
  }, async (request, reply) => {
    const { runtimeId } = request.params
    await findRuntime(options, request, reply, runtimeId, true)
    const { store, coalesce } = options
    return await callStore(options, reply, 'create', () => store.create(runtimeId, { coalesce }))
  })
}

export async function getRoute (app: FastifyInstance, options: ResolvedOptions): Promise<void> {
  app.get<{ Params: Static<typeof RequestParams> }>('/runtimes/:runtimeId/models/:requestId', {
    schema: { params: RequestParams, response: { 200: ModelListRequest } }
  }, async (request, reply) => {
    const { runtimeId, requestId } = request.params
    // No online check: a runtime that went offline still has answers to read.
    await findRuntime(options, request, reply, runtimeId, false)
    const found = await callStore(options, reply, 'get', () => options.store.get(runtimeId, requestId))
    if (found === null) throw new RequestNotFoundError()
    return found
  })
}
