// Wire golden files: scripted flows through app.inject, on the memory store and
// the real Redis, recorded byte for byte (after normalisation) so that a refactor
// can prove every route answers exactly as before.
//
// This file uses ONLY the package's public API (../../lib/index), fastify,
// @sinclair/typebox and ioredis: the internals are about to move, the golden
// flows must not move with them.
//
// Normalisation (so that two runs of the same code give the same steps):
// - every UUID-looking string (request ids, fresh cache-answer ids) in a URL or a
//   body becomes `<id-N>`, N counting first appearances over the whole run;
// - every ISO 8601 timestamp becomes `<time+Nms>`, N its distance from the
//   clock's start (every app runs on an injected clock that starts at T0);
// - headers `date`, `connection` and `keep-alive` are dropped; every other
//   header is kept as sent;
// - content-length is kept as the ORIGINAL header, and `length` records the
//   original body's byte count (also for answers without content-length). Both
//   describe the real bytes, not the normalised text: ids (36 characters) and
//   timestamps (24) have a fixed width, so the original length is deterministic,
//   and any byte added, removed or reformatted in the real output (including
//   inside an id or a timestamp, e.g. a different id format or date precision)
//   changes `length` even where the normalised body would not show it.
// - request bodies over 512 bytes are recorded as `<N bytes: start…>` (they are
//   the script's own input, recorded for reading, not for comparison of output).
// Runtime ids are fixed, readable strings (rt-…): each flow has its own app and,
// on Redis, its own key prefix, so nothing needs normalising there.
import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import { Type } from '@sinclair/typebox'
import type Redis from 'ioredis'
import fastifyModelList, { daemonWork, type ModelListStore } from '../../lib/index'

export type StoreName = 'memory' | 'redis'

export interface GoldenStep {
  step: string
  request: { method: string, url: string, headers?: Record<string, string>, body?: string }
  statusCode: number
  headers: Record<string, string>
  /** Byte length of the original (not normalised) body. */
  length: number
  body: string
}

export interface GoldenEnv {
  store: StoreName
  /** For store 'redis': the client (not closed here) and this run's key prefix. */
  redis?: Redis
  keyPrefix?: string
}

/** Start of every flow's clock: 2026-01-01T00:00:00.000Z. */
export const T0 = Date.UTC(2026, 0, 1)

class Clock {
  t = T0
  readonly now = (): number => this.t
  advance (ms: number): void { this.t += ms }
}

/** A key prefix nobody else uses: golden-<pid>-<random>. */
export function goldenPrefix (): string {
  return `golden-${process.pid}-${randomBytes(4).toString('hex')}`
}

/** Deletes this run's keys only (SCAN MATCH prefix* + DEL); never a flush. */
export async function deleteGoldenKeys (redis: Redis, prefix: string): Promise<number> {
  let cursor = '0'
  let deleted = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) deleted += await redis.del(...keys)
  } while (cursor !== '0')
  return deleted
}

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi
const isoTime = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g

class Normaliser {
  private readonly ids = new Map<string, string>()
  text (s: string): string {
    return s
      .replace(uuid, id => {
        const key = id.toLowerCase()
        let name = this.ids.get(key)
        if (name === undefined) this.ids.set(key, name = `<id-${this.ids.size + 1}>`)
        return name
      })
      .replace(isoTime, time => `<time+${Date.parse(time) - T0}ms>`)
  }
}

const droppedHeaders = new Set(['date', 'connection', 'keep-alive'])

// --- The host: hooks, kinds, heartbeat routes ------------------------------

const getRuntime = async (_request: unknown, runtimeId: string): Promise<{ online: boolean } | null> => {
  if (runtimeId === 'rt-missing') return null
  return { online: runtimeId !== 'rt-offline' }
}
const authorizeDaemon = async (_request: unknown, runtimeId: string): Promise<boolean> => runtimeId !== 'rt-refused'

const skillImport = daemonWork({
  name: 'skill_import',
  path: 'skill-imports',
  params: Type.Object({ skill: Type.String({ maxLength: 256 }) }),
  result: Type.Object({ imported: Type.Boolean() }),
  coalesce: false,
  claimBatch: 10
})
const cliUpdate = daemonWork({ name: 'cli_update', result: Type.Object({ version: Type.String() }), exclusive: true })
const localSkills = daemonWork({ name: 'local_skills', result: Type.Object({ skills: Type.Array(Type.String()) }) })
const kinds = [skillImport, cliUpdate, localSkills] as const

const catalog = [
  {
    id: 'gpt-5',
    label: 'GPT-5',
    provider: 'openai',
    default: true,
    thinking: {
      supported_levels: [
        { value: 'low', label: 'Low', description: 'fast' },
        { value: 'high', label: 'High' }
      ],
      default_level: 'low'
    },
    service_tiers: [
      { id: 'flex', name: 'Flex', description: 'cheaper, slower' },
      { id: 'priority', name: 'Priority' }
    ],
    unknown_field: 'dropped'
  },
  { id: 'mini', label: 'Mini' }
]

interface Recorder {
  steps: GoldenStep[]
  norm: Normaliser
}

interface Flow {
  app: FastifyInstance
  clock: Clock
  /** Runs one request, records it as a step, answers the parsed JSON body (or undefined). */
  call: (step: string, request: Req) => Promise<any>
  /** Sends a request now; the step is recorded (in that order) when the answer is awaited. */
  start: (step: string, request: Req) => () => Promise<any>
}

interface Req {
  method: 'GET' | 'POST'
  url: string
  headers?: Record<string, string>
  /** An object is sent as JSON (content-type application/json); a string as is. */
  body?: unknown
}

async function flow (env: GoldenEnv, rec: Recorder, name: string, plugin: Record<string, unknown> = {}): Promise<Flow> {
  const clock = new Clock()
  const app = Fastify()
  const customStore = 'store' in plugin
  const storeOptions: Record<string, unknown> = customStore
    ? {}
    : env.store === 'redis'
      ? { store: 'redis', redis: env.redis, keyPrefix: `${env.keyPrefix as string}-${name}`, now: clock.now }
      : { store: 'memory', now: clock.now }
  await app.register(fastifyModelList as any, {
    prefix: '/api',
    getRuntime,
    authorizeDaemon,
    ...(customStore ? {} : { work: kinds }),
    ...storeOptions,
    ...plugin
  })
  // The host's heartbeat routes: the model list alone, and every kind at once.
  app.post<{ Params: { runtimeId: string } }>('/api/host/heartbeat/:runtimeId', async (request) => {
    const pending = await app.claimPendingModelList(request.params.runtimeId, request)
    return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
  })
  app.post<{ Params: { runtimeId: string } }>('/api/host/heartbeat-all/:runtimeId', async (request) => {
    const pending = await app.claimPendingWork<typeof kinds>(request.params.runtimeId, request)
    return { status: 'ok', ...pending }
  })
  await app.ready()
  // Sends now; records when the answer is awaited (a held poll spans other steps).
  const start = (step: string, req: Req): (() => Promise<any>) => {
    const headers: Record<string, string> = { ...req.headers }
    let payload: string | undefined
    if (typeof req.body === 'string') payload = req.body
    else if (req.body !== undefined) {
      payload = JSON.stringify(req.body)
      headers['content-type'] ??= 'application/json'
    }
    const options: InjectOptions = { method: req.method, url: req.url, headers }
    if (payload !== undefined) options.payload = payload
    const sent = app.inject(options)
    sent.catch(() => {})
    return async () => {
    const res = await sent
    const raw = res.rawPayload
    const recorded: GoldenStep['request'] = { method: req.method, url: rec.norm.text(req.url) }
    if (Object.keys(headers).length > 0) recorded.headers = headers
    if (payload !== undefined) {
      recorded.body = payload.length > 512
        ? `<${Buffer.byteLength(payload)} bytes: ${payload.slice(0, 40)}…>`
        : rec.norm.text(payload)
    }
    const outHeaders: Record<string, string> = {}
    for (const key of Object.keys(res.headers).sort()) {
      if (droppedHeaders.has(key)) continue
      outHeaders[key] = rec.norm.text(String(res.headers[key]))
    }
    rec.steps.push({
      step: `${name}: ${step}`,
      request: recorded,
      statusCode: res.statusCode,
      headers: outHeaders,
      length: raw.length,
      body: rec.norm.text(raw.toString('utf8'))
    })
    try { return JSON.parse(res.body) } catch { return undefined }
    }
  }
  const call = async (step: string, req: Req): Promise<any> => await start(step, req)()
  return { app, clock, call, start }
}

const json = { 'content-type': 'application/json' }
const models = (rt: string): string => `/api/runtimes/${rt}/models`
const modelRequest = (rt: string, id: string): string => `/api/runtimes/${rt}/models/${id}`
const modelReport = (rt: string, id: string): string => `/api/daemon/runtimes/${rt}/models/${id}/result`
const heartbeat = (rt: string): string => `/api/host/heartbeat/${rt}`
const heartbeatAll = (rt: string): string => `/api/host/heartbeat-all/${rt}`
const work = (rt: string, path: string): string => `/api/runtimes/${rt}/${path}`
const workRequest = (rt: string, path: string, id: string): string => `/api/runtimes/${rt}/${path}/${id}`
const workReport = (rt: string, path: string, id: string): string => `/api/daemon/runtimes/${rt}/${path}/${id}/result`
const unknownId = '00000000-0000-4000-8000-000000000000'

// --- The flows --------------------------------------------------------------

async function lifecycleAndCache (env: GoldenEnv, rec: Recorder): Promise<void> {
  const { app, clock, call } = await flow(env, rec, 'lifecycle')
  const rt = 'rt-1'
  try {
    const a = (await call('create, no body', { method: 'POST', url: models(rt) })).id
    await call('create, empty body with a JSON content type: joins', { method: 'POST', url: models(rt), headers: json, body: '' })
    await call('create, {}: joins', { method: 'POST', url: models(rt), body: {} })
    await call('create, force: joins the pending request', { method: 'POST', url: models(rt), body: { force: true } })
    await call('GET pending', { method: 'GET', url: modelRequest(rt, a) })
    await call('GET pending, wait_ms=0', { method: 'GET', url: `${modelRequest(rt, a)}?wait_ms=0` })
    clock.advance(500)
    await call('heartbeat claims it', { method: 'POST', url: heartbeat(rt) })
    await call('heartbeat, nothing left', { method: 'POST', url: heartbeat(rt) })
    await call('GET running', { method: 'GET', url: modelRequest(rt, a) })
    clock.advance(1000)
    await call('report completed with a catalog', { method: 'POST', url: modelReport(rt, a), body: { status: 'completed', models: catalog, extra: 1 } })
    await call('GET completed', { method: 'GET', url: modelRequest(rt, a) })
    await call('GET completed, wait_ms=5000 answers at once', { method: 'GET', url: `${modelRequest(rt, a)}?wait_ms=5000` })
    clock.advance(100)
    await call('late report (failed) is ignored', { method: 'POST', url: modelReport(rt, a), body: { status: 'failed', error: 'too late' } })
    await call('GET after the late report: unchanged', { method: 'GET', url: modelRequest(rt, a) })
    clock.advance(1000)
    await call('create answered from the cache', { method: 'POST', url: models(rt) })
    await call('heartbeat: a fresh cache queued nothing', { method: 'POST', url: heartbeat(rt) })
    clock.advance(60_000)
    await call('create, stale catalog: cache answer, refresh queued', { method: 'POST', url: models(rt) })
    await call('create, stale catalog again: refresh already pending', { method: 'POST', url: models(rt) })
    const refresh = (await call('heartbeat claims the refresh', { method: 'POST', url: heartbeatAll(rt) })).pending_model_list.id
    await call('create, stale catalog, refresh running: no second refresh', { method: 'POST', url: models(rt) })
    await call('heartbeat, nothing left', { method: 'POST', url: heartbeat(rt) })
    const forced = (await call('create, force: skips the cache', { method: 'POST', url: models(rt), body: { force: true } })).id
    await call('create, force again: joins', { method: 'POST', url: models(rt), body: { force: true } })
    await call('GET the forced request', { method: 'GET', url: modelRequest(rt, forced) })
    clock.advance(200)
    await call('refresh reported with a new catalog', { method: 'POST', url: modelReport(rt, refresh), body: { status: 'completed', models: [catalog[1]] } })
    await call('GET the refresh', { method: 'GET', url: modelRequest(rt, refresh) })
    await call('create: the new catalog', { method: 'POST', url: models(rt), body: {} })
    await call('heartbeat claims the forced request', { method: 'POST', url: heartbeat(rt) })
    clock.advance(200)
    await call('forced request reported supported:false', { method: 'POST', url: modelReport(rt, forced), body: { status: 'completed', supported: false } })
    await call('GET supported:false', { method: 'GET', url: modelRequest(rt, forced) })
    await call('create: the catalog was dropped, a new request', { method: 'POST', url: models(rt) })
  } finally {
    await app.close()
  }
}

async function reports (env: GoldenEnv, rec: Recorder): Promise<void> {
  const { app, clock, call, start } = await flow(env, rec, 'reports')
  const rt = 'rt-2'
  const cycle = async (label: string, report: unknown, create?: unknown): Promise<void> => {
    const id = (await call(`${label}: create`, { method: 'POST', url: models(rt), body: create })).id
    await call(`${label}: heartbeat`, { method: 'POST', url: heartbeat(rt) })
    clock.advance(250)
    await call(`${label}: report`, { method: 'POST', url: modelReport(rt, id), body: report })
    await call(`${label}: GET`, { method: 'GET', url: modelRequest(rt, id) })
    clock.advance(250)
  }
  try {
    await cycle('failed with an error', { status: 'failed', error: 'discovery exploded' })
    await cycle('failed without an error', { status: 'failed' })
    await cycle('failed with an error over 4096 characters', { status: 'failed', error: 'e'.repeat(4000) + 'f'.repeat(1000) })
    await cycle('completed with no models', { status: 'completed', models: [] })
    await cycle('completed, supported:false with models', { status: 'completed', supported: false, models: [catalog[1]] })
    await cycle('completed, fallback:true', { status: 'completed', models: catalog, fallback: true })
    await call('create after a fallback: not cached', { method: 'POST', url: models(rt) })
    await call('heartbeat', { method: 'POST', url: heartbeat(rt) })
    await cycle('completed, supported:true explicit', { status: 'completed', supported: true, models: [catalog[0]] })
    await call('create: cached', { method: 'POST', url: models(rt) })
    await cycle('failed leaves the catalog (force)', { status: 'failed', error: 'x' }, { force: true })
    await call('create: still cached', { method: 'POST', url: models(rt) })
    // A held poll, woken by the report (answered within milliseconds, not after wait_ms).
    const held = (await call('held poll: create (force)', { method: 'POST', url: models(rt), body: { force: true } })).id
    await call('held poll: heartbeat', { method: 'POST', url: heartbeat(rt) })
    const poll = start('held poll: GET wait_ms=20000, woken by the report', { method: 'GET', url: `${modelRequest(rt, held)}?wait_ms=20000` })
    await new Promise(resolve => setTimeout(resolve, 50))
    clock.advance(100)
    await call('held poll: report', { method: 'POST', url: modelReport(rt, held), body: { status: 'completed', models: [catalog[1]], fallback: true } })
    await poll()
  } finally {
    await app.close()
  }
}

async function timeouts (env: GoldenEnv, rec: Recorder): Promise<void> {
  const { app, clock, call } = await flow(env, rec, 'timeouts')
  const rt = 'rt-3'
  try {
    const p = (await call('create', { method: 'POST', url: models(rt) })).id
    clock.advance(30_000)
    await call('GET at exactly pendingTimeoutMs: still pending', { method: 'GET', url: modelRequest(rt, p) })
    clock.advance(1)
    await call('GET past pendingTimeoutMs: timeout', { method: 'GET', url: modelRequest(rt, p) })
    await call('heartbeat: nothing to claim', { method: 'POST', url: heartbeat(rt) })
    await call('late report on the pending timeout', { method: 'POST', url: modelReport(rt, p), body: { status: 'completed', models: catalog } })
    await call('GET: still timeout', { method: 'GET', url: `${modelRequest(rt, p)}?wait_ms=100` })
    const r = (await call('create a second', { method: 'POST', url: models(rt) })).id
    clock.advance(1000)
    await call('heartbeat claims it', { method: 'POST', url: heartbeat(rt) })
    clock.advance(60_001)
    await call('GET past runningTimeoutMs: timeout', { method: 'GET', url: modelRequest(rt, r) })
    await call('late report on the running timeout', { method: 'POST', url: modelReport(rt, r), body: { status: 'failed', error: 'late' } })
    await call('GET: still timeout, wait_ms=30000', { method: 'GET', url: `${modelRequest(rt, r)}?wait_ms=30000` })
    await call('create: no catalog from a late report', { method: 'POST', url: models(rt) })
  } finally {
    await app.close()
  }
}

async function errors (env: GoldenEnv, rec: Recorder): Promise<void> {
  const { app, call } = await flow(env, rec, 'errors')
  const rt = 'rt-4'
  try {
    const id = (await call('create', { method: 'POST', url: models(rt) })).id
    const other = (await call('create on another runtime', { method: 'POST', url: models('rt-5') })).id
    await call('400 create, bad runtime id', { method: 'POST', url: models('bad.id') })
    await call('400 GET, bad request id', { method: 'GET', url: modelRequest(rt, 'bad.id') })
    await call('400 report, bad request id', { method: 'POST', url: modelReport(rt, 'bad!id'), body: { status: 'failed' } })
    await call('create, 100-character runtime id', { method: 'POST', url: models('r'.repeat(100)) })
    await call('101-character runtime id (router)', { method: 'POST', url: models('r'.repeat(101)) })
    await call('101-character request id (router)', { method: 'GET', url: modelRequest(rt, 'q'.repeat(101)) })
    await call('400 create, force a number', { method: 'POST', url: models(rt), body: { force: 1 } })
    await call('400 create, force null', { method: 'POST', url: models(rt), body: { force: null } })
    await call('create, invalid JSON', { method: 'POST', url: models(rt), headers: json, body: '{' })
    await call('create, JSON array body', { method: 'POST', url: models(rt), body: [] })
    await call('create, text/plain body', { method: 'POST', url: models(rt), headers: { 'content-type': 'text/plain' }, body: 'hello' })
    await call('create, application/xml body', { method: 'POST', url: models(rt), headers: { 'content-type': 'application/xml' }, body: '<a/>' })
    await call('create, unknown field dropped', { method: 'POST', url: models(rt), body: { other: 1 } })
    await call('400 report, number for a string', { method: 'POST', url: modelReport(rt, id), body: { status: 'completed', models: [{ id: 1, label: 'x' }] } })
    await call('400 report, null for a boolean', { method: 'POST', url: modelReport(rt, id), body: { status: 'completed', supported: null } })
    await call('400 report, unknown status', { method: 'POST', url: modelReport(rt, id), body: { status: 'done' } })
    await call('400 report, no status', { method: 'POST', url: modelReport(rt, id), body: { models: [] } })
    await call('400 report, no body', { method: 'POST', url: modelReport(rt, id) })
    await call('400 report, a label over 256 characters', { method: 'POST', url: modelReport(rt, id), body: { status: 'completed', models: [{ id: 'm', label: 'l'.repeat(257) }] } })
    await call('400 report, error a number', { method: 'POST', url: modelReport(rt, id), body: { status: 'failed', error: 5 } })
    await call('400 wait_ms=-1', { method: 'GET', url: `${modelRequest(rt, id)}?wait_ms=-1` })
    await call('400 wait_ms=30001', { method: 'GET', url: `${modelRequest(rt, id)}?wait_ms=30001` })
    await call('400 wait_ms=abc', { method: 'GET', url: `${modelRequest(rt, id)}?wait_ms=abc` })
    await call('400 wait_ms=1.5', { method: 'GET', url: `${modelRequest(rt, id)}?wait_ms=1.5` })
    await call('404 create, runtime not found', { method: 'POST', url: models('rt-missing') })
    await call('404 GET, runtime not found', { method: 'GET', url: modelRequest('rt-missing', id) })
    await call('404 GET, request not found', { method: 'GET', url: modelRequest(rt, unknownId) })
    await call("404 GET, another runtime's request", { method: 'GET', url: modelRequest(rt, other) })
    await call('404 report, request not found', { method: 'POST', url: modelReport(rt, unknownId), body: { status: 'failed' } })
    await call("404 report, another runtime's request", { method: 'POST', url: modelReport(rt, other), body: { status: 'failed' } })
    await call('404 report, authorizeDaemon refuses', { method: 'POST', url: modelReport('rt-refused', id), body: { status: 'failed' } })
    await call('404 report, authorizeDaemon refuses before the body is read', { method: 'POST', url: modelReport('rt-refused', id), headers: json, body: '{' })
    await call('503 create, runtime offline', { method: 'POST', url: models('rt-offline') })
    await call('503 create, runtime offline, force', { method: 'POST', url: models('rt-offline'), body: { force: true } })
    await call('GET on an offline runtime: no online check', { method: 'GET', url: modelRequest('rt-offline', unknownId) })
    await call('413 report over 1 MiB', { method: 'POST', url: modelReport(rt, id), body: { status: 'failed', error: 'x'.repeat(1_100_000) } })
    await call('GET: the request is untouched by the refused reports', { method: 'GET', url: modelRequest(rt, id) })
    await call('404 unknown route', { method: 'GET', url: '/api/runtimes/rt-4/nothing' })
  } finally {
    await app.close()
  }
}

async function storeUnavailable (env: GoldenEnv, rec: Recorder): Promise<void> {
  const fail = async (): Promise<never> => { throw new Error('ECONNREFUSED 10.0.0.1:6379') }
  const rejecting: ModelListStore = {
    create: fail, get: fail, hasPending: fail, popPending: fail, complete: fail, fail, close: async () => {}
  }
  {
    const { app, call } = await flow(env, rec, 'store rejects', { store: rejecting })
    try {
      await call('503 create', { method: 'POST', url: models('rt-6') })
      await call('503 GET', { method: 'GET', url: modelRequest('rt-6', unknownId) })
      await call('503 GET, wait_ms', { method: 'GET', url: `${modelRequest('rt-6', unknownId)}?wait_ms=1000` })
      await call('503 report', { method: 'POST', url: modelReport('rt-6', unknownId), body: { status: 'failed', error: 'x' } })
      await call('heartbeat: null, never throws', { method: 'POST', url: heartbeat('rt-6') })
      await call('404 before the store: runtime not found', { method: 'POST', url: models('rt-missing') })
      await call('503 offline before the store', { method: 'POST', url: models('rt-offline') })
    } finally {
      await app.close()
    }
  }
  const hang = async (): Promise<never> => await new Promise<never>(() => {})
  const hanging: ModelListStore = {
    create: hang, get: hang, hasPending: hang, popPending: hang, complete: hang, fail: hang, close: async () => {}
  }
  {
    const { app, call } = await flow(env, rec, 'store hangs', { store: hanging, storeTimeoutMs: 20, heartbeatProbeTimeoutMs: 20 })
    try {
      await call('503 create after storeTimeoutMs', { method: 'POST', url: models('rt-7') })
      await call('503 GET after storeTimeoutMs', { method: 'GET', url: modelRequest('rt-7', unknownId) })
      await call('503 report after storeTimeoutMs', { method: 'POST', url: modelReport('rt-7', unknownId), body: { status: 'completed', models: [] } })
      await call('heartbeat: null after the probe timeout', { method: 'POST', url: heartbeat('rt-7') })
    } finally {
      await app.close()
    }
  }
}

async function workKinds (env: GoldenEnv, rec: Recorder): Promise<void> {
  const { app, clock, call } = await flow(env, rec, 'work')
  const rt = 'rt-w'
  const si = 'skill-imports'
  const cu = 'cli-update'
  const ls = 'local-skills'
  try {
    const s1 = (await call('skill import alpha', { method: 'POST', url: work(rt, si), body: { skill: 'alpha' } })).id
    const s2 = (await call('skill import alpha again: coalesce false, a second', { method: 'POST', url: work(rt, si), body: { skill: 'alpha' } })).id
    const s3 = (await call('skill import beta, unknown field dropped', { method: 'POST', url: work(rt, si), body: { skill: 'beta', extra: 1 } })).id
    await call('400 skill import, no body', { method: 'POST', url: work(rt, si) })
    await call('400 skill import, {}', { method: 'POST', url: work(rt, si), body: {} })
    await call('400 skill import, skill a number', { method: 'POST', url: work(rt, si), body: { skill: 5 } })
    await call('400 skill import, skill over 256 characters', { method: 'POST', url: work(rt, si), body: { skill: 's'.repeat(257) } })
    await call('GET skill import', { method: 'GET', url: workRequest(rt, si, s1) })
    const c1 = (await call('cli update, no body', { method: 'POST', url: work(rt, cu) })).id
    await call('409 cli update busy', { method: 'POST', url: work(rt, cu) })
    await call('409 cli update busy, {}', { method: 'POST', url: work(rt, cu), body: {} })
    const l1 = (await call('local skills, no body', { method: 'POST', url: work(rt, ls) })).id
    await call('local skills, {}: joins', { method: 'POST', url: work(rt, ls), body: {} })
    await call('local skills, empty JSON body: joins', { method: 'POST', url: work(rt, ls), headers: json, body: '' })
    const m1 = (await call('model list beside the kinds', { method: 'POST', url: models(rt) })).id
    await call('GET cli update pending', { method: 'GET', url: workRequest(rt, cu, c1) })
    await call('GET local skills pending', { method: 'GET', url: workRequest(rt, ls, l1) })
    clock.advance(300)
    await call('heartbeat claims every kind at once', { method: 'POST', url: heartbeatAll(rt) })
    await call('heartbeat, nothing left', { method: 'POST', url: heartbeatAll(rt) })
    await call('GET skill import running', { method: 'GET', url: workRequest(rt, si, s2) })
    await call('409 cli update busy while running', { method: 'POST', url: work(rt, cu) })
    clock.advance(700)
    await call('report skill import completed', { method: 'POST', url: workReport(rt, si, s1), body: { status: 'completed', result: { imported: true }, extra: 1 } })
    await call('report skill import failed', { method: 'POST', url: workReport(rt, si, s2), body: { status: 'failed', error: 'no such skill' } })
    await call('400 report skill import, result of the wrong type', { method: 'POST', url: workReport(rt, si, s3), body: { status: 'completed', result: { imported: 'yes' } } })
    await call('report skill import completed without result', { method: 'POST', url: workReport(rt, si, s3), body: { status: 'completed' } })
    await call('400 report skill import, unknown status', { method: 'POST', url: workReport(rt, si, s3), body: { status: 'running' } })
    await call('GET skill import completed', { method: 'GET', url: workRequest(rt, si, s1) })
    await call('GET skill import failed', { method: 'GET', url: workRequest(rt, si, s2) })
    await call('GET skill import 3, still running after wait_ms=50', { method: 'GET', url: `${workRequest(rt, si, s3)}?wait_ms=50` })
    await call('late report skill import', { method: 'POST', url: workReport(rt, si, s1), body: { status: 'failed', error: 'late' } })
    await call('GET skill import after the late report', { method: 'GET', url: workRequest(rt, si, s1) })
    await call('report cli update completed', { method: 'POST', url: workReport(rt, cu, c1), body: { status: 'completed', result: { version: '1.2.3' } } })
    await call('GET cli update completed', { method: 'GET', url: workRequest(rt, cu, c1) })
    const c2 = (await call('cli update again: no longer busy', { method: 'POST', url: work(rt, cu) })).id
    await call('report local skills failed, no error', { method: 'POST', url: workReport(rt, ls, l1), body: { status: 'failed' } })
    await call('GET local skills failed', { method: 'GET', url: workRequest(rt, ls, l1) })
    await call('report model list completed', { method: 'POST', url: modelReport(rt, m1), body: { status: 'completed', models: catalog } })
    await call('404 GET skill import, request not found', { method: 'GET', url: workRequest(rt, si, unknownId) })
    await call('404 GET skill import under another kind', { method: 'GET', url: workRequest(rt, ls, s1) })
    await call('404 GET skill import under the model list', { method: 'GET', url: modelRequest(rt, s1) })
    await call('404 POST skill import, runtime not found', { method: 'POST', url: work('rt-missing', si), body: { skill: 'a' } })
    await call('404 GET cli update, runtime not found', { method: 'GET', url: workRequest('rt-missing', cu, c2) })
    await call('404 report skill import, request not found', { method: 'POST', url: workReport(rt, si, unknownId), body: { status: 'failed' } })
    await call('404 report, authorizeDaemon refuses', { method: 'POST', url: workReport('rt-refused', cu, c2), body: { status: 'failed' } })
    await call('503 POST cli update, runtime offline', { method: 'POST', url: work('rt-offline', cu) })
    await call('400 POST skill import, bad runtime id', { method: 'POST', url: work('bad.id', si), body: { skill: 'a' } })
    await call('400 GET cli update, wait_ms=-1', { method: 'GET', url: `${workRequest(rt, cu, c2)}?wait_ms=-1` })
    await call('413 report over 1 MiB', { method: 'POST', url: workReport(rt, cu, c2), body: { status: 'failed', error: 'x'.repeat(1_100_000) } })
    // A batch: twelve imports, ten claimed by one heartbeat, two by the next.
    for (let i = 1; i <= 12; i++) {
      await call(`batch import ${i}`, { method: 'POST', url: work(rt, si), body: { skill: `batch-${i}` } })
      clock.advance(10)
    }
    await call('heartbeat claims a batch of ten (and the cli update)', { method: 'POST', url: heartbeatAll(rt) })
    await call('heartbeat claims the last two', { method: 'POST', url: heartbeatAll(rt) })
    await call('heartbeat, nothing left', { method: 'POST', url: heartbeatAll(rt) })
    clock.advance(60_001)
    await call('GET cli update: running timeout', { method: 'GET', url: workRequest(rt, cu, c2) })
    const c3 = (await call('cli update after the timeout: queued', { method: 'POST', url: work(rt, cu) })).id
    clock.advance(30_001)
    await call('GET cli update: pending timeout', { method: 'GET', url: workRequest(rt, cu, c3) })
    await call('late report cli update on a timeout', { method: 'POST', url: workReport(rt, cu, c3), body: { status: 'completed', result: { version: '9' } } })
    await call('GET cli update: still timeout', { method: 'GET', url: workRequest(rt, cu, c3) })
  } finally {
    await app.close()
  }
}

/** Runs every flow on one store; answers the recorded, normalised steps. */
export async function runGoldenFlows (env: GoldenEnv): Promise<GoldenStep[]> {
  if (env.store === 'redis' && (env.redis === undefined || env.keyPrefix === undefined)) {
    throw new Error('the redis store needs a client and a keyPrefix')
  }
  const rec: Recorder = { steps: [], norm: new Normaliser() }
  await lifecycleAndCache(env, rec)
  await reports(env, rec)
  await timeouts(env, rec)
  await errors(env, rec)
  await storeUnavailable(env, rec)
  await workKinds(env, rec)
  return rec.steps
}

export const goldenFiles: Record<StoreName, string> = {
  memory: 'test/golden/memory.json',
  redis: 'test/golden/redis.json'
}
