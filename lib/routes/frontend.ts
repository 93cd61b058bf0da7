import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { CreateBody, ModelListRequest, PollQuery, RequestParams, RuntimeParams } from '../schemas'
import { RequestNotFoundError } from '../errors'
import { modelListKind, type WorkStatus } from '../lifecycle'
import type { ResolvedOptions } from '../options'
import type { Opened, OpenOptions } from '../capabilities'
import type { HeldPolls } from '../held-polls'
import { documented, errorAnswers } from './openapi'
import { callStore, findRuntime } from './call-store'

const kHiddenContentType = Symbol('fastify-model-list.hiddenContentType')
type Hiding = FastifyRequest & { [kHiddenContentType]?: string }

function isJson (contentType: string): boolean {
  return contentType.split(';', 1)[0].trim().toLowerCase() === 'application/json'
}

// The create body is optional: an empty one sent as JSON counts as none. Fastify
// parses only a body that names its content type, so that name is hidden for
// this one request; every other body goes through the host's own JSON parser.
export async function emptyJsonIsNone (request: FastifyRequest): Promise<void> {
  const headers = request.raw.headers
  const contentType = headers['content-type']
  const empty = headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0')
  if (empty && contentType !== undefined && isJson(contentType)) {
    (request as Hiding)[kHiddenContentType] = contentType
    delete headers['content-type']
  }
}

// Past parsing: the host's later hooks see the request as it came.
export async function restoreContentType (request: FastifyRequest): Promise<void> {
  const hidden = (request as Hiding)[kHiddenContentType]
  if (hidden !== undefined) request.raw.headers['content-type'] = hidden
}

export interface FrontendOptions extends ResolvedOptions {
  polls: HeldPolls
  /** Called after a POST queued work, when the store does not carry the hint itself. */
  afterQueued: (runtimeId: string, kind: string) => void
}

export async function createRoute (app: FastifyInstance, options: FrontendOptions): Promise<void> {
  const { store, coalesce, useCache, afterQueued } = options
  // A plain store cannot say whether it joined: count every create as queued
  // (a spare hint costs one early heartbeat).
  const open = options.capabilities.open ??
    (async (runtimeId: string, { coalesce }: OpenOptions): Promise<Opened> => ({ request: await store.create(runtimeId, { coalesce }), queued: true }))

  app.post<{ Params: Static<typeof RuntimeParams>, Body: Static<typeof CreateBody> }>('/runtimes/:runtimeId/models', {
    schema: {
      ...documented({
        operationId: 'createModelListRequest',
        summary: 'Ask a runtime for its models',
        description: 'Queues a request the daemon claims on its next heartbeat, joins a pending one, or answers from the catalog cache (cached: true). The body is optional; { "force": true } skips the cache.'
      }),
      params: RuntimeParams,
      body: CreateBody,
      response: { 200: ModelListRequest, 400: errorAnswers[400], 404: errorAnswers[404], 503: errorAnswers[503] }
    },
    preParsing: emptyJsonIsNone,
    preValidation: restoreContentType
  }, async (request, reply) => {
    const { runtimeId } = request.params
    // Before the cache: an offline runtime answers 503 even with a catalog.
    await findRuntime(options, request, reply, runtimeId, true)
    const force = request.body?.force === true
    const opened = await callStore(options, reply, 'create', () => open(runtimeId, { coalesce, useCache: useCache && !force }))
    if (opened.queued) afterQueued(runtimeId, modelListKind)
    return opened.request
  })
}

export async function getRoute (app: FastifyInstance, options: FrontendOptions): Promise<void> {
  const { store } = options
  app.get<{ Params: Static<typeof RequestParams>, Querystring: Static<typeof PollQuery> }>('/runtimes/:runtimeId/models/:requestId', {
    schema: {
      ...documented({
        operationId: 'getModelListRequest',
        summary: 'Poll a model list request',
        description: 'The request as stored; with wait_ms, held until it is terminal, its deadline passes, or wait_ms pass.'
      }),
      params: RequestParams,
      querystring: PollQuery,
      response: { 200: ModelListRequest, 400: errorAnswers[400], 404: errorAnswers[404], 503: errorAnswers[503] }
    }
  }, async (request, reply) => await answerPoll(options, request, reply, store.get.bind(store),
    options.capabilities.msUntilDeadline as (request: ModelListRequest) => number))
}

type PollRequest = FastifyRequest<{ Params: Static<typeof RequestParams>, Querystring: Static<typeof PollQuery> }>

/**
 * Every kind's GET: the host's lookup, then one read, or a held one while
 * `wait_ms` asks and the store can wake it; a poll's store calls share one
 * storeTimeoutMs.
 */
export async function answerPoll<Request extends { status: WorkStatus }> (
  options: FrontendOptions,
  request: PollRequest,
  reply: FastifyReply,
  get: (runtimeId: string, requestId: string) => Promise<Request | null>,
  msUntilDeadline: (found: Request) => number
): Promise<Request> {
  const { runtimeId, requestId } = request.params
  const waitMs = request.query.wait_ms ?? 0
  // No online check: a runtime that went offline still has answers to read.
  await findRuntime(options, request, reply, runtimeId, false)
  const read = async (withinMs?: number): Promise<Request | null> =>
    await callStore(options, reply, 'get', () => get(runtimeId, requestId), withinMs)
  const found = waitMs > 0 && options.polls.supported
    ? await options.polls.hold(runtimeId, requestId, waitMs, read, request.log, msUntilDeadline)
    : await read()
  if (found === null) throw new RequestNotFoundError()
  return found
}
