import { Type, type TSchema } from '@sinclair/typebox'
import { limits, WorkRequest } from '../schemas'
import { WorkRules } from '../rules'
import type { WorkRecord } from '../store/contract'
import { operationName, type DaemonWork } from './declare'
import { truncate, unexplainedFailure, type Kind } from './kind'
import { LastIso, LastParsed } from './wire-copies'
import { compileStrict } from '../routes/validator'
import { checkedAs } from '../routes/ajv-schema'
import type { WithoutBody } from '../routes/create-body'

// A declared kind (`daemonWork`) as the plugin runs it: the same routes,
// storage and heartbeat as the model list, shaped by its own schemas.

/** A kind's rules: its own timeouts, else the base ones (the plugin's). */
export function kindRules (kind: DaemonWork, base: WorkRules): WorkRules {
  const pendingTimeoutMs = kind.pendingTimeoutMs ?? base.pendingTimeoutMs
  const runningTimeoutMs = kind.runningTimeoutMs ?? base.runningTimeoutMs
  // A terminal record must outlive the kind's own timeouts, which may be longer than the plugin's.
  const retentionMs = kind.retentionMs ?? Math.max(base.retentionMs, 2 * Math.max(pendingTimeoutMs, runningTimeoutMs))
  return new WorkRules({ pendingTimeoutMs, runningTimeoutMs, retentionMs }, kind.name)
}

/** JSON with every object's keys sorted, so equal values give equal strings. */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner
    const sorted: Record<string, unknown> = {}
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key]
    return sorted
  })
}

// The last record's pieces: the polls one wake-up answers all read one record.
const createdAt = new LastIso()
const updatedAt = new LastIso()
const params = new LastParsed()
const results = new LastParsed()

export function toWorkRequest (record: WorkRecord): WorkRequest {
  const request: WorkRequest = {
    id: record.id,
    runtime_id: record.runtimeId,
    status: record.status,
    created_at: createdAt.format(record.createdAt),
    updated_at: updatedAt.format(record.updatedAt)
  }
  // A copy per read, so callers never share an object with the store or each other.
  if (record.params !== undefined) request.params = params.parse(record.params)
  if (record.result !== undefined) request.result = results.parse(record.result)
  if (record.error !== undefined) request.error = record.error
  return request
}

/** Claimed records as the heartbeat hands them to the daemon. */
export function pendingItems (claimed: WorkRecord[]): Array<{ id: string, params?: unknown }> {
  return claimed.map(record => record.params === undefined ? { id: record.id } : { id: record.id, params: JSON.parse(record.params) })
}

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
 * strip the second's fields), `result` required when completed. OpenAPI 3.0
 * has no `if`: the documented schema says it in words, Ajv checks the `if`,
 * which names every field (our Ajv drops fields a schema with `properties` does not name).
 */
function reportSchema (result: TSchema): TSchema {
  const fields = {
    status: Type.Union([Type.Literal('completed'), Type.Literal('failed')]),
    result: Type.Optional(result),
    error: Type.Optional(Type.String())
  }
  const completed = { properties: { status: { const: 'completed' }, result: {}, error: {} } }
  return checkedAs(
    Type.Object(fields, { description: '`result` is required when `status` is `completed`; `error` says why a failed request failed.' }),
    Type.Object(fields, { if: completed, then: { required: ['result'] } })
  )
}

/** A kind without params takes no body; one whose params accept `{}` takes none as `{}`. */
function withoutBody (params: TSchema | undefined): WithoutBody {
  if (params === undefined) return 'null'
  return compileStrict(params, 'body')({}) === null ? 'empty object' : 'required'
}

interface Report { status: 'completed' | 'failed', result?: unknown, error?: string }

/** A declared kind, its rules resolved against the plugin's. */
export function declaredKind (declared: DaemonWork, base: WorkRules): Kind<WorkRequest> {
  const { name } = declared
  // Either TypeBox's schemas are JSON Schemas: ours compose them as such.
  const params = declared.params as TSchema | undefined
  const result = declared.result as TSchema
  const withParams = params !== undefined
  return {
    name,
    path: declared.path,
    key: `pending_${name}`,
    rules: kindRules(declared, base),
    exclusive: declared.exclusive,
    claimBatch: declared.claimBatch,
    schemas: {
      create: params ?? NoParams,
      withoutBody: withoutBody(params),
      createBodyLimit: limits.reportBytes,
      request: WorkRequest(params, result),
      report: reportSchema(result),
      // Only an exclusive kind answers 409.
      createErrors: declared.exclusive ? { 409: busyAnswer } : {}
    },
    docs: {
      tag: name.replace(/_/g, '-'),
      create: { operationId: `create${operationName(name)}Request`, summary: `Ask the runtime's daemon for ${name} work`, description: 'Queues a request (or joins an equal pending one) for the daemon\'s next heartbeat.' },
      get: { operationId: `get${operationName(name)}Request`, summary: `Read a ${name} request`, description: 'With wait_ms, held until the request is terminal, its deadline passes, or wait_ms pass.' },
      report: { operationId: `report${operationName(name)}`, summary: `The daemon's report of a claimed ${name} request`, description: 'Completes or fails the request; a report for a request already terminal is ignored and still answers ok.' }
    },
    openRequest: body => ({
      // Stored with sorted keys: equal params are equal strings, whatever order a client sent them in.
      ...(withParams && body !== undefined && body !== null && { params: canonicalJson(body) }),
      coalesce: declared.coalesce,
      exclusive: declared.exclusive,
      useCache: false
    }),
    toWire: toWorkRequest,
    report: body => {
      const report = body as Report
      return report.status === 'completed'
        ? { outcome: { status: 'completed', result: JSON.stringify(report.result) }, cache: 'keep' }
        // Truncated, not refused: a daemon never retries a 4xx and the failure would be lost.
        : { outcome: { status: 'failed', error: truncate(report.error ?? unexplainedFailure, limits.error) }, cache: 'keep' }
    },
    pending: claimed => declared.claimBatch > 1 ? pendingItems(claimed) : pendingItems(claimed)[0]
  }
}
