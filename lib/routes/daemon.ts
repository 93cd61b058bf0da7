import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { limits, ModelListReport, ReportAck, RequestParams } from '../schemas'
import { RequestNotFoundError, RuntimeNotFoundError } from '../errors'
import type { ResolvedOptions } from '../options'
import { compileStrict } from '../validator'
import { documented, errorAnswers } from './openapi'
import { callStore } from './call-store'
import { validationError } from './validation-error'

// A daemon that fails without saying why still ends the request.
export const unexplainedFailure = 'daemon reported a failure without a message'

// Never ends on half of a surrogate pair: the stored error stays well-formed.
export function truncate (error: string): string {
  if (error.length <= limits.error) return error
  const cut = error.slice(0, limits.error)
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut
}

type Params = Static<typeof RequestParams>

/**
 * A report route's preParsing hook: ids, then the host's decision, before the
 * body is read: a caller the host refuses cannot make the server parse a 1 MiB report.
 */
export function refuseEarly (options: Pick<ResolvedOptions, 'authorizeDaemon'>): (request: FastifyRequest) => Promise<void> {
  const checkIds = compileStrict(RequestParams, 'params')
  return async function refuseEarly (request) {
    const errors = checkIds(request.params)
    if (errors !== null) throw validationError(request, errors, 'params')
    // Exactly true: a truthy 'yes' from a JavaScript hook is not a yes.
    if (await options.authorizeDaemon(request, (request.params as Params).runtimeId) !== true) throw new RuntimeNotFoundError()
  }
}

export async function reportRoute (app: FastifyInstance, options: ResolvedOptions): Promise<void> {
  app.post<{ Params: Params, Body: ModelListReport }>('/daemon/runtimes/:runtimeId/models/:requestId/result', {
    bodyLimit: limits.reportBytes,
    schema: {
      ...documented({
        operationId: 'reportModelList',
        summary: "The daemon's report of a claimed request",
        description: 'Completes or fails the request; a report for a request already terminal is ignored and still answers ok. Retry on 5xx, never on 4xx.'
      }),
      params: RequestParams,
      body: ModelListReport,
      response: { 200: ReportAck, 400: errorAnswers[400], 404: errorAnswers[404], 413: errorAnswers[413], 503: errorAnswers[503] }
    },
    preParsing: refuseEarly(options)
  }, async (request, reply) => {
    const { runtimeId, requestId } = request.params
    const report = request.body
    const { store } = options
    // A late report (already terminal) is stored nowhere and still answers ok:
    // the daemon has nothing to retry.
    const stored = report.status === 'completed'
      ? await callStore(options, reply, 'complete', () => store.complete(runtimeId, requestId, {
        models: report.models ?? [],
        // Older daemons omit `supported`.
        supported: report.supported ?? true,
        ...(report.fallback !== undefined && { fallback: report.fallback })
      }))
      // Truncated, not refused: a daemon never retries a 4xx and the failure would be lost.
      : await callStore(options, reply, 'fail', () => store.fail(runtimeId, requestId, truncate(report.error ?? unexplainedFailure)))
    if (stored === null) throw new RequestNotFoundError()
    return { status: 'ok' as const }
  })
}
