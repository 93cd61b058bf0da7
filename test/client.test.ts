import { mock } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import fastifyModelList, { MemoryModelListStore, type FastifyModelListOptions, type ModelListStore } from '../lib/index'
import { listModels, ModelListError, reportModelList } from '../lib/client'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'

// The client helpers against a real app on an ephemeral loopback port, with a
// simulated daemon that heartbeats and reports over HTTP as a real one does.

interface Server {
  app: FastifyInstance
  baseUrl: string
  /** Bodies the create route received, in order (undefined: none). */
  createBodies: unknown[]
  /** Polls the get route received, with their query. */
  polls: Array<Record<string, string>>
  /** Report attempts the daemon route received. */
  reports: number
}

type Options = Partial<FastifyModelListOptions>

async function serve (t: Test, options: Options = {}, setup: (app: FastifyInstance) => void = () => {}): Promise<Server> {
  const app = Fastify()
  setup(app)
  const server: Server = { app, baseUrl: '', createBodies: [], polls: [], reports: 0 }
  // preValidation: the body as sent, before the route's schema drops unknown fields.
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.url.endsWith('/models')) server.createBodies.push(structuredClone(request.body ?? undefined))
    if (request.method === 'GET') server.polls.push(request.query as Record<string, string>)
    if (request.url.endsWith('/result')) server.reports++
  })
  await app.register(fastifyModelList, {
    prefix: '/api',
    getRuntime: async (_request, runtimeId) => runtimeId.startsWith('missing') ? null : { online: !runtimeId.startsWith('offline') },
    authorizeDaemon: async () => true,
    ...options
  } as FastifyModelListOptions)
  app.post<{ Params: { runtimeId: string } }>('/api/daemon/heartbeat/:runtimeId', async (request) => {
    const pending = await app.claimPendingModelList(request.params.runtimeId, request)
    return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  server.baseUrl = `${address}/api`
  t.teardown(() => app.close())
  return server
}

/** The daemon's side: one heartbeat, then the report of what it claimed (if anything). */
async function daemonTurn (server: Server, runtimeId: string, report: Parameters<typeof reportModelList>[0]['report']): Promise<string | null> {
  const heartbeat = await (await fetch(`${server.baseUrl}/daemon/heartbeat/${runtimeId}`, { method: 'POST' })).json() as { pending_model_list?: { id: string } }
  const claimed = heartbeat.pending_model_list
  if (claimed === undefined) return null
  await reportModelList({ baseUrl: server.baseUrl, runtimeId, requestId: claimed.id, report })
  return claimed.id
}

/** A fetch that runs `after` once the first call matching `when` has its answer. */
function fetchThen (when: (method: string, url: string) => boolean, after: () => Promise<unknown>): typeof fetch {
  let done = false
  return async (input, init) => {
    const response = await fetch(input, init)
    if (!done && when(init?.method ?? 'GET', String(input))) {
      done = true
      await after()
    }
    return response
  }
}

// Lets the loopback round trips under way finish: I/O, never time.
async function until (t: Test, what: string, condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !condition(); turn++) await new Promise(resolve => setImmediate(resolve))
  t.ok(condition(), what)
}

/** A fetch that, when the first call matching `when` is sent, runs `during` beside it. */
function fetchDuring (when: (method: string, url: string) => boolean, during: () => Promise<unknown>): typeof fetch {
  let done = false
  return async (input, init) => {
    if (done || !when(init?.method ?? 'GET', String(input))) return await fetch(input, init)
    done = true
    const [response] = await Promise.all([fetch(input, init), during()])
    return response
  }
}

const isPost = (method: string): boolean => method === 'POST'
const isGet = (method: string): boolean => method === 'GET'

t.test('listModels: the whole flow, the daemon reporting after the POST', async t => {
  const server = await serve(t)
  const result = await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-flow',
    fetch: fetchThen(isPost, () => daemonTurn(server, 'rt-flow', { status: 'completed', models: catalog, supported: true }))
  })
  t.strictSame(result, { models: catalog, supported: true, cached: false })
  t.same(server.createBodies, [undefined], 'no body without force')
  t.equal(server.polls.length, 1, 'one poll found it completed')
  t.match(server.polls[0], { wait_ms: /^\d+$/ }, 'the poll asks the server to hold it')
})

t.test('listModels: the daemon reports while a poll is out; supported: false passes through', async t => {
  const server = await serve(t)
  const result = await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-later',
    fetch: fetchDuring(isGet, () => daemonTurn(server, 'rt-later', { status: 'completed', models: [], supported: false }))
  })
  t.strictSame(result, { models: [], supported: false, cached: false })
  t.ok(server.polls.length >= 1, 'the answer came from a poll')
})

t.test('listModels: the second picker open is answered from the cache; force asks the daemon', async t => {
  const server = await serve(t)
  const first = await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-cache',
    fetch: fetchThen(isPost, () => daemonTurn(server, 'rt-cache', { status: 'completed', models: catalog }))
  })
  t.equal(first.cached, false)
  const polls = server.polls.length
  const second = await listModels({ baseUrl: server.baseUrl, runtimeId: 'rt-cache' })
  t.match(second, { models: catalog, supported: true, cached: true, cachedAt: String })
  t.ok(!Number.isNaN(Date.parse(second.cachedAt as string)), 'cachedAt is a date')
  t.equal(server.polls.length, polls, 'answered by the POST alone, no poll')
  const forced = await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-cache',
    force: true,
    fetch: fetchThen(isPost, () => daemonTurn(server, 'rt-cache', { status: 'completed', models: catalog.slice(0, 1) }))
  })
  t.strictSame(forced, { models: catalog.slice(0, 1), supported: true, cached: false }, 'force: a fresh discovery')
})

t.test('listModels: force sends { force: true }; headers go with every request', async t => {
  const seen: string[] = []
  const server = await serve(t, {}, app => {
    app.addHook('onRequest', async (request) => { if (request.url.includes('/api/runtimes/')) seen.push(String(request.headers.authorization)) })
  })
  await listModels({
    baseUrl: `${server.baseUrl}/`,
    runtimeId: 'rt-force',
    force: true,
    headers: { authorization: 'Bearer frontend' },
    fetch: fetchThen(isPost, () => daemonTurn(server, 'rt-force', { status: 'completed', models: catalog }))
  })
  t.same(server.createBodies, [{ force: true }])
  t.ok(seen.length >= 2 && seen.every(header => header === 'Bearer frontend'), 'the POST and the poll carried the header')
})

t.test('listModels: a failed request rejects with its error and status', async t => {
  const server = await serve(t)
  const error = await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-failed',
    fetch: fetchThen(isPost, () => daemonTurn(server, 'rt-failed', { status: 'failed', error: 'discovery crashed' }))
  }).catch((error: unknown) => error)
  t.type(error, ModelListError)
  t.match(error, { name: 'ModelListError', message: 'discovery crashed', status: 'failed' })
})

t.test('listModels: a failed report without an error still says what happened', async t => {
  const server = await serve(t)
  const error = await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-failed-bare',
    fetch: fetchThen(isPost, () => daemonTurn(server, 'rt-failed-bare', { status: 'failed' }))
  }).catch((error: unknown) => error)
  t.match(error, { name: 'ModelListError', status: 'failed', message: /\S/ })
})

// Answers as a server would, without one: shapes the real app cannot be made to give yet.
function answering (...bodies: object[]): typeof fetch {
  return async () => Response.json(bodies.shift())
}

t.test('listModels: reads a cache answer (cached, cachedAt) and a completed answer without models', async t => {
  const cachedAt = '2026-01-01T00:00:00.000Z'
  const cached = { id: 'c', runtime_id: 'rt', status: 'completed', models: catalog, supported: true, created_at: cachedAt, updated_at: cachedAt, cached: true, cached_at: cachedAt }
  t.strictSame(await listModels({ baseUrl: 'http://api.invalid', runtimeId: 'rt', fetch: answering(cached) }), { models: catalog, supported: true, cached: true, cachedAt })
  const bare = { id: 'b', runtime_id: 'rt', status: 'completed', supported: false, created_at: cachedAt, updated_at: cachedAt }
  t.strictSame(await listModels({ baseUrl: 'http://api.invalid', runtimeId: 'rt', fetch: answering(bare) }), { models: [], supported: false, cached: false })
  const failed = { id: 'f', runtime_id: 'rt', status: 'failed', supported: true, created_at: cachedAt, updated_at: cachedAt }
  t.match(await listModels({ baseUrl: 'http://api.invalid', runtimeId: 'rt', fetch: answering(failed) }).catch((error: unknown) => error), { message: 'model list failed', status: 'failed' })
})

t.test('listModels: a request that timed out on the server rejects with status timeout', async t => {
  const clock = new Clock()
  const server = await serve(t, { now: clock.now })
  const error = await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-timeout',
    fetch: fetchThen(isPost, async () => { clock.advance(30_001) })
  }).catch((error: unknown) => error)
  t.match(error, { name: 'ModelListError', status: 'timeout', message: 'daemon did not respond within 30 seconds' })
})

t.test("listModels: the server's error answers reject with its status and code", async t => {
  const server = await serve(t)
  for (const [runtimeId, statusCode, code] of [
    ['missing-rt', 404, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND'],
    ['offline-rt', 503, 'FST_MODEL_LIST_RUNTIME_OFFLINE'],
    ['bad id', 400, 'FST_ERR_VALIDATION']
  ] as const) {
    const error = await listModels({ baseUrl: server.baseUrl, runtimeId }).catch((error: unknown) => error)
    t.type(error, ModelListError)
    t.match(error, { statusCode, code }, `${runtimeId}: ${statusCode} ${code}`)
  }
  // A poll for a request the server forgot: the GET's own 404.
  const forgetting = await serve(t, { store: new MemoryModelListStore() })
  const store = forgetting.app.modelListStore
  store.get = async () => null
  const error = await listModels({ baseUrl: forgetting.baseUrl, runtimeId: 'rt-forgotten' }).catch((error: unknown) => error)
  t.match(error, { statusCode: 404, code: 'FST_MODEL_LIST_REQUEST_NOT_FOUND' })
  await store.close()
})

t.test('listModels: an answer that is not the error shape still gives its status', async t => {
  const error = await listModels({
    baseUrl: 'http://proxy.invalid/api',
    runtimeId: 'rt',
    fetch: async () => new Response('<html>bad gateway</html>', { status: 502 })
  }).catch((error: unknown) => error)
  t.match(error, { name: 'ModelListError', statusCode: 502, message: 'HTTP 502', code: undefined })
})

t.test('listModels: a network error rejects with code ENETWORK and the cause', async t => {
  const server = await serve(t)
  await server.app.close()
  const error = await listModels({ baseUrl: server.baseUrl, runtimeId: 'rt' }).catch((error: unknown) => error)
  t.match(error, { name: 'ModelListError', code: 'ENETWORK', message: /^network error/ })
  t.type((error as Error).cause, Error)
})

// A server that answers each poll at once, as one without long polling would:
// the poll goes out without its wait_ms (the client's own timers are faked in
// these tests, and a held poll would sleep on them).
function atOnce (input: Parameters<typeof fetch>[0]): string {
  const url = new URL(String(input))
  url.searchParams.delete('wait_ms')
  return String(url)
}

t.test('listModels: a poll answered early and still pending backs off instead of spinning', async t => {
  const server = await serve(t)
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  let polls = 0
  const counting: typeof fetch = async (input, init) => {
    const response = await fetch((init?.method ?? 'GET') === 'GET' ? atOnce(input) : input, init)
    if ((init?.method ?? 'GET') === 'GET') polls++
    return response
  }
  const controller = new AbortController()
  const listing = listModels({ baseUrl: server.baseUrl, runtimeId: 'rt-early', fetch: counting, signal: controller.signal }).catch((error: unknown) => error)
  await until(t, 'first poll answered', () => polls === 1)
  const waits = [250, 500, 1_000, 2_000, 2_000]
  for (const [index, wait] of waits.entries()) {
    mock.timers.tick(wait - 1)
    for (let turn = 0; turn < 50; turn++) await new Promise(resolve => setImmediate(resolve))
    t.equal(polls, index + 1, `no poll before ${wait} ms`)
    mock.timers.tick(1)
    await until(t, `the next poll after ${wait} ms`, () => polls === index + 2)
  }
  controller.abort()
  t.match(await listing, { name: 'AbortError' }, 'the signal ends it')
})

t.test('listModels: an aborted signal rejects with its reason, before or during the wait', async t => {
  const server = await serve(t)
  const before = new AbortController()
  before.abort()
  t.match(await listModels({ baseUrl: server.baseUrl, runtimeId: 'rt-abort', signal: before.signal }).catch((error: unknown) => error), { name: 'AbortError' })

  const during = new AbortController()
  const error = await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-abort',
    signal: during.signal,
    fetch: fetchThen(isPost, async () => { during.abort(new Error('picker closed')) })
  }).catch((error: unknown) => error)
  t.match(error, { message: 'picker closed' })
  t.equal(server.polls.length, 0, 'no poll after the abort')
})

t.test('listModels: a poll the server held for its whole wait is followed at once', async t => {
  // A store that cannot hold polls, and a fetch that holds each poll its full
  // wait_ms on the fake clock: the next poll goes out without a pause.
  const server = await serve(t)
  mock.timers.enable({ apis: ['setTimeout', 'Date'] })
  t.teardown(() => mock.timers.reset())
  let held = 0
  let polls = 0
  const holding: typeof fetch = async (input, init) => {
    const response = await fetch((init?.method ?? 'GET') === 'GET' ? atOnce(input) : input, init)
    if ((init?.method ?? 'GET') === 'GET') {
      const waitMs = Number(new URL(String(input)).searchParams.get('wait_ms'))
      const hold = new Promise(resolve => setTimeout(resolve, waitMs))
      held++
      await hold
      polls++
    }
    return response
  }
  const controller = new AbortController()
  const listing = listModels({ baseUrl: server.baseUrl, runtimeId: 'rt-held', fetch: holding, signal: controller.signal }).catch((error: unknown) => error)
  await until(t, 'the first poll is held', () => held === 1)
  mock.timers.tick(25_000)
  await until(t, 'the first poll is answered', () => polls === 1)
  await until(t, 'the second poll follows with no clock moved', () => server.polls.length === 2)
  controller.abort()
  t.match(await listing, { name: 'AbortError' })
})

t.test('reportModelList: a signal aborted as a 5xx arrives stops before the wait', async t => {
  const { store, inner } = flakyStore(10)
  t.teardown(() => inner.close())
  const server = await serve(t, { store })
  const requestId = await claimed(server, 'rt-abort-5xx')
  const controller = new AbortController()
  const aborting: typeof fetch = async (input, init) => {
    const response = await fetch(input, init)
    const body = await response.arrayBuffer()
    controller.abort(new Error('daemon shutting down'))
    return new Response(body, { status: response.status, headers: response.headers })
  }
  const error = await reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-abort-5xx', requestId, report: { status: 'failed', error: 'x' }, signal: controller.signal, fetch: aborting }).catch((error: unknown) => error)
  t.match(error, { message: 'daemon shutting down' })
  t.equal(server.reports, 1)
})

t.test('listModels: timeoutMs ends the wait with ETIMEDOUT', async t => {
  const server = await serve(t)
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  let polls = 0
  const asked: number[] = []
  const counting: typeof fetch = async (input, init) => {
    const isGet = (init?.method ?? 'GET') === 'GET'
    if (isGet) asked.push(Number(new URL(String(input)).searchParams.get('wait_ms')))
    const response = await fetch(isGet ? atOnce(input) : input, init)
    if (isGet) polls++
    return response
  }
  const listing = listModels({ baseUrl: server.baseUrl, runtimeId: 'rt-slow', timeoutMs: 1_000, fetch: counting }).catch((error: unknown) => error)
  await until(t, 'first poll answered', () => polls === 1)
  mock.timers.tick(1_000)
  const error = await listing
  t.type(error, ModelListError)
  t.match(error, { code: 'ETIMEDOUT', message: 'no answer within 1000 ms' })
  t.equal(server.polls.length, 1)
  t.ok(asked[0] > 0 && asked[0] <= 1_000, 'the poll asked for no more than the time left')
})

t.test('listModels: a poll never asks for more than 25 s', async t => {
  const server = await serve(t)
  await listModels({
    baseUrl: server.baseUrl,
    runtimeId: 'rt-long',
    fetch: fetchThen(isPost, () => daemonTurn(server, 'rt-long', { status: 'completed', models: catalog }))
  })
  t.equal(Number(server.polls[0].wait_ms), 25_000, 'default timeoutMs (95 s) leaves room for a 25 s hold')
})

// A store whose complete() and fail() fail `failures` times in all (503 to the daemon), then work.
function flakyStore (failures: number): { store: ModelListStore, inner: MemoryModelListStore } {
  const inner = new MemoryModelListStore()
  let left = failures
  const store: ModelListStore = {
    create: (...args) => inner.create(...args),
    get: (...args) => inner.get(...args),
    hasPending: (...args) => inner.hasPending(...args),
    popPending: (...args) => inner.popPending(...args),
    complete: async (...args) => {
      if (left-- > 0) throw new Error('store down')
      return await inner.complete(...args)
    },
    fail: async (...args) => {
      if (left-- > 0) throw new Error('store down')
      return await inner.fail(...args)
    },
    close: () => inner.close()
  }
  return { store, inner }
}

async function claimed (server: Server, runtimeId: string): Promise<string> {
  const created = await (await fetch(`${server.baseUrl}/runtimes/${runtimeId}/models`, { method: 'POST' })).json() as { id: string }
  const pending = await server.app.claimPendingModelList(runtimeId)
  if (pending?.id !== created.id) throw new Error('the daemon did not claim the request just made')
  return created.id
}

/**
 * A fetch that counts the answers (and network errors) the client got, with
 * the body already read: once the count moves, only microtasks stand between
 * the client and its next timer.
 */
function answered (): { fetch: typeof fetch, count: () => number } {
  let count = 0
  return {
    count: () => count,
    fetch: async (input, init) => {
      try {
        const response = await fetch(input, init)
        const body = await response.arrayBuffer()
        return new Response(body, { status: response.status, headers: response.headers })
      } finally {
        count++
      }
    }
  }
}

// Checks the report is sent again after exactly `delays`, then answers `ending`.
async function retrySchedule (t: Test, attempts: () => number, delays: number[]): Promise<void> {
  await until(t, 'first attempt', () => attempts() === 1)
  for (const [index, delay] of delays.entries()) {
    mock.timers.tick(delay - 1)
    for (let turn = 0; turn < 50; turn++) await new Promise(resolve => setImmediate(resolve))
    t.equal(attempts(), index + 1, `not sent again before ${delay} ms`)
    mock.timers.tick(1)
    await until(t, `sent again after ${delay} ms`, () => attempts() === index + 2)
  }
}

t.test('reportModelList: retried after 0.5 s, 2 s and 4 s on a 5xx, then lands', async t => {
  const { store, inner } = flakyStore(3)
  t.teardown(() => inner.close())
  const server = await serve(t, { store })
  const requestId = await claimed(server, 'rt-retry')
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  const client = answered()
  const reporting = reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-retry', requestId, report: { status: 'completed', models: catalog }, fetch: client.fetch })
  await retrySchedule(t, client.count, [500, 2_000, 4_000])
  t.same(await reporting, { status: 'ok' })
  t.equal(server.reports, 4)
  t.match(await inner.get('rt-retry', requestId), { status: 'completed', models: catalog })
})

t.test('reportModelList: gives up after the fourth 5xx with its status and code', async t => {
  const { store, inner } = flakyStore(10)
  t.teardown(() => inner.close())
  const server = await serve(t, { store })
  const requestId = await claimed(server, 'rt-down')
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  const client = answered()
  const reporting = reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-down', requestId, report: { status: 'failed', error: 'x' }, fetch: client.fetch }).catch((error: unknown) => error)
  await retrySchedule(t, client.count, [500, 2_000, 4_000])
  const error = await reporting
  t.type(error, ModelListError)
  t.match(error, { statusCode: 503, code: 'FST_MODEL_LIST_STORE_UNAVAILABLE' })
  t.equal(server.reports, 4, 'four attempts in all')
})

// A real refused connection is tested above (listModels); here undici's own
// timers would be frozen with the clock, so the first attempts fail the way
// fetch fails without an answer, before the real one.
function refusingFirst (refusals: number, client: { fetch: typeof fetch }): typeof fetch {
  let left = refusals
  return async (input, init) => {
    if (left-- > 0) {
      return await client.fetch(input, { ...init, body: undefined, signal: AbortSignal.abort(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })) })
    }
    return await client.fetch(input, init)
  }
}

t.test('reportModelList: retried on network errors with the same schedule', async t => {
  const server = await serve(t)
  const requestId = await claimed(server, 'rt-net')
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  const client = answered()
  const reporting = reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-net', requestId, report: { status: 'completed', models: catalog }, fetch: refusingFirst(3, client) })
  await retrySchedule(t, client.count, [500, 2_000, 4_000])
  t.same(await reporting, { status: 'ok' })
  t.equal(server.reports, 1, 'only the fourth attempt reached the server')

  const failing = answered()
  const givingUp = reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-net', requestId, report: { status: 'failed', error: 'x' }, fetch: refusingFirst(4, failing) }).catch((error: unknown) => error)
  await retrySchedule(t, failing.count, [500, 2_000, 4_000])
  const error = await givingUp
  t.match(error, { name: 'ModelListError', code: 'ENETWORK', message: 'network error: fetch failed' })
  t.equal(failing.count(), 4)
})

t.test('reportModelList: never retried on a 4xx', async t => {
  const server = await serve(t)
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  const error = await reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-4xx', requestId: 'unknown-request', report: { status: 'completed', models: [] } }).catch((error: unknown) => error)
  t.match(error, { name: 'ModelListError', statusCode: 404, code: 'FST_MODEL_LIST_REQUEST_NOT_FOUND' })
  mock.timers.tick(10_000)
  for (let turn = 0; turn < 50; turn++) await new Promise(resolve => setImmediate(resolve))
  t.equal(server.reports, 1, 'one attempt, none after')
  const invalid = await reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-4xx', requestId: 'req', report: { status: 'running' } as never }).catch((error: unknown) => error)
  t.match(invalid, { statusCode: 400, code: 'FST_ERR_VALIDATION' })
})

t.test('reportModelList: an aborted signal stops the retries', async t => {
  const { store, inner } = flakyStore(10)
  t.teardown(() => inner.close())
  const server = await serve(t, { store })
  const requestId = await claimed(server, 'rt-stop')
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  const controller = new AbortController()
  const client = answered()
  const reporting = reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-stop', requestId, report: { status: 'failed', error: 'x' }, signal: controller.signal, fetch: client.fetch }).catch((error: unknown) => error)
  await until(t, 'first attempt answered', () => client.count() === 1)
  for (let turn = 0; turn < 50; turn++) await new Promise(resolve => setImmediate(resolve))
  controller.abort()
  t.match(await reporting, { name: 'AbortError' })
  mock.timers.tick(10_000)
  for (let turn = 0; turn < 50; turn++) await new Promise(resolve => setImmediate(resolve))
  t.equal(server.reports, 1, 'not sent again')

  const before = new AbortController()
  before.abort()
  t.match(await reportModelList({ baseUrl: server.baseUrl, runtimeId: 'rt-stop', requestId, report: { status: 'failed', error: 'x' }, signal: before.signal }).catch((error: unknown) => error), { name: 'AbortError' }, 'an aborted signal sends nothing')
  t.equal(server.reports, 1)
})

t.test('ModelListError carries only the details it was given', async t => {
  const bare = new ModelListError('x')
  t.equal(bare.name, 'ModelListError')
  t.notOk('statusCode' in bare || 'code' in bare || 'status' in bare || 'cause' in bare)
  t.ok(bare instanceof Error)
})
