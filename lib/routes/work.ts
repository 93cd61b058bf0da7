import type { FastifyInstance } from 'fastify'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { limits, PollQuery, ReportAck, RequestParams, RuntimeParams } from '../schemas'
import { RequestNotFoundError } from '../errors'
import type { WorkKindStore } from '../work/kind-store'
import { WorkRequest } from '../work/request'
import type { FrontendOptions } from './frontend'
import { answerPoll, emptyJsonIsNone, restoreContentType } from './frontend'
import { callStore, findRuntime } from './call-store'
import { refuseEarly, truncate, unexplainedFailure } from './daemon'
import { documented, errorAnswers } from './openapi'

const busyAnswer = Type.Object({
  statusCode: Type.Optional(Type.Integer()),
  code: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  message: Type.Optional(Type.String())
}, { description: 'FST_MODEL_LIST_WORK_BUSY: an exclusive kind already has a request pending or running (the message names it)', additionalProperties: true })

// A kind without params takes no body: none, an empty one, or `{}`.
const NoParams = Type.Union([Type.Null(), Type.Object({})])

/**
 * A kind's report: one object (not a union of two, whose first branch would
 * strip the second's fields), `result` required when completed. The `if` names
 * every field: our Ajv drops fields a schema with `properties` does not name.
 */
function reportSchema (result: TSchema): TSchema {
  const completed = { properties: { status: { const: 'completed' }, result: {}, error: {} } }
  return Type.Object({
    status: Type.Union([Type.Literal('completed'), Type.Literal('failed')]),
    result: Type.Optional(result),
    error: Type.Optional(Type.String())
  }, { if: completed, then: { required: ['result'] } })
}

interface Report { status: 'completed' | 'failed', result?: unknown, error?: string }

/** The three routes of a declared kind, generated from its declaration: create, poll, report. */
export async function workRoutes (app: FastifyInstance, options: FrontendOptions, kinds: WorkKindStore): Promise<void> {
  const { kind } = kinds
  const request = WorkRequest(kind.params, kind.result)
  const base = `/runtimes/:runtimeId/${kind.path}`

  app.post<{ Params: Static<typeof RuntimeParams>, Body: unknown }>(base, {
    bodyLimit: limits.reportBytes,
    schema: {
      ...documented({ operationId: `create_${kind.name}`, summary: `Ask the runtime's daemon for ${kind.name} work`, description: 'Queues a request (or joins an equal pending one) for the daemon\'s next heartbeat.' }),
      params: RuntimeParams,
      body: kind.params ?? NoParams,
      response: { 200: request, 400: errorAnswers[400], 404: errorAnswers[404], 409: busyAnswer, 503: errorAnswers[503] }
    },
    ...(kind.params === undefined && { preParsing: emptyJsonIsNone, preValidation: restoreContentType })
  }, async (req, reply) => {
    const { runtimeId } = req.params
    await findRuntime(options, req, reply, runtimeId, true)
    const params = kind.params === undefined ? undefined : req.body
    const opened = await callStore(options, reply, 'create', () => kinds.open(runtimeId, params))
    if (opened.queued) options.afterQueued(runtimeId, kind.name)
    return opened.request
  })

  app.get<{ Params: Static<typeof RequestParams>, Querystring: Static<typeof PollQuery> }>(`${base}/:requestId`, {
    schema: {
      ...documented({ operationId: `get_${kind.name}`, summary: `Read a ${kind.name} request`, description: 'With wait_ms, held until the request is terminal, its deadline passes, or wait_ms pass.' }),
      params: RequestParams,
      querystring: PollQuery,
      response: { 200: request, 400: errorAnswers[400], 404: errorAnswers[404], 503: errorAnswers[503] }
    }
  }, async (req, reply) => await answerPoll(options, req, reply, kinds.get.bind(kinds), polled => kinds.msUntilDeadline(polled)))

  app.post<{ Params: Static<typeof RequestParams>, Body: Report }>(`/daemon${base}/:requestId/result`, {
    bodyLimit: limits.reportBytes,
    schema: {
      ...documented({ operationId: `report_${kind.name}`, summary: `The daemon's report of a claimed ${kind.name} request`, description: 'Completes or fails the request; a report for a request already terminal is ignored and still answers ok.' }),
      params: RequestParams,
      body: reportSchema(kind.result),
      response: { 200: ReportAck, 400: errorAnswers[400], 404: errorAnswers[404], 413: errorAnswers[413], 503: errorAnswers[503] }
    },
    preParsing: refuseEarly(options)
  }, async (req, reply) => {
    const { runtimeId, requestId } = req.params
    const report = req.body
    // A late report (already terminal) changes nothing and still answers ok.
    const stored = report.status === 'completed'
      ? await callStore(options, reply, 'complete', () => kinds.complete(runtimeId, requestId, report.result))
      // Truncated, not refused: a daemon never retries a 4xx and the failure would be lost.
      : await callStore(options, reply, 'fail', () => kinds.fail(runtimeId, requestId, truncate(report.error ?? unexplainedFailure)))
    if (stored === null) throw new RequestNotFoundError()
    return { status: 'ok' as const }
  })
}
