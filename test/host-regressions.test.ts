// Each bug the "plays well in any host" issue (and its neighbours in issues 7
// and 8) found, pinned by a test named after it.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { mockRedis } from './helpers/redis-mock'
import type Redis from 'ioredis'
import { serializerCompiler as zodSerializerCompiler, validatorCompiler as zodValidatorCompiler } from 'fastify-type-provider-zod'
import fastifyModelList, { MemoryModelListStore, type FastifyModelListOptions } from '../lib/index'
import { Clock } from './helpers/clock'
import { buildHost, hostHooks, logCapture, spyStore } from './helpers/host'

const model = { id: 'm', label: 'M' }

/** The two hooks alone: the plugin refuses option names it does not know. */
function plainHooks (): Pick<FastifyModelListOptions, 'getRuntime' | 'authorizeDaemon'> {
  const { getRuntime, authorizeDaemon } = hostHooks()
  return { getRuntime, authorizeDaemon }
}

/** A host whose JSON parser counts the bodies it parses (by route). */
async function countingHost (t: Test, plugin: Partial<FastifyModelListOptions> = {}, server: FastifyServerOptions = {}): Promise<{ app: FastifyInstance, parsed: string[], hooks: ReturnType<typeof hostHooks> }> {
  const hooks = hostHooks()
  const parsed: string[] = []
  const app = Fastify(server)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parsed.push(request.routeOptions.url as string)
    done(null, JSON.parse(body as string))
  })
  await app.register(fastifyModelList, { getRuntime: hooks.getRuntime, authorizeDaemon: hooks.authorizeDaemon, ...plugin })
  await app.ready()
  t.teardown(() => app.close())
  return { app, parsed, hooks }
}

const reportUrl = (rt: string, id: string): string => `/daemon/runtimes/${rt}/models/${id}/result`

t.test('regression: a host on the zod type provider could not start ("Failed building the serialization schema")', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.setValidatorCompiler(zodValidatorCompiler)
  app.setSerializerCompiler(zodSerializerCompiler)
  await app.register(fastifyModelList, { ...plainHooks(), prefix: '/api' })
  await t.resolves(async () => { await app.ready() }, 'the app starts')
  const created = await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })
  t.equal(created.statusCode, 200)
  t.equal(created.json().status, 'pending')
})

t.test("regression: the create route replaced the host's JSON parser", async t => {
  const { app, parsed } = await countingHost(t)
  const res = await app.inject({ method: 'POST', url: '/runtimes/rt-1/models', payload: { force: false } })
  t.equal(res.statusCode, 200)
  t.strictSame(parsed, ['/runtimes/:runtimeId/models'], "the host's parser read the create body")
})

t.test('regression: store failures lost their cause and were logged twice', async t => {
  const inner = new MemoryModelListStore()
  t.teardown(() => inner.close())
  const failure = new Error('READONLY You can\'t write against a read only replica.')
  const causes: unknown[] = []
  const log = logCapture()
  const app = Fastify({ logger: { level: 'info', stream: log.stream } })
  t.teardown(() => app.close())
  app.setErrorHandler((error: Error, request, reply) => {
    causes.push(error.cause)
    throw error
  })
  await app.register(fastifyModelList, { ...plainHooks(), store: spyStore(inner, { create: async () => { throw failure } }) })
  const res = await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
  t.notMatch(res.body, /READONLY/, 'no internal detail answered')
  t.strictSame(causes, [failure], "the host's error handler sees the store's error as cause")
  t.equal(log.errors().length, 1, 'one error line')
  t.match(log.errors()[0]?.err?.message, /READONLY/, 'carrying the cause')
})

t.test("regression: a custom store's 429 became a 503", async t => {
  const inner = new MemoryModelListStore()
  t.teardown(() => inner.close())
  const quota = Object.assign(new Error('quota exceeded'), { statusCode: 429, code: 'QUOTA_EXCEEDED' })
  const s = await buildHost({ store: spyStore(inner, { create: async () => { throw quota } }) })
  t.teardown(() => s.app.close())
  const res = await s.app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })
  t.equal(res.statusCode, 429, 'passes through unchanged')
  t.equal(res.json().code, 'QUOTA_EXCEEDED')
  t.equal(res.headers['retry-after'], undefined, 'not made a 503')

  t.test('a store error with a 5xx statusCode is still a 503', async t => {
    const crash = Object.assign(new Error('internal'), { statusCode: 500 })
    const s = await buildHost({ store: spyStore(inner, { create: async () => { throw crash } }) })
    t.teardown(() => s.app.close())
    const res = await s.app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
  })
  t.test('a store rejecting with null is a 503', async t => {
    // eslint-disable-next-line prefer-promise-reject-errors
    const s = await buildHost({ store: spyStore(inner, { create: async () => await Promise.reject(null) }) })
    t.teardown(() => s.app.close())
    t.equal((await s.app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).statusCode, 503)
  })
})

t.test("regression: the heartbeat helper logged without the request's id", async t => {
  const inner = new MemoryModelListStore()
  t.teardown(() => inner.close())
  const s = await buildHost({ store: spyStore(inner, { hasPending: async () => { throw new Error('ECONNRESET') } }) })
  t.teardown(() => s.app.close())
  s.app.log.level = 'info'
  const request = { log: s.app.log.child({ reqId: 'heartbeat-42' }) }
  t.equal(await s.app.claimPendingModelList('rt-1', request as any), null)
  t.equal(s.log.errors().length, 1)
  t.equal(s.log.errors()[0]?.reqId, 'heartbeat-42', "on the request's logger")
})

t.test("regression: validation errors were not shaped like Ajv's (keyword 'typebox', empty params)", async t => {
  const seen: any[] = []
  const app = Fastify({
    schemaErrorFormatter: (errors, dataVar) => {
      seen.push({ errors, dataVar })
      return new Error(`host: ${errors.map(error => `${error.keyword}`).join('+')}`)
    }
  })
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { ...plainHooks() })
  const { id } = (await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
  const report = async (body: unknown): Promise<any> => (await app.inject({ method: 'POST', url: reportUrl('rt-1', id), payload: body as object })).json()

  t.equal((await report({ models: [] })).message, 'host: required', "the host's formatter writes the message")
  t.match(seen.pop(), { dataVar: 'body', errors: [{ keyword: 'required', instancePath: '', schemaPath: '#/required', params: { missingProperty: 'status' } }] })
  await report({ status: 'completed', supported: null })
  t.match(seen.pop(), { errors: [{ keyword: 'type', instancePath: '/supported', params: { type: 'boolean' }, message: 'must be boolean' }] })
  await report({ status: 'completed', models: [{ id: 'i'.repeat(257), label: 'M' }] })
  t.match(seen.pop(), { errors: [{ keyword: 'maxLength', instancePath: '/models/0/id', params: { limit: 256 } }] })
  await report({ status: 'completed', models: Array.from({ length: 1001 }, () => model) })
  t.match(seen.pop(), { errors: [{ keyword: 'maxItems', instancePath: '/models', params: { limit: 1000 } }] })
  await report({ status: 'complete' })
  t.match(seen.pop(), { errors: [{ keyword: 'enum', instancePath: '/status', schemaPath: '#/properties/status/enum', params: { allowedValues: ['completed', 'failed'] } }] })

  const badId = await app.inject({ method: 'POST', url: reportUrl('bad%20id', id), payload: { status: 'failed' } })
  t.equal(badId.json().message, 'host: pattern', "the daemon route's early id check uses the host's formatter too")
  t.match(seen.pop(), { dataVar: 'params', errors: [{ keyword: 'pattern', instancePath: '/runtimeId', params: { pattern: '^[A-Za-z0-9_-]{1,100}$' } }] })
  const badPoll = await app.inject({ method: 'GET', url: '/runtimes/rt-1/models/%7Bx%7D' })
  t.equal(badPoll.json().code, 'FST_ERR_VALIDATION')
  t.match(seen.pop(), { dataVar: 'params', errors: [{ keyword: 'pattern', instancePath: '/requestId' }] })
})

t.test("regression: a wrong enum said 'Expected union value' without the allowed values", async t => {
  const s = await buildHost({})
  t.teardown(() => s.app.close())
  const { id } = (await s.app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
  const res = await s.app.inject({ method: 'POST', url: reportUrl('rt-1', id), payload: { status: 'complete' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().message, 'body/status must be equal to one of the allowed values: completed, failed')
})

t.test('regression: option typos passed silently (pendingTimeoutMS)', async t => {
  const register = async (options: Record<string, unknown>): Promise<void> => {
    const app = Fastify()
    try {
      await app.register(fastifyModelList, { ...plainHooks(), ...options } as FastifyModelListOptions)
      await app.ready()
    } finally {
      await app.close()
    }
  }
  await t.rejects(register({ pendingTimeoutMS: 5_000 }), { code: 'FST_MODEL_LIST_INVALID_OPTION', message: /unknown option pendingTimeoutMS$/ })
  await t.rejects(register({ keyprefix: 'x', getruntime: () => null }), { message: /unknown options keyprefix, getruntime$/ }, 'every unknown name, named')
  await t.resolves(register({ prefix: '/api', logLevel: 'warn', logSerializers: {} }), "Fastify's own register options are not ours to refuse")
  await t.resolves(register({
    store: 'memory',
    keyPrefix: 'model-list',
    pendingTimeoutMs: 30_000,
    runningTimeoutMs: 60_000,
    retentionMs: 120_000,
    heartbeatProbeTimeoutMs: 1_000,
    storeTimeoutMs: 2_000,
    now: () => Date.now(),
    coalesce: true,
    work: []
  }), 'every option API.md names is known')
})

t.test('regression: options of features not built yet were accepted and ignored (work)', async t => {
  const register = async (work: unknown): Promise<void> => {
    const app = Fastify()
    try {
      await app.register(fastifyModelList, { ...plainHooks(), work } as unknown as FastifyModelListOptions)
      await app.ready()
    } finally {
      await app.close()
    }
  }
  // A plain object is not a kind: declared with daemonWork(...) or refused, never ignored.
  await t.rejects(register([{ name: 'skill_import' }]), { code: 'FST_MODEL_LIST_INVALID_OPTION', message: /work must be an array of daemonWork/ })
  await t.rejects(register('skill_import'), { message: /work must be an array/ })
  await t.resolves(register([]), 'an empty list is the model list alone')
})

t.test("regression: a refused caller made the server parse a 1 MiB report", async t => {
  const big = JSON.stringify({ status: 'completed', models: Array.from({ length: 1000 }, (_, i) => ({ id: `m${i}`, label: 'x'.repeat(200) })) })
  t.ok(big.length > 200_000, `a big report (${big.length} bytes)`)

  t.test('authorizeDaemon answers false: 404 and the body is never parsed', async t => {
    const { app, parsed, hooks } = await countingHost(t)
    hooks.daemons.delete('rt-1')
    const res = await app.inject({ method: 'POST', url: reportUrl('rt-1', 'req-1'), headers: { 'content-type': 'application/json' }, payload: big })
    t.equal(res.statusCode, 404)
    t.equal(res.json().code, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    t.strictSame(parsed, [], 'the parser never ran')
  })
  t.test("authorizeDaemon throws the host's 401: the body is never parsed", async t => {
    const { app, parsed, hooks } = await countingHost(t)
    hooks.failAuthorizeDaemon(Object.assign(new Error('no token'), { statusCode: 401 }))
    const res = await app.inject({ method: 'POST', url: reportUrl('rt-1', 'req-1'), headers: { 'content-type': 'application/json' }, payload: big })
    t.equal(res.statusCode, 401)
    t.strictSame(parsed, [])
  })
  t.test('a bad id: 400 before authorizeDaemon, the body never parsed', async t => {
    const { app, parsed, hooks } = await countingHost(t)
    const res = await app.inject({ method: 'POST', url: reportUrl('rt-1', 'bad.id'), headers: { 'content-type': 'application/json' }, payload: big })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'FST_ERR_VALIDATION')
    t.equal(res.json().message, 'params/requestId must match pattern "^[A-Za-z0-9_-]{1,100}$"')
    t.strictSame(hooks.calls.authorizeDaemon, [])
    t.strictSame(parsed, [])
  })
  t.test('an authorized caller: the body is parsed once, then the store', async t => {
    const { app, parsed } = await countingHost(t)
    const { id } = (await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
    await app.claimPendingModelList('rt-1')
    const res = await app.inject({ method: 'POST', url: reportUrl('rt-1', id), headers: { 'content-type': 'application/json' }, payload: big })
    t.equal(res.statusCode, 200)
    t.strictSame(parsed, ['/daemon/runtimes/:runtimeId/models/:requestId/result'])
  })
})

t.test("regression: a truthy 'yes' from authorizeDaemon authorized the daemon", async t => {
  for (const answer of ['yes', 1, {}, 'true']) {
    const inner = new MemoryModelListStore()
    t.teardown(() => inner.close())
    const store = spyStore(inner)
    const s = await buildHost({ store, authorizeDaemon: (async () => answer) as any })
    t.teardown(() => s.app.close())
    const { id } = await inner.create('rt-1')
    const res = await s.app.inject({ method: 'POST', url: reportUrl('rt-1', id), payload: { status: 'failed', error: 'x' } })
    t.equal(res.statusCode, 404, `${JSON.stringify(answer)} refuses`)
    t.equal(store.count('fail'), 0, 'the store is not touched')
  }
})

t.test('regression: getRuntime answering undefined (what db.find gives) is a 404', async t => {
  const s = await buildHost({ getRuntime: async () => undefined })
  t.teardown(() => s.app.close())
  const res = await s.app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
})

/**
 * An ioredis-mock client that fails every command while `down`, as a client
 * cut off from Redis does (scripts included).
 */
function faultyClient (): { client: Redis, setDown: (down: boolean) => void } {
  const mock = mockRedis({ port: 40_000 + (process.pid % 10_000) })
  let down = false
  const client = new Proxy(mock, {
    get (target, property) {
      const value = Reflect.get(target, property, target) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => down ? Promise.reject(new Error('Connection is closed.')) : (value as (...a: unknown[]) => unknown).apply(target, args)
    }
  })
  return { client: client as unknown as Redis, setDown: (value) => { down = value } }
}

// A Redis store on ioredis-mock, driven by the hand-moved clock, with its
// client failing as in a Redis outage.
t.test('regression: an outage wrote a line per heartbeat', async t => {
  const { client, setDown } = faultyClient()
  t.teardown(() => client.disconnect())
  const clock = new Clock()
  const s = await buildHost({ redis: client, keyPrefix: `outage-${process.pid}`, now: clock.now })
  t.teardown(() => s.app.close())
  const claim = async (): Promise<unknown> => await s.app.claimPendingModelList('rt-1')
  t.equal(await claim(), null, 'healthy: nothing pending')
  t.equal(s.log.errors().length, 0)

  setDown(true)
  // A heartbeat every 10 ms for 10 s: 1000 failing calls.
  const calls = 1000
  for (let i = 0; i < calls; i++) {
    t.equal(await claim(), null)
    clock.advance(10)
  }
  const duringOutage = s.log.errors().length
  t.equal(duringOutage, 1, `${calls} heartbeats in a 10 s outage: ${duringOutage} line`)
  // The next interval: one more line, carrying the count of the one before.
  for (let i = 0; i < 500; i++) {
    await claim()
    clock.advance(10)
  }
  t.equal(s.log.errors().length, 2)
  t.equal(s.log.errors()[1]?.repeatedSinceLastLine, calls - 1, 'with the count of the calls it stood for')
  setDown(false)
  t.equal(await claim(), null, 'the store is back')
  t.equal(s.log.errors().length, 3, 'recovery reports what was only counted')
  t.equal(s.log.errors()[2]?.repeatedSinceLastLine, 499)
  t.equal(await claim(), null)
  t.equal(s.log.errors().length, 3, 'and healthy calls write nothing')
  t.comment(`outage log: ${calls} heartbeats over 10 s -> 1 line; 1500 over 15 s plus recovery -> 3 lines`)
})

t.test("the register option logLevel reaches the plugin's routes", async t => {
  const log = logCapture()
  const app = Fastify({ logger: { level: 'info', stream: log.stream } })
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { ...plainHooks(), logLevel: 'error' })
  app.get('/host', async () => 'ok')
  await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })
  t.equal(log.lines.filter(line => line.level === 30).length, 0, 'our routes log at error only')
  await app.inject({ method: 'GET', url: '/host' })
  t.ok(log.lines.some(line => line.level === 30), "the host's routes keep their level")
})
