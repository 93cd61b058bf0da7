// A ModelListStore object given as `store` is driven only through its public
// methods: a subclass's override, an own property on an Object.create wrapper
// or a composition wrapper's method is what the routes and the heartbeat run.
// Each test is named after the bug it pins.
import t from 'tap'
import { Type } from '@sinclair/typebox'
import fastifyModelList, { daemonWork, MemoryModelListStore, type FastifyModelListOptions, type ModelListRequest, type ModelListStore } from '../lib/index'
import { buildHost, spyStore } from './helpers/host'
import { catalog } from './helpers/contract'
import { Clock } from './helpers/clock'
import Fastify from 'fastify'

type Method = 'create' | 'get' | 'hasPending' | 'popPending' | 'complete' | 'fail' | 'handBack'

/** A subclass of the memory store that records each public method it runs, then runs the built-in one. */
function recordingSubclass (now: () => number): { store: MemoryModelListStore, calls: Method[] } {
  const calls: Method[] = []
  class Recording extends MemoryModelListStore {
    async create (runtimeId: string, options?: { coalesce?: boolean }): Promise<ModelListRequest> { calls.push('create'); return await super.create(runtimeId, options) }
    async get (runtimeId: string, requestId: string): Promise<ModelListRequest | null> { calls.push('get'); return await super.get(runtimeId, requestId) }
    async hasPending (runtimeId: string): Promise<boolean> { calls.push('hasPending'); return await super.hasPending(runtimeId) }
    async popPending (runtimeId: string): Promise<ModelListRequest | null> { calls.push('popPending'); return await super.popPending(runtimeId) }
    async complete (...args: Parameters<MemoryModelListStore['complete']>): Promise<ModelListRequest | null> { calls.push('complete'); return await super.complete(...args) }
    async fail (runtimeId: string, requestId: string, error: string): Promise<ModelListRequest | null> { calls.push('fail'); return await super.fail(runtimeId, requestId, error) }
  }
  return { store: new Recording({ now }), calls }
}

/** One full cycle through the routes and both heartbeats: create, probe + claim, report, poll, a failed one. */
async function cycle (options: Partial<FastifyModelListOptions>): Promise<{ statuses: number[], claimed: unknown[] }> {
  const { app } = await buildHost({ prefix: '/api', ...options })
  const statuses: number[] = []
  const claimed: unknown[] = []
  const create = await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })
  statuses.push(create.statusCode)
  claimed.push(await app.claimPendingModelList('rt-1'))
  const id = create.json().id as string
  statuses.push((await app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt-1/models/${id}/result`, payload: { status: 'completed', models: catalog } })).statusCode)
  statuses.push((await app.inject({ method: 'GET', url: `/api/runtimes/rt-1/models/${id}` })).statusCode)
  const second = (await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models', payload: { force: true } })).json().id as string
  claimed.push(await app.claimPendingWork('rt-1'))
  statuses.push((await app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt-1/models/${second}/result`, payload: { status: 'failed', error: 'no runtime' } })).statusCode)
  await app.close()
  return { statuses, claimed }
}

t.test('a subclass of MemoryModelListStore that overrides create is no longer ignored by POST .../models', async t => {
  let count = 0
  class Quota extends MemoryModelListStore {
    async create (runtimeId: string, options?: { coalesce?: boolean }): Promise<ModelListRequest> {
      if (++count > 1) throw Object.assign(new Error('quota: one request per runtime'), { statusCode: 429 })
      return await super.create(runtimeId, options)
    }
  }
  const { app } = await buildHost({ prefix: '/api', store: new Quota() })
  t.equal((await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })).statusCode, 200)
  const refused = await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })
  t.equal(refused.statusCode, 429, 'the override ran, and its 4xx passes through')
  t.equal(refused.json().message, 'quota: one request per runtime')
  await app.close()
})

t.test('every overridden public method of a subclass is what the routes and both heartbeats run (an overridden hasPending was ignored)', async t => {
  const clock = new Clock()
  const { store, calls } = recordingSubclass(clock.now)
  const { statuses, claimed } = await cycle({ store })
  t.same(statuses, [200, 200, 200, 200])
  t.same(claimed.map(answer => answer === null ? null : Object.keys(answer as object)), [['id'], ['pending_model_list']], 'both heartbeats claimed')
  t.same(calls, ['create', 'hasPending', 'popPending', 'complete', 'get', 'create', 'hasPending', 'popPending', 'fail'],
    'create, hasPending (both heartbeats), popPending, complete, get and fail each ran through the subclass')
  await store.close()
})

t.test('Object.create(store) with a throwing create: the POST answers 503, not 200', async t => {
  const inner = new MemoryModelListStore()
  const wrapper = Object.create(inner) as MemoryModelListStore
  wrapper.create = async () => { throw new Error('disk full') }
  const { app, log } = await buildHost({ prefix: '/api', store: wrapper })
  const response = await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
  t.ok(log.lines.some(line => line.err?.message?.includes('disk full') === true || JSON.stringify(line).includes('disk full')), 'the store\'s error is in the log')
  await app.close()
  await inner.close()
})

t.test('Object.create(store) wrappers run their own methods, the heartbeat included', async t => {
  const inner = new MemoryModelListStore()
  const wrapper = Object.create(inner) as MemoryModelListStore
  const calls: string[] = []
  wrapper.hasPending = async (runtimeId) => { calls.push('hasPending'); return await inner.hasPending(runtimeId) }
  wrapper.popPending = async (runtimeId) => { calls.push('popPending'); return await inner.popPending(runtimeId) }
  const { app } = await buildHost({ prefix: '/api', store: wrapper })
  await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })
  t.ok(await app.claimPendingModelList('rt-1'))
  t.same(calls, ['hasPending', 'popPending'])
  await app.close()
  await inner.close()
})

t.test('a store object that wraps a built-in one by composition keeps held polls, hints and hand-back, and says what it lacks at start-up', async t => {
  const inner = new MemoryModelListStore()
  const hints: Array<[string, string]> = []
  const wrapper: ModelListStore = {
    create: async (...args) => await inner.create(...args),
    get: async (...args) => await inner.get(...args),
    hasPending: async (...args) => await inner.hasPending(...args),
    popPending: async (...args) => await inner.popPending(...args),
    complete: async (...args) => await inner.complete(...args),
    fail: async (...args) => await inner.fail(...args),
    handBack: async (...args) => await inner.handBack(...args),
    close: async () => await inner.close()
  }
  const { app, log } = await buildHost({ prefix: '/api', store: wrapper, notifyPendingWork: (runtimeId, kind) => { hints.push([runtimeId, kind]) } })
  const startUp = log.lines.filter(line => line.msg.startsWith('fastify-model-list: the store does without'))
  t.equal(startUp.length, 1, 'one start-up line')
  t.equal(startUp[0].level, 30, 'at info level')
  t.match(startUp[0].msg, /catalog cache/, 'it names the catalog cache')
  t.match(startUp[0].msg, /watchSettled/, 'and cross-replica wake-ups')
  t.notMatch(startUp[0].msg, /handBack/, 'hand-back is there: the wrapper forwards it')

  const id = (await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })).json().id as string
  t.same(hints, [['rt-1', 'model_list']], 'the hint, in this process')
  await app.claimPendingModelList('rt-1')
  const started = Date.now()
  const held = app.inject({ method: 'GET', url: `/api/runtimes/rt-1/models/${id}?wait_ms=5000` })
  setTimeout(() => { void app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt-1/models/${id}/result`, payload: { status: 'completed', models: catalog } }) }, 50)
  const answer = await held
  t.equal(answer.json().status, 'completed', 'the held poll is woken by the report')
  t.ok(Date.now() - started < 2_000, 'long before wait_ms ran out')
  await app.close()
  await inner.close()
})

t.test('a plain store object without handBack: the start-up line names it', async t => {
  const inner = new MemoryModelListStore()
  const { app, log } = await buildHost({ prefix: '/api', store: spyStore(inner) })
  const [line] = log.lines.filter(line => line.msg.startsWith('fastify-model-list: the store does without'))
  t.match(line.msg, /handBack/)
  t.same((line as unknown as { missing: string[] }).missing.length, 4, 'hand-back, wake-ups, hints across replicas, the catalog cache')
  await app.close()
  await inner.close()
})

t.test('a built-in store with nothing replaced runs its own work store: no start-up line, every feature', async t => {
  const store = new MemoryModelListStore()
  const { app, log } = await buildHost({ prefix: '/api', store })
  t.same(log.lines.filter(line => line.msg.startsWith('fastify-model-list: the store does without')), [])
  const id = (await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })).json().id as string
  await app.claimPendingModelList('rt-1')
  await app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt-1/models/${id}/result`, payload: { status: 'completed', models: catalog } })
  const cached = (await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })).json()
  t.equal(cached.cached, true, 'the catalog cache answers')
  await app.close()
  await store.close()
})

t.test('a subclass of a built-in store still serves declared kinds, on its work store', async t => {
  const kind = daemonWork({ name: 'local_skills', result: Type.Object({ skills: Type.Array(Type.String()) }) })
  const { store, calls } = recordingSubclass(Date.now)
  const { app } = await buildHost({ prefix: '/api', store, work: [kind] })
  const listed = (await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })).json()
  const work = (await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/local-skills' })).json()
  t.same(await app.claimPendingWork('rt-1'), { pending_model_list: { id: listed.id }, pending_local_skills: { id: work.id } }, 'both kinds claimed in one heartbeat')
  t.same(calls, ['create', 'hasPending', 'popPending'], 'the model list through the subclass\'s methods')
  await app.close()
  await store.close()
})

t.test('a composition wrapper with work kinds is refused: it serves the model list alone', async t => {
  const inner = new MemoryModelListStore()
  const kind = daemonWork({ name: 'local_skills', result: Type.Object({}) })
  const app = Fastify()
  await t.rejects(async () => { await app.register(fastifyModelList, { store: spyStore(inner), work: [kind], getRuntime: () => ({ online: true }), authorizeDaemon: () => true }).ready() }, /work needs a store that serves every kind/)
  await inner.close()
})

t.test('a held poll counted down to its own replica\'s pendingTimeoutMs, not the deadline stored with the request', async t => {
  // Two replicas configured differently (a rolling deploy) on one work store.
  const clock = new Clock()
  const shared = new MemoryModelListStore({ now: clock.now }).workStore
  const older = await buildHost({ prefix: '/api', store: shared, pendingTimeoutMs: 30_000 })
  const newer = await buildHost({ prefix: '/api', store: shared, pendingTimeoutMs: 20_000, retentionMs: 120_000 })
  const id = (await older.app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })).json().id as string
  clock.advance(21_000)
  // Due at 30 s: past the newer replica's 20 s, the poll is still held until the report.
  const held = newer.app.inject({ method: 'GET', url: `/api/runtimes/rt-1/models/${id}?wait_ms=3000` })
  setTimeout(() => {
    void older.app.claimPendingModelList('rt-1').then(async () => await older.app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt-1/models/${id}/result`, payload: { status: 'completed', models: catalog } }))
  }, 100)
  const answer = (await held).json()
  t.equal(answer.status, 'completed', 'held until the report, not answered pending at once')
  await older.app.close()
  await newer.app.close()
  await shared.close()
})
