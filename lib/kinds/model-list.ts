import { Type } from '@sinclair/typebox'
import fastJson from 'fast-json-stringify'
import { CreateBody, limits, ModelEntry, ModelListReport, ModelListRequest } from '../schemas'
import { newId } from '../ids'
import type { WorkRules } from '../rules'
import type { CachedResult, CatalogAction, Outcome, WorkRecord } from '../store/contract'
import { truncate, unexplainedFailure, WrittenAnswer, type Kind } from './kind'
import { LastIso, LastParsed } from './wire-copies'

// The model list: the first kind of work, built in. Its codec maps stored
// records to today's wire shapes, and decides what a report does to the catalog.

/** What a completed report carries: the models, and whether the runtime lists them at all. */
export interface ModelListResult {
  models: ModelEntry[]
  supported: boolean
  /** The daemon's guess (discovery failed): completes the request, leaves the catalog as it is. */
  fallback?: boolean
}

/**
 * What an accepted report does to the catalog: a real catalog is stored, a
 * real "nothing" drops it; a fallback (the daemon's guess) leaves it.
 */
export function catalogAction (outcome: ModelListResult | null): CatalogAction {
  if (outcome === null || outcome.fallback === true) return 'keep'
  return outcome.supported && outcome.models.length > 0 ? 'store' : 'drop'
}

/** A completed report as stored: the result JSON a record and the catalog keep. */
export function completed (result: ModelListResult): Outcome {
  const stored: ModelListResult = { models: result.models, supported: result.supported }
  if (result.fallback !== undefined) stored.fallback = result.fallback
  return { status: 'completed', result: JSON.stringify(stored) }
}

// A validated report's models are written once, as the picker's answer writes
// them (the response schema's serializer, field order included), behind a head
// no other writer uses: a cache answer splices those bytes in as they are.
const writeModels = fastJson(Type.Array(ModelEntry))
const writeRequest = fastJson(ModelListRequest)
const writtenHead = '{"supported":true,"models":'
const modelsSlot = '"models":[]'

/** A validated report's completion, its models written as the answer writes them (so its catalog is sent as stored). */
export function writtenCompleted (result: ModelListResult): Outcome {
  let json = `{"supported":${String(result.supported)},"models":${writeModels(result.models)}`
  if (result.fallback !== undefined) json += `,"fallback":${String(result.fallback)}`
  return { status: 'completed', result: `${json}}` }
}

// The last record's pieces: the polls one wake-up answers all read one record.
const createdAt = new LastIso()
const updatedAt = new LastIso()
const results = new LastParsed()

export function toRequest (record: WorkRecord): ModelListRequest {
  const request: ModelListRequest = {
    id: record.id,
    runtime_id: record.runtimeId,
    status: record.status,
    supported: true,
    created_at: createdAt.format(record.createdAt),
    updated_at: updatedAt.format(record.updatedAt)
  }
  if (record.result !== undefined) {
    // A copy per read, so callers never share an object with the store or each other.
    const result = results.parse(record.result) as Partial<ModelListResult>
    if (result.models !== undefined) request.models = result.models
    request.supported = result.supported !== false
  }
  if (record.error !== undefined) request.error = record.error
  return request
}

/**
 * A cache answer: completed, stamped when the catalog was stored, under a fresh
 * id nobody polls; null when unreadable. A catalog a validated report wrote is
 * spliced into the answer as stored, never parsed; any other (written by
 * `complete()`, or by an older version) is parsed and written again.
 */
export function cachedRequest (runtimeId: string, cached: CachedResult): ModelListRequest | WrittenAnswer | null {
  const { result: stored } = cached
  const at = new Date(cached.storedAt).toISOString()
  const answer: ModelListRequest = {
    id: newId(),
    runtime_id: runtimeId,
    status: 'completed',
    models: [],
    supported: true,
    created_at: at,
    updated_at: at,
    cached: true,
    cached_at: at
  }
  if (stored.startsWith(writtenHead) && stored.endsWith(']}')) {
    const envelope = writeRequest(answer)
    const slot = envelope.indexOf(modelsSlot) + modelsSlot.length - 2
    return new WrittenAnswer(answer.id, [envelope.slice(0, slot), stored.slice(writtenHead.length, -1), envelope.slice(slot + 2)])
  }
  let result: Partial<ModelListResult>
  try {
    result = JSON.parse(stored) as Partial<ModelListResult>
    if (!Array.isArray(result.models)) return null
  } catch {
    return null
  }
  answer.models = result.models
  answer.supported = result.supported !== false
  return answer
}

export interface ModelListKindOptions {
  /** A POST joins the runtime's claimable pending request. */
  coalesce: boolean
  /** A POST may be answered from the catalog (not `catalogCache: false`). */
  useCache: boolean
}

/** The model list as a kind: its routes' shapes, its codec, under `rules`. */
export function modelListKind (rules: WorkRules, { coalesce, useCache }: ModelListKindOptions): Kind<ModelListRequest> {
  return {
    name: rules.kind,
    path: 'models',
    key: 'pending_model_list',
    rules,
    exclusive: false,
    claimBatch: 1,
    schemas: { create: CreateBody, withoutBody: 'null', createBodyLimit: undefined, request: ModelListRequest, report: ModelListReport, createErrors: {} },
    docs: {
      tag: 'model-list',
      create: {
        operationId: 'createModelListRequest',
        summary: 'Ask a runtime for its models',
        description: 'Queues a request the daemon claims on its next heartbeat, joins a pending one, or answers from the catalog cache (cached: true). The body is optional; { "force": true } skips the cache.'
      },
      get: {
        operationId: 'getModelListRequest',
        summary: 'Poll a model list request',
        description: 'The request as stored; with wait_ms, held until it is terminal, its deadline passes, or wait_ms pass.'
      },
      report: {
        operationId: 'reportModelList',
        summary: "The daemon's report of a claimed request",
        description: 'Completes or fails the request; a report for a request already terminal is ignored and still answers ok. Retry on 5xx, never on 4xx.'
      }
    },
    openRequest: body => ({
      coalesce,
      exclusive: false,
      // `{ "force": true }` asks the daemon whatever the catalog holds.
      useCache: useCache && (body as { force?: boolean } | null)?.force !== true
    }),
    toWire: toRequest,
    cacheAnswer: cachedRequest,
    report: body => {
      const report = body as ModelListReport
      if (report.status === 'failed') {
        // Truncated, not refused: a daemon never retries a 4xx and the failure would be lost.
        return { outcome: { status: 'failed', error: truncate(report.error ?? unexplainedFailure, limits.error) }, cache: 'keep' }
      }
      const result: ModelListResult = {
        models: report.models ?? [],
        // Older daemons omit `supported`.
        supported: report.supported ?? true,
        ...(report.fallback !== undefined && { fallback: report.fallback })
      }
      return { outcome: writtenCompleted(result), cache: catalogAction(result) }
    },
    pending: ([claimed]) => ({ id: claimed.id })
  }
}
