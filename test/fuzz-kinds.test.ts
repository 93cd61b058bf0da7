// A seeded fuzz of every kind's routes (create, poll, report) against their
// declared schemas: the model list (through test/helpers/fuzz.ts) and three
// declared kinds, one with params and a batch, one exclusive, one bare
// (test/helpers/kinds.ts), their bodies made from those schemas
// (test/helpers/fuzz-kinds.ts). Every answer is a status the route documents
// (its response schema; 415 for a body that is not JSON), its body matches the
// route's response schema for that status with no field beyond it, no answer
// is a 5xx but the documented 503 of an offline runtime, and what is certainly
// malformed reaches no store. On the memory store and on a real Redis.
//   FML_FUZZ_SEED=<seed or random> npx tap test/fuzz-kinds.test.ts   (FML_FUZZ_CASES=<n> for more)
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import Ajv, { type ValidateFunction } from 'ajv'
import type Redis from 'ioredis'
import fastifyModelList, { type FastifyModelListOptions } from '../lib/index'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { RedisWorkStore } from '../lib/store/redis/work-store'
import { Clock } from './helpers/clock'
import { fuzzCase, type Route } from './helpers/fuzz'
import { kindCase, type KindRoute, type KindTargets } from './helpers/fuzz-kinds'
import { countBackendCalls, countWorkStoreCalls, work, workBackend } from './helpers/kinds'
import { countFrom, random, seedFrom } from './helpers/random'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

const seed = seedFrom('FML_FUZZ_SEED', 20261202)
const memoryCases = countFrom('FML_FUZZ_CASES', 2_400)
// Redis answers slower; a third of the cases is enough to show it agrees.
const redisCases = Math.ceil(memoryCases / 3)
// One case in this many is past the body limit (a create or a report).
const oversizeEvery = 89
const runtimes = ['fz-a', 'fz-b']
const offline = 'fz-off'
const unknown = 'fz-none'
const routeNames: KindRoute[] = ['create', 'get', 'report']

t.setTimeout(Number(process.env.FML_FUZZ_TIMEOUT_MS ?? 240_000))
t.comment(`fuzz seed ${seed}; replay: FML_FUZZ_SEED=${seed} npx tap test/fuzz-kinds.test.ts`)
// Before any app: every call into a work store is counted.
countWorkStoreCalls(MemoryWorkStore, RedisWorkStore)

type Schema = Record<string, unknown>
/** A copy where every object schema that does not say otherwise allows no field beyond its own. */
function closed (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed)
  if (schema === null || typeof schema !== 'object') return schema
  const copy: Schema = {}
  for (const [key, value] of Object.entries(schema)) copy[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as Schema).map(([name, inner]) => [name, closed(inner)])) : closed(value)
  if (copy.type === 'object' && copy.properties !== undefined && copy.additionalProperties === undefined) copy.additionalProperties = false
  return copy
}

const ajv = new Ajv({ strict: false, addUsedSchema: false, allErrors: false })

/** Each route's documented answers, read off the routes as they are registered: `METHOD url` to status to a check of its body. */
function routeAnswers (app: FastifyInstance): Map<string, Map<number, ValidateFunction>> {
  const answers = new Map<string, Map<number, ValidateFunction>>()
  app.addHook('onRoute', route => {
    const byStatus = new Map<number, ValidateFunction>()
    for (const [status, schema] of Object.entries((route.schema?.response ?? {}) as Record<string, unknown>)) byStatus.set(Number(status), ajv.compile(closed(schema) as Schema))
    for (const method of [route.method].flat()) answers.set(`${method} ${route.url}`, byStatus)
  })
  return answers
}

// Fastify's error shape, as its router answers it.
const fastifyError = ajv.compile({
  type: 'object',
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } },
  required: ['statusCode', 'error', 'message'],
  additionalProperties: false
})

function routerAnswer (status: number, body: unknown): boolean {
  const { code, message } = (typeof body === 'object' && body !== null ? body : {}) as { code?: string, message?: string }
  return (status === 404 && code === undefined && /^Route [A-Z]+:\S+ not found$/.test(message ?? '')) ||
    (status === 414 && code === 'FST_ERR_MAX_PARAM_LENGTH') || (status === 400 && code === 'FST_ERR_BAD_URL')
}

/** The route a case is aimed at, as registered. */
function routeKey (method: string, path: string, route: KindRoute): string {
  if (route === 'create') return `POST /api/runtimes/:runtimeId/${path}`
  if (route === 'get') return `${method} /api/runtimes/:runtimeId/${path}/:requestId`
  return `POST /api/daemon/runtimes/:runtimeId/${path}/:requestId/result`
}

async function app (t: Test, options: Partial<FastifyModelListOptions>): Promise<{ app: FastifyInstance, answers: Map<string, Map<number, ValidateFunction>> }> {
  const host = Fastify()
  const answers = routeAnswers(host)
  await host.register(fastifyModelList, {
    prefix: '/api',
    work,
    // A cache answer is a fresh id nobody stored: the cases aim at stored ones.
    catalogCache: false,
    getRuntime: async (_request, runtimeId) => runtimes.includes(runtimeId) || runtimeId === offline ? { online: runtimeId !== offline } : null,
    authorizeDaemon: async (_request, runtimeId) => runtimes.includes(runtimeId) || runtimeId === offline,
    ...options
  })
  await host.ready()
  t.teardown(() => host.close())
  return { app: host, answers }
}

const paths: Record<string, string> = { model_list: 'models', ...Object.fromEntries(work.map(kind => [kind.name, kind.path])) }
const kindNames = Object.keys(paths)

/** Per kind, a request in each state on the online runtimes: timed out, completed, failed, running (fz-a) and pending (fz-b). */
async function seedRequests (host: FastifyInstance, clock: Clock): Promise<Record<string, { live: string[], settled: string[] }>> {
  const [a, b] = runtimes
  const create = async (rt: string): Promise<Record<string, string>> => {
    const ids: Record<string, string> = {}
    for (const kind of kindNames) {
      const body = kind === 'skill_import' ? { skill: 'seed' } : {}
      const res = await host.inject({ method: 'POST', url: `/api/runtimes/${rt}/${paths[kind]}`, payload: body })
      if (res.statusCode !== 200) throw new Error(`seeding ${kind} on ${rt}: ${res.statusCode} ${res.body}`)
      ids[kind] = res.json().id
    }
    return ids
  }
  const report = async (rt: string, ids: Record<string, string>, completed: boolean): Promise<void> => {
    const results: Record<string, unknown> = { model_list: { models: [] }, skill_import: { result: { imported: true } }, cli_update: { result: { version: '1.0.0' } }, local_skills: { result: { skills: [] } } }
    for (const kind of kindNames) {
      const body = completed ? { status: 'completed', ...results[kind] as object } : { status: 'failed', error: 'seeded failure' }
      const res = await host.inject({ method: 'POST', url: `/api/daemon/runtimes/${rt}/${paths[kind]}/${ids[kind]}/result`, payload: body })
      if (res.statusCode !== 200) throw new Error(`seeding a report of ${kind}: ${res.statusCode} ${res.body}`)
    }
  }
  const timedOut = await create(a)
  // Past every kind's pending timeout (skill_import's is the longest, 180 s).
  clock.advance(181_000)
  for (const kind of kindNames) await host.inject({ method: 'GET', url: `/api/runtimes/${a}/${paths[kind]}/${timedOut[kind]}` })
  const completed = await create(a)
  await host.claimPendingWork(a)
  await report(a, completed, true)
  const failed = await create(a)
  await host.claimPendingWork(a)
  await report(a, failed, false)
  const running = await create(a)
  await host.claimPendingWork(a)
  const pending = await create(b)
  return Object.fromEntries(kindNames.map(kind => [kind, { live: [running[kind], pending[kind]], settled: [timedOut[kind], completed[kind], failed[kind]] }]))
}

const prototypes = [Object.prototype, Array.prototype, Function.prototype, String.prototype]
const prototypeNames = (): string[][] => prototypes.map(proto => Object.getOwnPropertyNames(proto).sort())

async function fuzz (t: Test, name: string, options: Partial<FastifyModelListOptions>, clock: Clock, cases: number): Promise<void> {
  const { app: host, answers } = await app(t, options)
  const targets = await seedRequests(host, clock)
  const calls = countBackendCalls(workBackend(host))
  const namesBefore = prototypeNames()
  const rng = random(seed)
  const failures: string[] = []
  const statuses: Record<string, Record<number, number>> = {}
  let tooLarge = 0
  let refused = 0
  let bodiesChecked = 0
  let routerAnswers = 0
  const started = Date.now()

  for (let n = 0; n < cases; n++) {
    const kind = kindNames[n % kindNames.length]
    const route = routeNames[Math.floor(n / kindNames.length) % routeNames.length]
    const oversize = route !== 'get' && n % oversizeEvery === 1
    const fuzzed = kind === 'model_list'
      ? { kind, ...fuzzCase(rng, route as Route, { runtimes, ...targets[kind] }, oversize) }
      : kindCase(rng, work.find(declared => declared.name === kind) as typeof work[number], route, { runtimes, offline, unknown, ...targets[kind] } satisfies KindTargets, oversize)
    const callsBefore = calls()
    const res: LightMyRequestResponse = await host.inject({ method: fuzzed.method as 'POST', url: fuzzed.url, headers: fuzzed.headers, payload: fuzzed.payload })
    const byStatus = (statuses[`${kind} ${route}`] ??= {})
    byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1
    const where = `case ${n} ${kind} ${route} (${fuzzed.label}): ${fuzzed.method} ${fuzzed.url.slice(0, 120)} answered ${res.statusCode} ${res.body.slice(0, 200)}`

    let body: unknown
    try { body = res.json() } catch { body = res.body }
    // Fastify's router answers before any route is matched: no route for the
    // method (404), a path segment past maxParamLength (414, as API.md says), a
    // path that does not decode (400).
    // A method no route takes goes to Fastify's not-found route, which parses a body first (400 or 415 on a bad one).
    const unrouted = !['GET', 'HEAD', 'POST'].includes(fuzzed.method)
    const byRouter = fuzzed.method === 'HEAD' ? res.statusCode === 414 : routerAnswer(res.statusCode, body) || (unrouted && res.statusCode >= 400 && res.statusCode < 500)
    const check = byRouter ? fastifyError : answers.get(routeKey(fuzzed.method, paths[kind], route))?.get(res.statusCode)
    if (check === undefined) {
      failures.push(`undocumented status: ${where}`)
    } else if (fuzzed.method !== 'HEAD') {
      bodiesChecked++
      if (!check(body)) failures.push(`body outside the ${byRouter ? 'router\'s' : 'route\'s'} ${res.statusCode} schema (${ajv.errorsText(check.errors)}): ${where}`)
    }
    if (byRouter) routerAnswers++
    // The offline runtime, however its id was spelled in the path.
    const offlineCreate = route === 'create' && res.statusCode === 503 && (body as { code?: string }).code === 'FST_MODEL_LIST_RUNTIME_OFFLINE' &&
      decodeURIComponent(fuzzed.url).startsWith(`/api/runtimes/${offline}/`)
    if (res.statusCode >= 500 && !(res.statusCode === 503 && offlineCreate)) failures.push(`5xx: ${where}`)
    if (fuzzed.tooLarge) {
      tooLarge++
      if (res.statusCode !== 413) failures.push(`not 413 past the body limit: ${where}`)
    }
    if (fuzzed.refused) {
      refused++
      if (res.statusCode < 400 || res.statusCode >= 500) failures.push(`accepted though malformed: ${where}`)
      if (calls() !== callsBefore) failures.push(`reached the store though malformed: ${where}`)
    }
  }
  const ms = Date.now() - started

  t.same(failures.slice(0, 30), [], `every case answered as its route documents (${failures.length} failures; seed ${seed})`)
  t.same(prototypeNames(), namesBefore, 'no property appeared on a built-in prototype')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no polluted property on plain objects')
  t.ok(tooLarge > 0, 'some bodies were past the 1 MiB limit')
  for (const kind of kindNames) {
    for (const route of routeNames) {
      const seen = statuses[`${kind} ${route}`] ?? {}
      // An exclusive kind's valid create is often 409: its requests stay in flight.
      t.ok((seen[200] ?? 0) + (seen[409] ?? 0) > 0 && (seen[400] ?? 0) > 0, `${kind} ${route}: some cases got through validation, some were refused with 400`)
    }
  }
  t.ok((statuses['cli_update create']?.[409] ?? 0) > 0, 'the exclusive kind answered 409 to some creates')
  t.comment(`${name}: ${cases} fuzz cases over ${kindNames.length} kinds x 3 routes (${refused} certainly malformed, ${tooLarge} past 1 MiB, ${bodiesChecked} bodies checked against their schema, ${routerAnswers} answered by the router) in ${(ms / 1000).toFixed(1)} s`)
  t.comment(`${name} answers: ${JSON.stringify(statuses)}`)
}

t.test(`fuzz every kind: memory store (seed ${seed})`, async t => {
  const clock = new Clock()
  await fuzz(t, 'memory', { store: 'memory', now: clock.now }, clock, memoryCases)
})

t.test(`fuzz every kind: Redis (seed ${seed})`, async t => {
  if (!(await ready(t, needsRedis))) return
  const client: Redis = connect()
  const keyPrefix = uniquePrefix('fuzz-kinds')
  t.teardown(async () => {
    await deleteKeys(client, keyPrefix)
    client.disconnect()
  })
  const clock = new Clock()
  await fuzz(t, 'redis', { store: 'redis', redis: client, keyPrefix, now: clock.now }, clock, redisCases)
})
