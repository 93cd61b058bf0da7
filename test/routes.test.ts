// Every row of API.md's routes table and every status code it names, through
// fastify.inject, on the memory store and a hand-moved clock.
import t, { type Test } from 'tap'
import type { FastifyServerOptions, LightMyRequestResponse } from 'fastify'
import createError from '@fastify/error'
import { MemoryModelListStore, type FastifyModelListOptions, type ModelEntry, type ModelListStore } from '../lib/index'
import { Clock } from './helpers/clock'
import { buildHost, errorKeys, hang, spyStore, type Host, type SpyStore } from './helpers/host'

// Where the routes are mounted, with the register `prefix` option.
const base = '/api'

interface Setup extends Host {
  clock: Clock
  /** The store the plugin uses (the spy, when one was asked for). */
  store: ModelListStore
  spy?: SpyStore
  create: (runtimeId?: string, init?: { payload?: unknown, headers?: Record<string, string> }) => Promise<LightMyRequestResponse>
  poll: (runtimeId: string, requestId: string) => Promise<LightMyRequestResponse>
  report: (runtimeId: string, requestId: string, body: unknown) => Promise<LightMyRequestResponse>
  claim: (runtimeId: string) => Promise<{ id: string } | null>
}

interface SetupOptions {
  /** Lifecycle options: given to the plugin, or to the spied memory store. */
  lifecycle?: { pendingTimeoutMs?: number, runningTimeoutMs?: number, retentionMs?: number }
  /** A spy store object around a memory store; its methods may be replaced. */
  spy?: Parameters<typeof spyStore>[1] | true
  plugin?: Partial<FastifyModelListOptions>
  server?: FastifyServerOptions
}

async function setup (t: Test, { lifecycle = {}, spy, plugin = {}, server }: SetupOptions = {}): Promise<Setup> {
  const clock = new Clock()
  let spied: SpyStore | undefined
  let storeOption: Partial<FastifyModelListOptions>
  if (spy !== undefined) {
    spied = spyStore(new MemoryModelListStore({ ...lifecycle, now: clock.now }), spy === true ? {} : spy)
    storeOption = { store: spied }
  } else {
    storeOption = { ...lifecycle, now: clock.now }
  }
  const host = await buildHost({ ...storeOption, ...plugin, prefix: base }, { server })
  t.teardown(() => host.app.close())
  const { app, scope } = host
  return {
    ...host,
    clock,
    store: scope.modelListStore,
    spy: spied,
    create: async (runtimeId = 'rt-1', init = {}) => await app.inject({ method: 'POST', url: `${base}/runtimes/${runtimeId}/models`, ...init } as any),
    poll: async (runtimeId, requestId) => await app.inject({ method: 'GET', url: `${base}/runtimes/${runtimeId}/models/${requestId}` }),
    report: async (runtimeId, requestId, body) => await app.inject({
      method: 'POST',
      url: `${base}/daemon/runtimes/${runtimeId}/models/${requestId}/result`,
      headers: { 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body)
    }),
    claim: async (runtimeId) => await scope.claimPendingModelList(runtimeId)
  }
}

/** A Fastify error answer: the status, the code, and exactly the four fields of Fastify's error shape. */
function assertError (t: Test, res: LightMyRequestResponse, statusCode: number, code: string): Record<string, unknown> {
  t.equal(res.statusCode, statusCode, `status ${statusCode}`)
  const body = res.json()
  t.strictSame(Object.keys(body).sort(), errorKeys, 'exactly statusCode, code, error, message')
  t.equal(body.statusCode, statusCode)
  t.equal(body.code, code)
  t.type(body.error, 'string')
  t.type(body.message, 'string')
  return body
}

/**
 * Every error line, as the store failure it reports: a store failure is logged
 * once, by Fastify's error handler, and its message carries the store's error
 * (the `cause`). Any other error line shows up whole, and breaks the counts.
 */
function storeCauses (s: Host): Array<{ message?: string }> {
  const prefix = 'model list store unavailable: '
  return s.log.errors().map(line => {
    const message = line.err?.message ?? line.msg
    return { message: line.err?.type === 'FastifyError' && message.startsWith(prefix) ? message.slice(prefix.length) : message }
  })
}

function assertUnavailable (t: Test, res: LightMyRequestResponse, code: string): void {
  assertError(t, res, 503, code)
  t.equal(res.headers['retry-after'], '1', 'Retry-After: 1')
}

const iso = (ms: number): string => new Date(ms).toISOString()

// Every optional field at every depth, to see it all survive the round trip.
const models: ModelEntry[] = [
  {
    id: 'gpt-5',
    label: 'GPT-5',
    provider: 'openai',
    default: true,
    thinking: {
      supported_levels: [
        { value: 'low', label: 'Low', description: 'quick answers' },
        { value: 'high', label: 'High' }
      ],
      default_level: 'low'
    },
    service_tiers: [
      { id: 'flex', name: 'Flex', description: 'cheaper, slower' },
      { id: 'priority', name: 'Priority' }
    ]
  },
  { id: 'mini', label: 'Mini', default: false }
]

/** A request created through the route and claimed through the heartbeat: `running`. */
async function running (s: Setup, runtimeId = 'rt-1'): Promise<string> {
  const created = await s.create(runtimeId)
  const { id } = created.json()
  const claimed = await s.claim(runtimeId)
  if (claimed?.id !== id) throw new Error('setup: the claim did not return the new request')
  return id
}

t.test('regression: routes mounted twice under the register prefix (/api/api)', async t => {
  const host = await buildHost({ prefix: '/api' })
  t.teardown(() => host.app.close())
  t.equal((await host.app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })).statusCode, 200, 'POST /api/runtimes/rt-1/models')
  t.equal((await host.app.inject({ method: 'POST', url: '/api/api/runtimes/rt-1/models' })).statusCode, 404, 'not mounted twice over')
})

t.test('POST /runtimes/:runtimeId/models', async t => {
  t.test('200: a new pending request, times from the clock, nothing else', async t => {
    const s = await setup(t)
    s.clock.advance(1234)
    const res = await s.create()
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/json/)
    const body = res.json()
    t.strictSame(Object.keys(body).sort(), ['created_at', 'id', 'runtime_id', 'status', 'supported', 'updated_at'])
    t.match(body.id, /^[A-Za-z0-9_-]{1,100}$/, 'id fits the id grammar (it goes back in URLs)')
    t.equal(body.runtime_id, 'rt-1')
    t.equal(body.status, 'pending')
    t.equal(body.supported, true)
    t.equal(body.created_at, iso(s.clock.t))
    t.equal(body.updated_at, body.created_at)
    t.strictSame(s.hooks.calls.getRuntime, ['rt-1'], 'getRuntime asked once, with the runtime id')
    const stored = await s.store.get('rt-1', body.id)
    t.equal(stored?.status, 'pending', 'stored as pending')
  })

  t.test('each request gets a fresh id', async t => {
    const s = await setup(t, { plugin: { coalesce: false } })
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) ids.add((await s.create()).json().id)
    t.equal(ids.size, 20)
  })

  t.test('404 FST_MODEL_LIST_RUNTIME_NOT_FOUND when getRuntime answers null, store untouched', async t => {
    const s = await setup(t, { spy: true })
    assertError(t, await s.create('rt-unknown'), 404, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    t.strictSame(s.hooks.calls.getRuntime, ['rt-unknown'])
    t.equal(s.spy!.count(), 0, 'the store is not touched')
  })

  t.test('404 when getRuntime answers undefined (a JavaScript host that returns nothing)', async t => {
    const s = await setup(t, { spy: true, plugin: { getRuntime: async () => undefined as any } })
    assertError(t, await s.create(), 404, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    t.equal(s.spy!.count(), 0)
  })

  t.test('503 FST_MODEL_LIST_RUNTIME_OFFLINE with Retry-After when the runtime is offline, store untouched', async t => {
    const s = await setup(t, { spy: true })
    s.hooks.runtimes.set('rt-off', { online: false })
    assertUnavailable(t, await s.create('rt-off'), 'FST_MODEL_LIST_RUNTIME_OFFLINE')
    t.equal(s.spy!.count(), 0)
  })

  t.test('503 FST_MODEL_LIST_STORE_UNAVAILABLE when the store rejects: the reason is logged, never answered', async t => {
    const internal = 'connect ECONNREFUSED 10.0.0.1:6379'
    const s = await setup(t, { spy: { create: async () => { throw new Error(internal) } } })
    const res = await s.create()
    assertUnavailable(t, res, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
    t.notMatch(res.body, /ECONNREFUSED|10\.0\.0\.1|6379/, 'no internal detail in the answer')
    t.notMatch(JSON.stringify(res.headers), /ECONNREFUSED|10\.0\.0\.1/, 'nor in its headers')
    t.strictSame(storeCauses(s).map(err => err.message), [internal], 'the store error is logged once, at error level')
  })

  t.test('503 when the store throws synchronously', async t => {
    const s = await setup(t, { spy: { create: () => { throw new Error('sync boom') } } })
    assertUnavailable(t, await s.create(), 'FST_MODEL_LIST_STORE_UNAVAILABLE')
    t.strictSame(storeCauses(s).map(err => err.message), ['sync boom'], 'logged')
  })

  t.test('503 when the store hangs past storeTimeoutMs', async t => {
    const s = await setup(t, { spy: { create: hang }, plugin: { storeTimeoutMs: 50 } })
    const started = performance.now()
    const res = await s.create()
    const elapsed = performance.now() - started
    assertUnavailable(t, res, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
    t.ok(elapsed < 50 + 1000, `answered within the bound (${Math.round(elapsed)} ms)`)
    t.equal(storeCauses(s).length, 1, 'the time-out is logged')
  })

  t.test('the body is optional', async t => {
    const cases: Array<[string, { payload?: unknown, headers?: Record<string, string> }]> = [
      ['no body', {}],
      ['an empty body sent as JSON', { headers: { 'content-type': 'application/json' }, payload: '' }],
      ['an empty body sent as JSON with a charset', { headers: { 'content-type': 'application/json; charset=utf-8' }, payload: '' }],
      ['{}', { payload: {} }],
      ['unknown fields', { payload: { hello: 'world', nested: { a: [1, 2] } } }],
      ['JSON null', { headers: { 'content-type': 'application/json' }, payload: 'null' }]
    ]
    for (const [name, init] of cases) {
      t.test(name, async t => {
        const s = await setup(t)
        const res = await s.create('rt-1', init)
        t.equal(res.statusCode, 200, res.body)
        t.equal(res.json().status, 'pending')
      })
    }
  })

  t.test('a body that is not an object is a 400 and reaches neither hook nor store', async t => {
    for (const payload of ['[]', '"x"', '42', 'true', '[{}]']) {
      t.test(payload, async t => {
        const s = await setup(t, { spy: true })
        const res = await s.create('rt-1', { headers: { 'content-type': 'application/json' }, payload })
        assertError(t, res, 400, 'FST_ERR_VALIDATION')
        t.equal(s.hooks.calls.getRuntime.length, 0, 'getRuntime not called')
        t.equal(s.spy!.count(), 0, 'store not touched')
      })
    }
  })

  t.test('malformed JSON is still refused with 400', async t => {
    const s = await setup(t, { spy: true })
    const res = await s.create('rt-1', { headers: { 'content-type': 'application/json' }, payload: '{"a":' })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'FST_ERR_CTP_INVALID_JSON_BODY')
    t.equal(s.spy!.count(), 0)
    t.equal(s.hooks.calls.getRuntime.length, 0)
  })

  t.test("the host's prototype poisoning setting still applies to the create body", async t => {
    const poisoned = '{"__proto__":{"polluted":true}}'
    t.test('default (error): 400', async t => {
      const s = await setup(t, { spy: true })
      const res = await s.create('rt-1', { headers: { 'content-type': 'application/json' }, payload: poisoned })
      t.equal(res.statusCode, 400)
      t.equal(s.spy!.count(), 0)
    })
    t.test("onProtoPoisoning 'remove': accepted", async t => {
      const s = await setup(t, { server: { onProtoPoisoning: 'remove' } })
      const res = await s.create('rt-1', { headers: { 'content-type': 'application/json' }, payload: poisoned })
      t.equal(res.statusCode, 200)
      t.equal(({} as any).polluted, undefined)
    })
  })

  t.test('coalescing (default): a second POST joins the pending request', async t => {
    const s = await setup(t)
    const first = (await s.create()).json()
    s.clock.advance(1000)
    const second = (await s.create()).json()
    t.equal(second.id, first.id, 'same request')
    t.equal(second.status, 'pending')
    t.equal(second.created_at, first.created_at)
    const other = (await s.create('rt-2')).json()
    t.not(other.id, first.id, "another runtime's POST does not join it")
    const claimed = await s.claim('rt-1')
    t.strictSame(claimed, { id: first.id })
    t.equal(await s.claim('rt-1'), null, 'one discovery for both POSTs')
    const third = (await s.create()).json()
    t.not(third.id, first.id, 'a running request is not joined: a fresh one is queued')
    t.equal(third.status, 'pending')
  })

  t.test('coalescing does not join a pending request that has timed out', async t => {
    const s = await setup(t)
    const first = (await s.create()).json()
    s.clock.advance(30_001)
    const second = (await s.create()).json()
    t.not(second.id, first.id)
    t.equal(second.status, 'pending')
    t.equal((await s.poll('rt-1', first.id)).json().status, 'timeout')
  })

  t.test('coalesce: false queues a new request per POST, claimed oldest first', async t => {
    const s = await setup(t, { plugin: { coalesce: false } })
    const first = (await s.create()).json()
    const second = (await s.create()).json()
    t.not(second.id, first.id)
    t.strictSame(await s.claim('rt-1'), { id: first.id })
    t.strictSame(await s.claim('rt-1'), { id: second.id })
  })

  t.test('the coalesce option reaches the store', async t => {
    for (const coalesce of [true, false]) {
      const s = await setup(t, { spy: true, plugin: { coalesce } })
      await s.create()
      t.strictSame(s.spy!.calls.find(call => call.method === 'create')?.args, ['rt-1', { coalesce }])
    }
  })
})

t.test('GET /runtimes/:runtimeId/models/:requestId', async t => {
  t.test('200: the current state as it moves through its lifecycle', async t => {
    const s = await setup(t)
    const created = (await s.create()).json()
    let res = await s.poll('rt-1', created.id)
    t.equal(res.statusCode, 200)
    t.strictSame(res.json(), created, 'pending, as created')

    s.clock.advance(500)
    await s.claim('rt-1')
    res = await s.poll('rt-1', created.id)
    t.equal(res.json().status, 'running')
    t.equal(res.json().updated_at, iso(s.clock.t))
    t.equal(res.json().created_at, created.created_at)

    s.clock.advance(500)
    t.equal((await s.report('rt-1', created.id, { status: 'completed', models })).statusCode, 200)
    res = await s.poll('rt-1', created.id)
    t.strictSame(res.json(), {
      id: created.id,
      runtime_id: 'rt-1',
      status: 'completed',
      models,
      supported: true,
      created_at: created.created_at,
      updated_at: iso(s.clock.t)
    })
    t.strictSame(s.hooks.calls.getRuntime, ['rt-1', 'rt-1', 'rt-1', 'rt-1'], 'getRuntime asked for every frontend call')
  })

  t.test('404 runtime not found, store untouched', async t => {
    const s = await setup(t, { spy: true })
    const { id } = (await s.create()).json()
    const before = s.spy!.count()
    s.hooks.runtimes.delete('rt-1')
    assertError(t, await s.poll('rt-1', id), 404, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    t.equal(s.spy!.count(), before)
  })

  t.test('404 FST_MODEL_LIST_REQUEST_NOT_FOUND for an unknown id', async t => {
    const s = await setup(t)
    await s.create()
    assertError(t, await s.poll('rt-1', '00000000-0000-4000-8000-000000000000'), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
  })

  t.test('404 request not found once forgotten (retentionMs after its last change)', async t => {
    const s = await setup(t)
    const { id } = (await s.create()).json()
    s.clock.advance(10_000)
    await s.claim('rt-1')
    await s.report('rt-1', id, { status: 'completed', models })
    s.clock.advance(119_999)
    t.equal((await s.poll('rt-1', id)).json().status, 'completed', 'kept until retentionMs after the report')
    s.clock.advance(2)
    assertError(t, await s.poll('rt-1', id), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
  })

  t.test('404 request not found with a configured retention', async t => {
    const s = await setup(t, { lifecycle: { pendingTimeoutMs: 1000, runningTimeoutMs: 1000, retentionMs: 5000 } })
    const { id } = (await s.create()).json()
    s.clock.advance(5001)
    assertError(t, await s.poll('rt-1', id), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
  })

  t.test("404 request not found for another runtime's request", async t => {
    const s = await setup(t)
    const { id } = (await s.create('rt-1')).json()
    assertError(t, await s.poll('rt-2', id), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
    t.equal((await s.poll('rt-1', id)).statusCode, 200, 'its own runtime still reads it')
  })

  t.test('503 store unavailable, when the store rejects and when it hangs', async t => {
    t.test('rejects', async t => {
      const s = await setup(t, { spy: { get: async () => { throw new Error('READONLY You can\'t write against a read only replica.') } } })
      const { id } = (await s.create()).json()
      const res = await s.poll('rt-1', id)
      assertUnavailable(t, res, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
      t.notMatch(res.body, /READONLY/)
      t.ok(s.log.errors().some(line => /READONLY/.test(line.err?.message ?? '')), 'logged')
    })
    t.test('hangs', async t => {
      const s = await setup(t, { spy: { get: hang }, plugin: { storeTimeoutMs: 50 } })
      const { id } = (await s.create()).json()
      const started = performance.now()
      const res = await s.poll('rt-1', id)
      assertUnavailable(t, res, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
      t.ok(performance.now() - started < 50 + 1000, 'within the bound')
    })
  })

  t.test('no online check: an offline runtime still reads its request', async t => {
    const s = await setup(t)
    const { id } = (await s.create()).json()
    s.hooks.runtimes.set('rt-1', { online: false })
    const res = await s.poll('rt-1', id)
    t.equal(res.statusCode, 200)
    t.equal(res.json().status, 'pending')
  })

  t.test('a thrown hook error with a statusCode reaches the client unchanged', async t => {
    const Unauthorized = createError('FST_TEST_UNAUTHORIZED', 'token expired', 401)
    const s = await setup(t, { spy: true })
    const { id } = (await s.create()).json()
    const before = s.spy!.count()
    s.hooks.failGetRuntime(new Unauthorized())
    const res = await s.poll('rt-1', id)
    t.equal(res.statusCode, 401)
    t.strictSame(res.json(), { statusCode: 401, code: 'FST_TEST_UNAUTHORIZED', error: 'Unauthorized', message: 'token expired' })
    t.equal(s.spy!.count(), before, 'store not touched')
  })
})

t.test('POST /daemon/runtimes/:runtimeId/models/:requestId/result', async t => {
  t.test('200 {status: ok}; the request is completed with its models, nested fields and all', async t => {
    const s = await setup(t)
    const id = await running(s)
    s.clock.advance(2000)
    const res = await s.report('rt-1', id, { status: 'completed', models, supported: true })
    t.equal(res.statusCode, 200)
    t.strictSame(res.json(), { status: 'ok' })
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'completed')
    t.strictSame(polled.models, models)
    t.equal(polled.supported, true)
    t.equal(polled.updated_at, iso(s.clock.t))
    t.notOk('error' in polled)
    t.strictSame(s.hooks.calls.authorizeDaemon, ['rt-1'], 'authorizeDaemon asked with the runtime id')
  })

  t.test('a report on a request not claimed yet (pending) is accepted', async t => {
    const s = await setup(t)
    const { id } = (await s.create()).json()
    t.equal((await s.report('rt-1', id, { status: 'completed', models })).statusCode, 200)
    t.equal((await s.poll('rt-1', id)).json().status, 'completed')
    t.equal(await s.claim('rt-1'), null, 'no longer claimable')
  })

  t.test('a report without supported stores supported: true', async t => {
    const s = await setup(t)
    const id = await running(s)
    await s.report('rt-1', id, { status: 'completed', models })
    t.equal((await s.poll('rt-1', id)).json().supported, true)
  })

  t.test('supported: false is stored', async t => {
    const s = await setup(t)
    const id = await running(s)
    await s.report('rt-1', id, { status: 'completed', models: [], supported: false })
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'completed')
    t.equal(polled.supported, false)
    t.strictSame(polled.models, [])
  })

  t.test('a completed report without models stores an empty list', async t => {
    const s = await setup(t)
    const id = await running(s)
    t.equal((await s.report('rt-1', id, { status: 'completed' })).statusCode, 200)
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'completed')
    t.strictSame(polled.models, [])
  })

  t.test('the report reaches the store as the contract shapes it (fallback passed on only when given)', async t => {
    const s = await setup(t, { spy: true })
    const first = await running(s)
    await s.report('rt-1', first, { status: 'completed', models, fallback: true })
    const second = await running(s)
    await s.report('rt-1', second, { status: 'completed', models: [models[1]], supported: false })
    const completes = s.spy!.calls.filter(call => call.method === 'complete').map(call => call.args)
    t.strictSame(completes, [
      ['rt-1', first, { models, supported: true, fallback: true }],
      ['rt-1', second, { models: [models[1]], supported: false }]
    ])
  })

  t.test('failed with an error is stored', async t => {
    const s = await setup(t)
    const id = await running(s)
    await s.report('rt-1', id, { status: 'failed', error: 'codex: not logged in' })
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'failed')
    t.equal(polled.error, 'codex: not logged in')
    t.notOk('models' in polled)
  })

  t.test('failed without an error still ends the request, with a message', async t => {
    const s = await setup(t)
    const id = await running(s)
    t.equal((await s.report('rt-1', id, { status: 'failed' })).statusCode, 200)
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'failed')
    t.type(polled.error, 'string')
    t.ok(polled.error.length > 0)
  })

  t.test('an error longer than 4096 characters is truncated to 4096, not refused', async t => {
    const s = await setup(t)
    const id = await running(s)
    const head = 'e'.repeat(4096)
    const res = await s.report('rt-1', id, { status: 'failed', error: `${head}TAIL` + 'x'.repeat(100_000) })
    t.equal(res.statusCode, 200)
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'failed')
    t.equal(polled.error, head)
  })

  t.test('an error of exactly 4096 characters is kept whole', async t => {
    const s = await setup(t)
    const id = await running(s)
    const error = 'abcd'.repeat(1024)
    await s.report('rt-1', id, { status: 'failed', error })
    t.equal((await s.poll('rt-1', id)).json().error, error)
  })

  t.test('regression: truncation split a surrogate pair', async t => {
    const s = await setup(t)
    const id = await running(s)
    await s.report('rt-1', id, { status: 'failed', error: 'e'.repeat(4095) + '😀'.repeat(10) })
    const { error } = (await s.poll('rt-1', id)).json() as { error: string }
    t.ok(error.length <= 4096, 'still truncated')
    t.ok(error.startsWith('e'.repeat(4095)), 'from the start')
    t.ok((error as any).isWellFormed(), 'the stored error is a well-formed string')
  })

  t.test('unknown fields are dropped at every depth: accepted, and not stored', async t => {
    const s = await setup(t)
    const id = await running(s)
    const report = {
      status: 'completed',
      daemon_version: '9.9.9',
      models: [{
        id: 'gpt-5',
        label: 'GPT-5',
        context_window: 400_000,
        thinking: {
          supported_levels: [{ value: 'low', label: 'Low', budget_tokens: 1024 }],
          default_level: 'low',
          adaptive: true
        },
        service_tiers: [{ id: 'flex', name: 'Flex', price: { in: 1 } }]
      }]
    }
    const res = await s.report('rt-1', id, report)
    t.equal(res.statusCode, 200, res.body)
    const expected = [{
      id: 'gpt-5',
      label: 'GPT-5',
      thinking: { supported_levels: [{ value: 'low', label: 'Low' }], default_level: 'low' },
      service_tiers: [{ id: 'flex', name: 'Flex' }]
    }]
    // Read from the store itself: the GET's serializer would hide a stored extra.
    const stored = await s.store.get('rt-1', id)
    t.equal(stored?.status, 'completed')
    t.strictSame(stored?.models, expected)
    t.notOk(stored !== null && 'daemon_version' in stored)
    t.strictSame((await s.poll('rt-1', id)).json().models, expected)
  })

  t.test('a report after the request is terminal answers 200 and changes nothing', async t => {
    t.test('after completed', async t => {
      const s = await setup(t)
      const id = await running(s)
      await s.report('rt-1', id, { status: 'completed', models })
      const before = (await s.poll('rt-1', id)).json()
      s.clock.advance(1000)
      for (const late of [{ status: 'failed', error: 'late' }, { status: 'completed', models: [], supported: false }]) {
        const res = await s.report('rt-1', id, late)
        t.equal(res.statusCode, 200)
        t.strictSame(res.json(), { status: 'ok' })
      }
      t.strictSame((await s.poll('rt-1', id)).json(), before, 'still completed with its models, same updated_at')
    })
    t.test('after failed', async t => {
      const s = await setup(t)
      const id = await running(s)
      await s.report('rt-1', id, { status: 'failed', error: 'first' })
      const before = (await s.poll('rt-1', id)).json()
      t.equal((await s.report('rt-1', id, { status: 'completed', models })).statusCode, 200)
      t.strictSame((await s.poll('rt-1', id)).json(), before)
    })
    t.test('after timeout (running)', async t => {
      const s = await setup(t)
      const id = await running(s)
      s.clock.advance(60_001)
      t.equal((await s.report('rt-1', id, { status: 'completed', models })).statusCode, 200)
      const polled = (await s.poll('rt-1', id)).json()
      t.equal(polled.status, 'timeout')
      t.equal(polled.error, 'daemon did not finish within 60 seconds')
      t.notOk('models' in polled)
    })
    t.test('after timeout (pending, never claimed)', async t => {
      const s = await setup(t)
      const { id } = (await s.create()).json()
      s.clock.advance(30_001)
      t.equal((await s.report('rt-1', id, { status: 'failed', error: 'late' })).statusCode, 200)
      const polled = (await s.poll('rt-1', id)).json()
      t.equal(polled.status, 'timeout')
      t.equal(polled.error, 'daemon did not respond within 30 seconds')
    })
  })

  t.test('404 runtime not found when authorizeDaemon answers false; store untouched', async t => {
    const s = await setup(t, { spy: true })
    const id = await running(s)
    const before = s.spy!.count()
    s.hooks.daemons.delete('rt-1')
    assertError(t, await s.report('rt-1', id, { status: 'completed', models }), 404, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    t.equal(s.spy!.count(), before)
    t.equal((await s.poll('rt-1', id)).json().status, 'running')
  })

  t.test('404 request not found: unknown id', async t => {
    const s = await setup(t)
    assertError(t, await s.report('rt-1', 'no-such-request', { status: 'completed', models }), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
    assertError(t, await s.report('rt-1', 'no-such-request', { status: 'failed', error: 'x' }), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
  })

  t.test("404 request not found: another runtime's request, which stays untouched", async t => {
    const s = await setup(t)
    const id = await running(s, 'rt-1')
    assertError(t, await s.report('rt-2', id, { status: 'completed', models }), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
    assertError(t, await s.report('rt-2', id, { status: 'failed', error: 'x' }), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
    t.equal((await s.poll('rt-1', id)).json().status, 'running')
  })

  t.test('404 request not found once forgotten', async t => {
    const s = await setup(t)
    const id = await running(s)
    s.clock.advance(120_001)
    assertError(t, await s.report('rt-1', id, { status: 'completed', models }), 404, 'FST_MODEL_LIST_REQUEST_NOT_FOUND')
  })

  t.test('503 store unavailable with Retry-After (complete and fail; rejecting, throwing and hanging)', async t => {
    const internal = 'connect ECONNREFUSED 10.0.0.1:6379'
    const cases: Array<[string, Parameters<typeof spyStore>[1], object]> = [
      ['complete rejects', { complete: async () => { throw new Error(internal) } }, { status: 'completed', models }],
      ['fail rejects', { fail: async () => { throw new Error(internal) } }, { status: 'failed', error: 'x' }],
      ['complete throws synchronously', { complete: () => { throw new Error(internal) } }, { status: 'completed', models }],
      ['complete hangs', { complete: hang }, { status: 'completed', models }],
      ['fail hangs', { fail: hang }, { status: 'failed', error: 'x' }]
    ]
    for (const [name, overrides, body] of cases) {
      t.test(name, async t => {
        const s = await setup(t, { spy: overrides, plugin: { storeTimeoutMs: 50 } })
        const id = await running(s)
        const started = performance.now()
        const res = await s.report('rt-1', id, body)
        assertUnavailable(t, res, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
        t.notMatch(res.body, /ECONNREFUSED|10\.0\.0\.1/)
        t.ok(performance.now() - started < 50 + 1000, 'within the bound')
        const causes = storeCauses(s)
        t.equal(causes.length, 1, 'the cause is logged')
        if (!name.endsWith('hangs')) t.equal(causes[0]?.message, internal, 'with the store error text')
      })
    }
  })

  t.test('413 for a body over 1 MiB; exactly 1 MiB is accepted', async t => {
    const s = await setup(t, { spy: true })
    const id = await running(s)
    const body = (bytes: number): string => {
      const shell = '{"status":"failed","error":""}'
      return `{"status":"failed","error":"${'x'.repeat(bytes - shell.length)}"}`
    }
    const before = s.spy!.count()
    const tooLarge = body(1_048_577)
    t.equal(Buffer.byteLength(tooLarge), 1_048_577)
    assertError(t, await s.report('rt-1', id, tooLarge), 413, 'FST_ERR_CTP_BODY_TOO_LARGE')
    t.equal(s.spy!.count(), before, 'store not touched')
    t.equal(s.hooks.calls.authorizeDaemon.length, 1, 'the hook ran first: only a caller it lets in gets its body read')
    t.equal((await s.poll('rt-1', id)).json().status, 'running')

    const limit = body(1_048_576)
    t.equal(Buffer.byteLength(limit), 1_048_576)
    t.equal((await s.report('rt-1', id, limit)).statusCode, 200)
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'failed')
    t.equal(polled.error, 'x'.repeat(4096))
  })

  t.test('a thrown authorizeDaemon error with a statusCode reaches the client unchanged', async t => {
    const Unauthorized = createError('FST_TEST_UNAUTHORIZED', 'daemon token expired', 401)
    const s = await setup(t, { spy: true })
    const id = await running(s)
    const before = s.spy!.count()
    s.hooks.failAuthorizeDaemon(new Unauthorized())
    const res = await s.report('rt-1', id, { status: 'completed', models })
    t.equal(res.statusCode, 401)
    t.strictSame(res.json(), { statusCode: 401, code: 'FST_TEST_UNAUTHORIZED', error: 'Unauthorized', message: 'daemon token expired' })
    t.equal(s.spy!.count(), before, 'store not touched')
  })
})

t.test('a thrown getRuntime error with a statusCode reaches the client unchanged (create)', async t => {
  const Unauthorized = createError('FST_TEST_UNAUTHORIZED', 'session expired', 401)
  const s = await setup(t, { spy: true })
  s.hooks.failGetRuntime(new Unauthorized())
  const res = await s.create()
  t.equal(res.statusCode, 401)
  t.strictSame(res.json(), { statusCode: 401, code: 'FST_TEST_UNAUTHORIZED', error: 'Unauthorized', message: 'session expired' })
  t.equal(s.spy!.count(), 0)
})

t.test('a hook error with another status (403) also passes through', async t => {
  const s = await setup(t, { spy: true })
  s.hooks.failGetRuntime(Object.assign(new Error('not your runtime'), { statusCode: 403 }))
  const res = await s.create()
  t.equal(res.statusCode, 403)
  t.equal(res.json().message, 'not your runtime')
  t.equal(s.spy!.count(), 0)
})

// Each bad input: 400 FST_ERR_VALIDATION, before the hook, and the store untouched.
t.test('bad ids: 400 FST_ERR_VALIDATION in every route, before the hook, store untouched', async t => {
  const badIds: Array<[string, string]> = [
    ['a space', 'a%20b'],
    ['braces', '%7Bx%7D'],
    ['a dot', 'a.b'],
    ['a plus', 'a+b'],
    ['a colon', 'a:b'],
    ['unicode', encodeURIComponent('modèle')],
    ['CJK', encodeURIComponent('日本')],
    ['101 characters (maxParamLength raised)', 'a'.repeat(101)]
  ]
  const goodRequestId = 'req_1'
  for (const [name, bad] of badIds) {
    t.test(name, async t => {
      // Fastify's router refuses a segment over maxParamLength (100) itself: raise
      // it so the plugin's own id check is what answers.
      const s = await setup(t, { spy: true, server: { routerOptions: { maxParamLength: 500 } } })
      const requests: Array<[string, () => Promise<LightMyRequestResponse>]> = [
        ['POST create, runtimeId', async () => await s.create(bad)],
        ['GET, runtimeId', async () => await s.poll(bad, goodRequestId)],
        ['GET, requestId', async () => await s.poll('rt-1', bad)],
        ['POST report, runtimeId', async () => await s.report(bad, goodRequestId, { status: 'completed', models })],
        ['POST report, requestId', async () => await s.report('rt-1', bad, { status: 'completed', models })]
      ]
      for (const [route, send] of requests) {
        const res = await send()
        const body = assertError(t, res, 400, 'FST_ERR_VALIDATION')
        t.match(body.message, /params/, `${route}: names the params`)
      }
      t.equal(s.hooks.calls.getRuntime.length, 0, 'getRuntime never called')
      t.equal(s.hooks.calls.authorizeDaemon.length, 0, 'authorizeDaemon never called')
      t.equal(s.spy!.count(), 0, 'store never touched')
    })
  }

  t.test('100 characters is a valid id', async t => {
    const s = await setup(t)
    const id = 'A'.repeat(50) + 'z_-9'.repeat(12) + 'ab'
    t.equal(id.length, 100)
    s.hooks.runtimes.set(id, { online: true })
    const res = await s.create(id)
    t.equal(res.statusCode, 200)
    t.equal(res.json().runtime_id, id)
  })

  t.test("101 characters with Fastify's default maxParamLength: refused by the router, store untouched", async t => {
    const s = await setup(t, { spy: true })
    const long = 'a'.repeat(101)
    for (const res of [await s.create(long), await s.poll('rt-1', long), await s.report(long, 'r', { status: 'failed' })]) {
      t.ok(res.statusCode >= 400 && res.statusCode < 500, `refused (${res.statusCode})`)
    }
    t.equal(s.hooks.calls.getRuntime.length + s.hooks.calls.authorizeDaemon.length, 0)
    t.equal(s.spy!.count(), 0)
  })
})

t.test('bad report bodies: 400 FST_ERR_VALIDATION, strictly and without coercion; nothing changes', async t => {
  const model = { id: 'm', label: 'M' }
  const level = { value: 'v', label: 'V' }
  const tier = { id: 't', name: 'T' }
  const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i))
  const cases: Array<[string, unknown]> = [
    ['status: 42', { status: 42 }],
    ["status: 'running'", { status: 'running', models: [] }],
    ["status: 'timeout'", { status: 'timeout' }],
    ['status missing', { models: [model] }],
    ['supported: null', { status: 'completed', models: [model], supported: null }],
    ["supported: 'true'", { status: 'completed', models: [model], supported: 'true' }],
    ['supported: 1', { status: 'completed', models: [model], supported: 1 }],
    ['models: {}', { status: 'completed', models: {} }],
    ['models: null', { status: 'completed', models: null }],
    ['a model with id: 5', { status: 'completed', models: [{ id: 5, label: 'M' }] }],
    ['a model without label', { status: 'completed', models: [{ id: 'm' }] }],
    ["a model's default: 'yes'", { status: 'completed', models: [{ ...model, default: 'yes' }] }],
    ['a model that is a string', { status: 'completed', models: ['m'] }],
    ['error: 42', { status: 'failed', error: 42 }],
    ["fallback: 'true'", { status: 'completed', models: [model], fallback: 'true' }],
    ['1001 models', { status: 'completed', models: many(1001, i => ({ id: `m${i}`, label: 'M' })) }],
    ['33 thinking levels', { status: 'completed', models: [{ ...model, thinking: { supported_levels: many(33, i => ({ value: `v${i}`, label: 'V' })) } }] }],
    ['thinking without supported_levels', { status: 'completed', models: [{ ...model, thinking: { default_level: 'low' } }] }],
    ['a thinking level without value', { status: 'completed', models: [{ ...model, thinking: { supported_levels: [{ label: 'V' }] } }] }],
    ['33 service tiers', { status: 'completed', models: [{ ...model, service_tiers: many(33, i => ({ id: `t${i}`, name: 'T' })) }] }],
    ['a service tier with name: 1', { status: 'completed', models: [{ ...model, service_tiers: [{ id: 't', name: 1 }] }] }],
    ['a 257-character label', { status: 'completed', models: [{ id: 'm', label: 'l'.repeat(257) }] }],
    ['a 257-character id', { status: 'completed', models: [{ id: 'i'.repeat(257), label: 'M' }] }],
    ['a 257-character provider', { status: 'completed', models: [{ ...model, provider: 'p'.repeat(257) }] }],
    ['a 257-character level value', { status: 'completed', models: [{ ...model, thinking: { supported_levels: [{ value: 'v'.repeat(257), label: 'V' }] } }] }],
    ['a 257-character default_level', { status: 'completed', models: [{ ...model, thinking: { supported_levels: [level], default_level: 'd'.repeat(257) } }] }],
    ['a 257-character tier name', { status: 'completed', models: [{ ...model, service_tiers: [{ id: 't', name: 'n'.repeat(257) }] }] }],
    ['a 1025-character level description', { status: 'completed', models: [{ ...model, thinking: { supported_levels: [{ ...level, description: 'd'.repeat(1025) }] } }] }],
    ['a 1025-character tier description', { status: 'completed', models: [{ ...model, service_tiers: [{ ...tier, description: 'd'.repeat(1025) }] }] }],
    ['an array body', [{ status: 'completed' }]],
    ['a string body', '"completed"'],
    ['JSON null', 'null']
  ]
  for (const [name, body] of cases) {
    t.test(name, async t => {
      const s = await setup(t, { spy: true })
      const id = await running(s)
      const before = s.spy!.count()
      const res = await s.report('rt-1', id, body)
      assertError(t, res, 400, 'FST_ERR_VALIDATION')
      t.equal(s.hooks.calls.authorizeDaemon.length, 1, 'authorizeDaemon ran before the body was read')
      t.equal(s.spy!.count(), before, 'store not touched')
      const polled = (await s.poll('rt-1', id)).json()
      t.equal(polled.status, 'running', 'the request is unchanged')
      t.notOk('models' in polled)
    })
  }

  t.test('a body with many faults answers with a short message, not all of them', async t => {
    const s = await setup(t)
    const id = await running(s)
    const res = await s.report('rt-1', id, { status: 'completed', models: many(1000, () => ({ id: 5, label: 6 })) })
    assertError(t, res, 400, 'FST_ERR_VALIDATION')
    const message = res.json().message as string
    t.ok(message.split(', body/').length <= 10, message.slice(0, 200))
    t.ok(message.length < 1_000, `a short message (${message.length} characters)`)
  })

  t.test('the bounds themselves are accepted (1000 models, 32 levels, 32 tiers, 256 / 1024 characters)', async t => {
    const s = await setup(t)
    const id = await running(s)
    const big = {
      id: 'i'.repeat(256),
      label: 'l'.repeat(256),
      provider: 'p'.repeat(256),
      thinking: {
        supported_levels: many(32, i => ({ value: `${i}`.padEnd(256, 'v'), label: 'l'.repeat(256), description: 'd'.repeat(1024) })),
        default_level: 'd'.repeat(256)
      },
      service_tiers: many(32, i => ({ id: `${i}`.padEnd(256, 't'), name: 'n'.repeat(256), description: 'd'.repeat(1024) }))
    }
    const report = { status: 'completed', models: [big, ...many(999, i => ({ id: `m${i}`, label: 'M' }))] }
    const res = await s.report('rt-1', id, report)
    t.equal(res.statusCode, 200, res.body)
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.models.length, 1000)
    t.strictSame(polled.models[0], big)
  })
})

t.test('order: 400, then the hook, then the store', async t => {
  t.test('the daemon route: authorizeDaemon runs before the body is read, so its refusal wins over a bad body', async t => {
    const s = await setup(t, { spy: true })
    s.hooks.failAuthorizeDaemon(Object.assign(new Error('would be 401'), { statusCode: 401 }))
    const res = await s.report('rt-1', 'req-1', { status: 42 })
    t.equal(res.statusCode, 401)
    t.equal(s.hooks.calls.authorizeDaemon.length, 1)
    t.equal(s.spy!.count(), 0)
  })
  t.test('the daemon route: a bad id is refused before authorizeDaemon runs, whatever the body', async t => {
    const s = await setup(t, { spy: true })
    s.hooks.failAuthorizeDaemon(Object.assign(new Error('would be 401'), { statusCode: 401 }))
    const res = await s.report('bad%20id', 'req-1', '{"not json')
    const body = assertError(t, res, 400, 'FST_ERR_VALIDATION')
    t.match(body.message, /^params\/runtimeId /)
    t.equal(s.hooks.calls.authorizeDaemon.length, 0)
  })
  t.test('a bad id is refused before getRuntime runs', async t => {
    const s = await setup(t, { spy: true })
    s.hooks.failGetRuntime(Object.assign(new Error('would be 401'), { statusCode: 401 }))
    assertError(t, await s.create('bad%20id'), 400, 'FST_ERR_VALIDATION')
    assertError(t, await s.poll('rt-1', '%7Bx%7D'), 400, 'FST_ERR_VALIDATION')
    t.equal(s.hooks.calls.getRuntime.length, 0)
  })
  t.test("the hook's 404 comes before the store", async t => {
    const s = await setup(t, { spy: { create: async () => { throw new Error('store down') }, get: async () => { throw new Error('store down') }, complete: async () => { throw new Error('store down') } } })
    assertError(t, await s.create('rt-x'), 404, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    assertError(t, await s.poll('rt-x', 'req-1'), 404, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    assertError(t, await s.report('rt-x', 'req-1', { status: 'completed', models }), 404, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    t.equal(s.spy!.count(), 0, 'store not called')
  })
  t.test("the offline check comes before the store", async t => {
    const s = await setup(t, { spy: { create: async () => { throw new Error('store down') } } })
    s.hooks.runtimes.set('rt-1', { online: false })
    assertError(t, await s.create(), 503, 'FST_MODEL_LIST_RUNTIME_OFFLINE')
    t.equal(s.spy!.count(), 0)
  })
})

t.test('timeouts, through the clock', async t => {
  t.test("pending past pendingTimeoutMs: timeout, 'daemon did not respond within 30 seconds'", async t => {
    const s = await setup(t)
    const { id } = (await s.create()).json()
    s.clock.advance(30_000)
    t.equal((await s.poll('rt-1', id)).json().status, 'pending', 'not yet at exactly 30 s')
    s.clock.advance(1)
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'timeout')
    t.equal(polled.error, 'daemon did not respond within 30 seconds')
    t.equal(await s.claim('rt-1'), null, 'a timed-out request is not claimable')
  })

  t.test("running past runningTimeoutMs since the claim: timeout, 'daemon did not finish within 60 seconds'", async t => {
    const s = await setup(t)
    const { id } = (await s.create()).json()
    s.clock.advance(20_000)
    await s.claim('rt-1')
    s.clock.advance(60_000)
    t.equal((await s.poll('rt-1', id)).json().status, 'running', 'measured from the claim, not the creation')
    s.clock.advance(1)
    const polled = (await s.poll('rt-1', id)).json()
    t.equal(polled.status, 'timeout')
    t.equal(polled.error, 'daemon did not finish within 60 seconds')
  })

  t.test("configured: 1500 ms reads '1.5 seconds', 1000 ms reads '1 second'", async t => {
    const s = await setup(t, { lifecycle: { pendingTimeoutMs: 1500, runningTimeoutMs: 1000 } })
    const pending = (await s.create()).json()
    s.clock.advance(1501)
    t.equal((await s.poll('rt-1', pending.id)).json().error, 'daemon did not respond within 1.5 seconds')
    const id = await running(s)
    s.clock.advance(1001)
    t.equal((await s.poll('rt-1', id)).json().error, 'daemon did not finish within 1 second')
  })

  t.test('configured on a store object, the same words', async t => {
    const s = await setup(t, { spy: true, lifecycle: { pendingTimeoutMs: 2000, runningTimeoutMs: 90_000, retentionMs: 100_000 } })
    const pending = (await s.create()).json()
    s.clock.advance(2001)
    t.equal((await s.poll('rt-1', pending.id)).json().error, 'daemon did not respond within 2 seconds')
    const id = await running(s)
    s.clock.advance(90_001)
    t.equal((await s.poll('rt-1', id)).json().error, 'daemon did not finish within 90 seconds')
  })
})
