import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { PollQuery, ReportAck, RequestParams, RuntimeParams, limits } from '../schemas'
import { RequestNotFoundError, RuntimeNotFoundError } from '../errors'
import type { Face } from '../kinds/face'
import { WrittenAnswer } from '../kinds/kind'
import type { HeldPolls } from './held-polls'
import { compileStrict } from './validator'
import { validationError } from './validation-error'
import { documented, errorAnswers } from './openapi'
import { callStore, findRuntime, type RouteOptions } from './call-store'
import { createBodyHook, emptyIsNone } from './create-body'

export interface KindRouteOptions extends RouteOptions {
  polls: HeldPolls
}

type Params = Static<typeof RequestParams>
type PollRequest = FastifyRequest<{ Params: Params, Querystring: Static<typeof PollQuery> }>

/**
 * A report route's preParsing hook: ids, then the host's decision, before the
 * body is read: a caller the host refuses cannot make the server parse a 1 MiB report.
 */
function refuseEarly (options: Pick<RouteOptions, 'authorizeDaemon'>): (request: FastifyRequest) => Promise<void> {
  const checkIds = compileStrict(RequestParams, 'params')
  return async function refuseEarly (request) {
    const errors = checkIds(request.params)
    if (errors !== null) throw validationError(request, errors, 'params')
    // Exactly true: a truthy 'yes' from a JavaScript hook is not a yes.
    if (await options.authorizeDaemon(request, (request.params as Params).runtimeId) !== true) throw new RuntimeNotFoundError()
  }
}

/**
 * A GET: the host's lookup, then one read, or a held one while `wait_ms` asks;
 * a poll's store calls share one storeTimeoutMs. The poll waits for the
 * deadline stored with the request, whatever this replica's own timeouts.
 */
async function answerPoll (options: KindRouteOptions, face: Face, request: PollRequest, reply: FastifyReply): Promise<unknown> {
  const { runtimeId, requestId } = request.params
  const waitMs = request.query.wait_ms ?? 0
  // No online check: a runtime that went offline still has answers to read.
  await findRuntime(options, request, reply, runtimeId, false)
  const read = async <T>(withinMs: number, get: () => Promise<T>): Promise<T> => await callStore(options, reply, 'get', get, withinMs)
  const found = waitMs > 0
    ? await options.polls.hold({ face, runtimeId, requestId, waitMs, read, log: request.log })
    : await callStore(options, reply, 'get', async () => await face.get(runtimeId, requestId))
  if (found === null) throw new RequestNotFoundError()
  return face.kind.toWire(found)
}

/** A kind's three routes, made from its declaration: create, poll, report. */
export async function kindRoutes (app: FastifyInstance, options: KindRouteOptions, face: Face): Promise<void> {
  const { kind } = face
  const { schemas, docs } = kind
  const base = `/runtimes/:runtimeId/${kind.path}`

  app.post<{ Params: Static<typeof RuntimeParams>, Body: unknown }>(base, {
    ...(schemas.createBodyLimit !== undefined && { bodyLimit: schemas.createBodyLimit }),
    schema: {
      ...documented(docs.tag, docs.create),
      params: RuntimeParams,
      body: schemas.create,
      // Every status the route answers is documented: Fastify's body limit (413) and content-type parsers (415) too.
      response: { 200: schemas.request, 400: errorAnswers[400], 404: errorAnswers[404], ...schemas.createErrors, 413: errorAnswers[413], 415: errorAnswers[415], 503: errorAnswers[503] }
    },
    ...(schemas.withoutBody !== 'required' && { preParsing: emptyIsNone }),
    preValidation: createBodyHook(schemas.withoutBody)
  }, async (request, reply) => {
    const { runtimeId } = request.params
    // Before the cache: an offline runtime answers 503 even with a catalog.
    await findRuntime(options, request, reply, runtimeId, true)
    const opened = await callStore(options, reply, 'create', async () => await face.open(runtimeId, kind.openRequest(request.body)))
    const { answer } = opened
    // A cache answer written around the stored catalog: its bytes as they are, not parsed nor written again.
    if (answer instanceof WrittenAnswer) return await reply.type('application/json; charset=utf-8').send(answer.bytes())
    return answer
  })

  app.get<{ Params: Params, Querystring: Static<typeof PollQuery> }>(`${base}/:requestId`, {
    schema: {
      ...documented(docs.tag, docs.get),
      params: RequestParams,
      querystring: PollQuery,
      response: { 200: schemas.request, 400: errorAnswers[400], 404: errorAnswers[404], 503: errorAnswers[503] }
    }
  }, async (request, reply) => await answerPoll(options, face, request, reply))

  app.post<{ Params: Params, Body: unknown }>(`/daemon${base}/:requestId/result`, {
    bodyLimit: limits.reportBytes,
    schema: {
      ...documented(docs.tag, docs.report),
      params: RequestParams,
      body: schemas.report,
      response: { 200: ReportAck, 400: errorAnswers[400], 404: errorAnswers[404], 413: errorAnswers[413], 415: errorAnswers[415], 503: errorAnswers[503] }
    },
    preParsing: refuseEarly(options)
  }, async (request, reply) => {
    const { runtimeId, requestId } = request.params
    const { outcome, cache } = kind.report(request.body)
    // A late report (already terminal) changes nothing and still answers ok:
    // the daemon has nothing to retry.
    const stored = await callStore(options, reply, outcome.status === 'completed' ? 'complete' : 'fail',
      async () => await face.settle(runtimeId, requestId, outcome, cache))
    if (stored === null) throw new RequestNotFoundError()
    return { status: 'ok' as const }
  })
}
