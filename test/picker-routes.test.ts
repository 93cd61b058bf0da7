// The picker's routes on the memory store: held polls (`?wait_ms=`), the
// catalog cache and the wake-up hint, plus what a plain store object does
// without the built-in stores' optional features, and what a work store's own
// features (a watch, hints) do.
import { mock } from 'node:test'
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { MemoryModelListStore, type FastifyModelListOptions, type ModelListRequest, type ModelListStore, type WorkRecord, type WorkRules, type WorkStore } from '../lib/index'
import type { ModelListOnWorkStore } from '../lib/kinds/model-list-store'
import { MemoryWorkStore } from '../lib/store/memory'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'
import { buildHost, spyStore, type Host } from './helpers/host'
import fastJson from 'fast-json-stringify'
import { ModelListRequest as ModelListRequestSchema } from '../lib/schemas'

const base = '/api'

interface Picker extends Host {
  clock: Clock
  post: (runtimeId?: string, body?: unknown) => Promise<LightMyRequestResponse>
  poll: (runtimeId: string, requestId: string, query?: string) => Promise<LightMyRequestResponse>
  report: (runtimeId: string, requestId: string, body: unknown) => Promise<LightMyRequestResponse>
  claim: (runtimeId?: string) => Promise<{ id: string } | null>
  /** POST, claim and report `models`: the catalog is then stored. */
  discover: (runtimeId?: string, models?: unknown[]) => Promise<string>
}

async function picker (t: Test, options: Partial<FastifyModelListOptions> = {}, clock = new Clock()): Promise<Picker> {
  const storeOptions = options.store === undefined ? { now: clock.now } : {}
  const host = await buildHost({ ...storeOptions, ...options, prefix: base })
  t.teardown(() => host.app.close())
  const { app, scope } = host
  const self: Picker = {
    ...host,
    clock,
    post: async (runtimeId = 'rt-1', body) => await app.inject({
      method: 'POST',
      url: `${base}/runtimes/${runtimeId}/models`,
      ...(body !== undefined && { payload: body as object })
    }),
    poll: async (runtimeId, requestId, query = '') => await app.inject({ method: 'GET', url: `${base}/runtimes/${runtimeId}/models/${requestId}${query}` }),
    report: async (runtimeId, requestId, body) => await app.inject({
      method: 'POST', url: `${base}/daemon/runtimes/${runtimeId}/models/${requestId}/result`, payload: body as object
    }),
    claim: async (runtimeId = 'rt-1') => await scope.claimPendingModelList(runtimeId),
    discover: async (runtimeId = 'rt-1', models = catalog) => {
      const { id } = (await self.post(runtimeId, { force: true })).json<{ id: string }>()
      t.same(await self.claim(runtimeId), { id })
      t.equal((await self.report(runtimeId, id, { status: 'completed', models, supported: true })).statusCode, 200)
      return id
    }
  }
  return self
}

/** Lets every promise callback and I/O callback queued so far run. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
}

/** The work store a built-in store runs (the plugin reads and writes it directly). */
function workStoreOf (store: ModelListStore): MemoryWorkStore {
  return (store as ModelListOnWorkStore).workStore as MemoryWorkStore
}

/** The memory work store's internals a test looks at. */
function internals (store: ModelListStore): { signals: { settledWatchers: Map<string, Set<unknown>> }, catalogs: { byRuntime: Map<string, { result: string }> } } {
  return workStoreOf(store) as unknown as ReturnType<typeof internals>
}

/** A built-in store whose work store's `get` calls are counted: a held poll's cost. */
function countGets (store: ModelListStore): { count: number } {
  const counter = { count: 0 }
  const workStore = workStoreOf(store)
  const get = workStore.get.bind(workStore)
  workStore.get = async (...args) => { counter.count++; return await get(...args) }
  return counter
}

t.test('wait_ms: an integer from 0 to 30000, coerced from the query string; anything else 400', async t => {
  const s = await picker(t)
  const { id } = (await s.post()).json<{ id: string }>()
  for (const query of ['?wait_ms=0', '', '?other=x']) {
    const res = await s.poll('rt-1', id, query)
    t.equal(res.statusCode, 200, `${query || 'none'}: 200`)
    t.equal(res.json().status, 'pending', `${query || 'none'}: answered at once`)
  }
  for (const bad of ['-1', '30001', '1.5', 'abc', '', 'true', 'null', '[]']) {
    const res = await s.poll('rt-1', id, `?wait_ms=${encodeURIComponent(bad)}`)
    t.equal(res.statusCode, 400, `wait_ms=${JSON.stringify(bad)}: 400`)
    t.equal(res.json().code, 'FST_ERR_VALIDATION')
  }
  t.equal((await s.poll('rt-1', id, '?wait_ms=1&wait_ms=2')).statusCode, 400, 'given twice: 400')
  t.equal((await s.poll('rt-1', 'unknown-id', '?wait_ms=30000')).statusCode, 404, 'an unknown request: 404 at once')
  // Bodies stay strict: the coercion is the query string's alone.
  t.equal((await s.post('rt-1', { force: 'true' })).statusCode, 400, 'a body is not coerced')
})

t.test('a held poll answers within milliseconds of the report, and sends nothing to the store while it waits', async t => {
  const s = await picker(t)
  const gets = countGets(s.scope.modelListStore)
  const { id } = (await s.post()).json<{ id: string }>()
  await s.claim()
  const started = Date.now()
  const held = s.poll('rt-1', id, '?wait_ms=30000')
  await settle()
  t.equal(gets.count, 1, 'one read before it waits')
  await settle()
  t.equal(gets.count, 1, 'none while it waits')
  await s.report('rt-1', id, { status: 'completed', models: catalog, supported: true })
  const res = await held
  const elapsed = Date.now() - started
  t.match(res.json(), { id, status: 'completed', models: catalog })
  t.equal(gets.count, 1, 'no read when woken: the report\'s signal carried what it answers')
  t.ok(elapsed < 1_000, `answered ${elapsed} ms after it was sent, not after wait_ms`)
})

t.test('many polls of one request share one wake-up', async t => {
  const s = await picker(t)
  const { id } = (await s.post()).json<{ id: string }>()
  const held = Array.from({ length: 20 }, async () => await s.poll('rt-1', id, '?wait_ms=30000'))
  await settle()
  const watchers = internals(s.scope.modelListStore).signals.settledWatchers
  t.equal(watchers.size, 1, 'one watched request')
  t.equal([...watchers.values()][0].size, 20, 'twenty polls on it')
  await s.report('rt-1', id, { status: 'failed', error: 'no daemon binary' })
  for (const res of await Promise.all(held)) t.match(res.json(), { status: 'failed', error: 'no daemon binary' })
  t.equal(watchers.size, 0, 'every watch ended with its poll')
})

t.test('with fake timers', async t => {
  t.beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1) }) })
  t.afterEach(() => { mock.timers.reset() })

  t.test('a held poll that sees nothing answers the current state after wait_ms', async t => {
    const s = await picker(t, { now: () => Date.now() })
    const gets = countGets(s.scope.modelListStore)
    const { id } = (await s.post()).json<{ id: string }>()
    let answered: LightMyRequestResponse | undefined
    const held = s.poll('rt-1', id, '?wait_ms=5000').then(res => { answered = res })
    await settle()
    await s.claim()
    mock.timers.tick(4_999)
    await settle()
    t.equal(answered, undefined, 'still held at 4,999 ms')
    t.equal(gets.count, 1, 'no read while it waits, the claim notwithstanding')
    mock.timers.tick(1)
    await held
    t.match(answered?.json(), { id, status: 'running' }, 'the state as of then: running')
    t.equal(gets.count, 2)
  })

  t.test("a held poll whose deadline passes answers timeout at the deadline, not at wait_ms", async t => {
    const s = await picker(t, { now: () => Date.now(), pendingTimeoutMs: 2_000, runningTimeoutMs: 3_000, retentionMs: 10_000 })
    const { id } = (await s.post()).json<{ id: string }>()
    let answered: LightMyRequestResponse | undefined
    const held = s.poll('rt-1', id, '?wait_ms=30000').then(res => { answered = res })
    await settle()
    mock.timers.tick(1_000)
    await s.claim()
    mock.timers.tick(1_500)
    await settle()
    t.equal(answered, undefined, 'the pending deadline passed, but it was claimed: still held')
    mock.timers.tick(1_499)
    await settle()
    t.equal(answered, undefined, 'the running deadline (3 s after the claim) is 1 ms away: still held')
    mock.timers.tick(2)
    await held
    t.match(answered?.json(), { id, status: 'timeout', error: 'daemon did not finish within 3 seconds' }, 'at the running deadline')
  })

  t.test('a wake-up that comes while the poll reads is kept', async t => {
    // A work store that wakes held polls (the memory one) whose read lets the report in first.
    let reportDuringRead: (() => Promise<unknown>) | undefined
    class ReportDuringRead extends MemoryWorkStore {
      async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
        const before = await super.get(rules, runtimeId, id)
        const report = reportDuringRead
        reportDuringRead = undefined
        await report?.()
        return before
      }
    }
    const store = new ReportDuringRead({ now: () => Date.now() })
    t.teardown(() => store.close())
    const s = await picker(t, { store })
    const { id } = (await s.post()).json<{ id: string }>()
    reportDuringRead = async () => await s.scope.modelListStore.fail('rt-1', id, 'crashed')
    const res = await s.poll('rt-1', id, '?wait_ms=30000')
    t.match(res.json(), { status: 'failed', error: 'crashed' }, 'read again at once, no timer needed')
  })
})

t.test('a held poll could wait two storeTimeoutMs bounds: the watch and the reads share one', async t => {
  t.beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1) }) })
  t.afterEach(() => { mock.timers.reset() })
  const storeTimeoutMs = 1_000
  const after = async <T>(ms: number, value: T): Promise<T> => await new Promise(resolve => setTimeout(() => resolve(value), ms))
  const hangs = async (): Promise<never> => await new Promise<never>(() => {})

  /** One read of the double: given the record as stored. */
  type Read = (stored: () => Promise<WorkRecord | null>) => Promise<WorkRecord | null>

  // A work store double: `watch` and each `get` (in turn) as the case says; a
  // store stands still until the fake clock moves. Its requests' deadlines are
  // 30 s off (the default pending timeout), past every wait here.
  async function held (t: Test, watch: () => Promise<() => void>, gets: Read[]): Promise<{ answered: () => LightMyRequestResponse | undefined, reads: () => number }> {
    let reads = 0
    class Double extends MemoryWorkStore {
      async watchSettled (): Promise<() => void> {
        return await watch()
      }

      async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
        return await (gets[reads++] ?? hangs)(async () => await super.get(rules, runtimeId, id))
      }
    }
    const store = new Double({ now: () => Date.now() })
    t.teardown(() => store.close())
    const s = await picker(t, { store, storeTimeoutMs })
    const { id } = (await s.post()).json<{ id: string }>()
    let answered: LightMyRequestResponse | undefined
    s.poll('rt-1', id, '?wait_ms=5000').then(res => { answered = res }, () => {})
    await settle()
    return { answered: () => answered, reads: () => reads }
  }

  async function answersAt (t: Test, poll: { answered: () => LightMyRequestResponse | undefined }, ms: number): Promise<void> {
    mock.timers.tick(ms - 1)
    await settle()
    t.equal(poll.answered(), undefined, `still waiting at ${ms - 1} ms`)
    mock.timers.tick(1)
    await settle()
    t.equal(poll.answered()?.statusCode, 503, `503 at ${ms} ms`)
    t.equal(poll.answered()?.headers['retry-after'], '1')
  }

  t.test('a watch that hangs and a read that hangs: 503 at storeTimeoutMs, the read never sent', async t => {
    const poll = await held(t, hangs, [])
    await answersAt(t, poll, storeTimeoutMs)
    t.equal(poll.reads(), 0, 'no time left: nothing sent to the store')
  })

  t.test('a watch that takes 600 ms, then a read that hangs: 503 at storeTimeoutMs, not 600 ms after it', async t => {
    const poll = await held(t, async () => await after(600, () => {}), [])
    await answersAt(t, poll, storeTimeoutMs)
    t.equal(poll.reads(), 1)
  })

  t.test('a read after the sleep gets what the first left: 300 ms spent, 700 ms left', async t => {
    const poll = await held(t, async () => () => {}, [async stored => await after(300, await stored())])
    // The store is slow, the event loop free: the clock moves a little at a
    // time, every timer on time (one tick of 300 ms would be a loop busy for
    // 300 ms, which a poll is not charged for).
    for (let ms = 0; ms < 300; ms += 10) {
      mock.timers.tick(10)
      await settle()
    }
    t.equal(poll.reads(), 1, 'read once, then asleep')
    // Asleep until wait_ms (5,000 ms after the poll came), then the second read hangs.
    mock.timers.tick(4_700)
    await settle()
    t.equal(poll.reads(), 2, 'woken at wait_ms: read again')
    await answersAt(t, poll, 700)
    t.equal(poll.reads(), 2)
  })
})

t.test('app.close() answers held polls at once with the last state read', async t => {
  const s = await picker(t)
  const { id } = (await s.post()).json<{ id: string }>()
  const held = Array.from({ length: 3 }, async () => await s.poll('rt-1', id, '?wait_ms=30000'))
  await settle()
  const started = Date.now()
  await s.app.close()
  for (const res of await Promise.all(held)) t.match(res.json(), { id, status: 'pending' })
  const elapsed = Date.now() - started
  t.ok(elapsed < 1_000, `answered ${elapsed} ms after close, not after wait_ms`)
})

t.test('a plain store object: held polls and the hint within this process, no cache', async t => {
  const inner = new MemoryModelListStore()
  t.teardown(() => inner.close())
  const hints: string[] = []
  const store = spyStore(inner)
  const s = await picker(t, { store, notifyPendingWork: (runtimeId) => { hints.push(runtimeId) } })
  const { id } = (await s.post()).json<{ id: string }>()
  t.same(store.calls.find(call => call.method === 'create')?.args, ['rt-1', { coalesce: true }], 'create, with the coalesce option')
  t.same(hints, ['rt-1'], 'the hint, after the create')
  const waited = Date.now()
  t.match((await s.poll('rt-1', id, '?wait_ms=50')).json(), { id, status: 'pending' }, 'held: nothing reported, the state after wait_ms')
  // A timer may fire a little before Date.now() says 50 ms passed: held is what counts.
  t.ok(Date.now() - waited >= 40, 'answered after wait_ms, not at once')
  const started = Date.now()
  const held = s.poll('rt-1', id, '?wait_ms=30000')
  await settle()
  t.same(await s.claim(), { id })
  await s.report('rt-1', id, { status: 'completed', models: catalog, supported: true })
  t.match((await held).json(), { id, status: 'completed', models: catalog }, 'woken by the report this process received')
  const elapsed = Date.now() - started
  t.ok(elapsed < 1_000, `answered ${elapsed} ms after it was sent, not after wait_ms`)
  const next = (await s.post()).json<ModelListRequest>()
  t.equal(next.status, 'pending', 'no cache: the next POST asks the daemon')
  t.notOk('cached' in next)
})

t.test('a store whose watch fails: the poll answers what it read; one whose watch hangs: 503 within storeTimeoutMs', async t => {
  let stopped = 0
  let release: (() => void) | undefined
  const behaviours = {
    rejects: async () => { throw new Error('subscriber down') },
    hangs: async () => await new Promise<() => void>(resolve => { release = () => resolve(() => { stopped++ }) })
  }
  for (const [name, watch] of Object.entries(behaviours)) {
    t.test(name, async t => {
      // A work store whose own watch does as the case says.
      const store = new MemoryWorkStore()
      t.teardown(() => store.close())
      store.watchSettled = watch
      const s = await picker(t, { store, storeTimeoutMs: 50 })
      const { id } = (await s.post()).json<{ id: string }>()
      const res = await s.poll('rt-1', id, '?wait_ms=30000')
      // A watch that hangs spends the poll's storeTimeoutMs: no time is left to read.
      if (name === 'hangs') t.equal(res.statusCode, 503)
      else t.match(res.json(), { id, status: 'pending' })
      t.ok(s.log.lines.some(line => line.level === 40 && /cannot hold the poll/.test(String(line.msg))), 'logged as a warning')
      if (name === 'hangs') {
        release?.()
        await settle()
        t.equal(stopped, 1, 'a watch that resolves after the poll gave up is stopped at once')
      }
    })
  }
})

t.test('catalog cache through the routes', async t => {
  t.test('the second picker open is answered from the cache, with cached and cached_at', async t => {
    const s = await picker(t)
    s.clock.advance(1_000)
    const at = new Date(s.clock.t).toISOString()
    await s.discover()
    s.clock.advance(10_000)
    const res = await s.post()
    t.equal(res.statusCode, 200)
    const body = res.json<ModelListRequest>()
    t.same(body, { id: body.id, runtime_id: 'rt-1', status: 'completed', models: catalog, supported: true, created_at: at, updated_at: at, cached: true, cached_at: at })
    t.equal((await s.poll('rt-1', body.id)).statusCode, 404, 'a cache answer is not stored')
    t.equal(await s.claim(), null, 'and asks nothing of the daemon')
  })

  t.test('{ "force": true } skips the cache', async t => {
    const s = await picker(t)
    await s.discover()
    const forced = (await s.post('rt-1', { force: true })).json<ModelListRequest>()
    t.equal(forced.status, 'pending')
    t.notOk('cached' in forced)
    t.equal((await s.post('rt-1', { force: true })).json().id, forced.id, 'a second forced POST joins it')
    t.equal((await s.post('rt-1', { force: false })).json().cached, true, 'force: false uses the cache')
    t.equal((await s.post('rt-1', {})).json().cached, true, 'so does an empty body')
  })

  t.test('the offline check comes first', async t => {
    const s = await picker(t)
    await s.discover()
    s.hooks.runtimes.set('rt-1', { online: false })
    const res = await s.post()
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'FST_MODEL_LIST_RUNTIME_OFFLINE')
  })

  t.test('a broken catalog still answers through the daemon', async t => {
    const s = await picker(t)
    await s.discover()
    const catalogs = internals(s.scope.modelListStore).catalogs.byRuntime
    ;(catalogs.get('rt-1') as { result: string }).result = '{"models": broken'
    const res = await s.post()
    t.equal(res.statusCode, 200)
    t.equal(res.json().status, 'pending', 'a miss: the daemon is asked')
    t.same(await s.claim(), { id: res.json().id })
  })

  t.test('a cache answer sends the stored catalog as stored: never parsed, the same bytes', async t => {
    const s = await picker(t)
    // Fields out of the schema's order, and one it does not know (dropped on the way in).
    await s.discover('rt-1', [{ label: 'B "quoted"', id: 'b', extra: 1, default: true, provider: 'x' }, ...catalog])
    const stored = internals(s.scope.modelListStore).catalogs.byRuntime.get('rt-1')?.result as string
    const head = '{"supported":true,"models":'
    t.ok(stored.startsWith(head), 'stored as the answer writes it')
    const models = stored.slice(head.length, -1)
    const parsed: string[] = []
    const parse = JSON.parse
    JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => { parsed.push(String(text)); return parse(text, reviver) }) as typeof JSON.parse
    let res
    try {
      res = await s.post()
    } finally {
      JSON.parse = parse
    }
    t.notOk(parsed.some(text => text.includes('"models"') || text.includes('"label"')), 'the catalog is not parsed')
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.ok(res.body.includes(`"models":${models},`), 'the bytes served are the bytes stored')
    t.equal(res.body, fastJson(ModelListRequestSchema)(res.json()), 'and the answer is what writing it whole would give')
    const body = res.json<ModelListRequest>()
    t.same(body.models, [{ id: 'b', label: 'B "quoted"', provider: 'x', default: true }, ...catalog])
    t.equal(body.cached, true)
  })

  t.test('a catalog written otherwise (complete(), an older version) is parsed and written again', async t => {
    const s = await picker(t)
    await s.discover()
    const catalogs = internals(s.scope.modelListStore).catalogs.byRuntime
    ;(catalogs.get('rt-1') as { result: string }).result = JSON.stringify({ models: catalog, supported: true })
    const res = await s.post()
    t.same(res.json<ModelListRequest>().models, catalog)
    t.equal(res.json().cached, true)
    ;(catalogs.get('rt-1') as { result: string }).result = '{"supported":true,"models":5}'
    t.equal((await s.post()).json().status, 'pending', 'one that is not a list is a miss')
  })

  t.test('catalogCache: false', async t => {
    const s = await picker(t, { catalogCache: false })
    await s.discover()
    t.equal((await s.post()).json().status, 'pending')
  })

  t.test('catalogCache: false beside a built-in store object turns serving off', async t => {
    const store = new MemoryModelListStore()
    t.teardown(() => store.close())
    const s = await picker(t, { store, catalogCache: false })
    await s.discover()
    t.equal((await s.post()).json().status, 'pending')
  })

  t.test('partial windows keep the other default', async t => {
    const s = await picker(t, { catalogCache: { revalidateAfterMs: 5_000 } })
    await s.discover()
    s.clock.advance(5_001)
    t.equal((await s.post()).json().cached, true, 'served')
    t.ok(await s.claim(), 'and a refresh queued after 5 s')
    s.clock.advance(86_400_000)
    t.equal((await s.post()).json().status, 'pending', 'the default serve window of a day has passed')
  })
})

t.test('the wake-up hint', async t => {
  t.test('called after a queued POST, not after a join or a fresh cache answer; a refresh hints', async t => {
    const hints: string[] = []
    const s = await picker(t, { notifyPendingWork: (runtimeId) => { hints.push(runtimeId) } })
    const { id } = (await s.post()).json<{ id: string }>()
    t.same(hints, ['rt-1'], 'a new request: hinted')
    await s.post()
    t.same(hints, ['rt-1'], 'a join: no hint')
    await s.claim()
    await s.report('rt-1', id, { status: 'completed', models: catalog, supported: true })
    await s.post()
    t.same(hints, ['rt-1'], 'a fresh cache answer: no hint')
    s.clock.advance(60_001)
    t.equal((await s.post()).json().cached, true)
    t.same(hints, ['rt-1', 'rt-1'], 'a stale one queues a refresh: hinted')
    await s.post('rt-2')
    t.same(hints, ['rt-1', 'rt-1', 'rt-2'], 'with the runtime id')
  })

  for (const [name, notify] of Object.entries({
    throws: () => { throw new Error('socket gone') },
    rejects: async () => { throw new Error('socket gone') }
  })) {
    t.test(`a hint that ${name} is logged and never fails the POST`, async t => {
      const s = await picker(t, { notifyPendingWork: notify })
      const res = await s.post()
      t.equal(res.statusCode, 200)
      t.equal(res.json().status, 'pending')
      await settle()
      const line = s.log.lines.find(line => /notifyPendingWork failed/.test(line.msg))
      t.equal(line?.err?.message, 'socket gone', 'logged with its error')
      t.equal(line?.runtimeId, 'rt-1')
    })
  }

  t.test('a hint that throws on a plain store never fails the POST either', async t => {
    const inner = new MemoryModelListStore()
    t.teardown(() => inner.close())
    const s = await picker(t, { store: spyStore(inner), notifyPendingWork: () => { throw new Error('socket gone') } })
    t.equal((await s.post()).statusCode, 200)
    t.ok(s.log.lines.some(line => /notifyPendingWork failed/.test(line.msg)))
  })

  t.test('a work store that carries hints (but cannot say when it listens): the store calls it, not the engine', async t => {
    const inner = new MemoryWorkStore()
    t.teardown(() => inner.close())
    // The required methods and onQueued: no listening, no watch of its own.
    const store: WorkStore = {
      open: async (...args) => await inner.open(...args),
      get: async (...args) => await inner.get(...args),
      probe: async (...args) => await inner.probe(...args),
      claim: async (...args) => await inner.claim(...args),
      settle: async (...args) => await inner.settle(...args),
      close: async () => {},
      onQueued: listener => inner.onQueued(listener)
    }
    const hints: string[] = []
    const s = await picker(t, { store, notifyPendingWork: (rt) => { hints.push(rt) } })
    await s.post()
    t.same(hints, ['rt-1'], 'once: from the store, none from the engine (which hints only for a store without onQueued)')
  })

  t.test('two apps on one memory store: both hear it; a closed app stops hearing', async t => {
    const store = new MemoryModelListStore()
    t.teardown(() => store.close())
    const heard = { a: [] as string[], b: [] as string[] }
    const a = await picker(t, { store, notifyPendingWork: (rt) => { heard.a.push(rt) } })
    const b = await picker(t, { store, notifyPendingWork: (rt) => { heard.b.push(rt) } })
    await a.post('rt-1')
    t.same(heard, { a: ['rt-1'], b: ['rt-1'] })
    await b.app.close()
    await a.post('rt-2')
    t.same(heard, { a: ['rt-1', 'rt-2'], b: ['rt-1'] })
  })
})
