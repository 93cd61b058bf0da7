import { randomUUID } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { mockRedis } from './helpers/redis-mock'
import type Redis from 'ioredis'
import fastifyModelList, { type FastifyModelListOptions, type ModelListStore } from '../lib/index'
import type { HeartbeatMessage, LifecycleMessage, StoreCallContext } from '../lib/diagnostics'
import { Clock } from './helpers/clock'
import { hooks } from './helpers/apps'
import { catalog } from './helpers/contract'
import { cliUpdate, skillImport } from './helpers/kinds'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// The diagnostics channels (API.md, "Diagnostics"): every lifecycle event of a
// full cycle of each kind, in order, at the store clock's instants, with
// durations that add up; the store's tracing channel; the heartbeat channel
// and the slow-heartbeat line. On memory, ioredis-mock and Redis.

interface Target {
  name: string
  setup: () => Promise<{ skip: string | false }>
  options: () => Partial<FastifyModelListOptions>
  teardown: () => Promise<void>
}

function redisTarget (name: string, client: () => Redis, setup: Target['setup']): Target {
  const keyPrefix = uniquePrefix(`diagnostics-${name}`)
  let redis: Redis | undefined
  return {
    name,
    setup,
    options: () => ({ redis: redis ??= client(), keyPrefix }),
    teardown: async () => {
      if (redis === undefined) return
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    }
  }
}

const targets: Target[] = [
  { name: 'memory', setup: async () => ({ skip: false }), options: () => ({ store: 'memory' }), teardown: async () => {} },
  redisTarget('ioredis-mock', () => mockRedis(), async () => ({ skip: false })),
  redisTarget('redis', connect, needsRedis)
]

/** Everything published on `name` while the test runs. */
function listen<T> (t: Test, name: string): T[] {
  const heard: T[] = []
  const listener = (message: unknown): void => { heard.push(message as T) }
  diagnostics.subscribe(name, listener)
  t.teardown(() => { diagnostics.unsubscribe(name, listener) })
  return heard
}

/** Lines the app logs, parsed. */
function logLines (): { lines: Array<Record<string, unknown>>, stream: Writable } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    }
  })
  return { lines, stream }
}

async function appOn (t: Test, target: Target, clock: Clock, extra: Partial<FastifyModelListOptions> = {}, stream?: Writable): Promise<FastifyInstance> {
  const app = Fastify(stream === undefined ? {} : { logger: { level: 'warn', stream } })
  await app.register(fastifyModelList, { ...hooks, ...target.options(), now: clock.now, work: [skillImport, cliUpdate], prefix: '/api', ...extra })
  await app.ready()
  t.teardown(async () => { await app.close() })
  return app
}

const runtime = (): string => `rt-${randomUUID().slice(0, 8)}`
const report = (rt: string, path: string, id: string, payload: object): { method: 'POST', url: string, payload: object } =>
  ({ method: 'POST', url: `/api/daemon/runtimes/${rt}/${path}/${id}/result`, payload })

for (const target of targets) {
  t.test(target.name, async t => {
    if (!await ready(t, target.setup)) return
    // One app for the target's cycles (each on a runtime of its own): building one costs more than a cycle.
    const clock = new Clock()
    const app = await appOn(t, target, clock)
    t.teardown(target.teardown)

    t.test('the model list: queued, joined, claimed, completed, late_report, cached, and a refresh queued', async t => {
      const t0 = clock.t
      const events = listen<LifecycleMessage>(t, 'fastify-model-list.lifecycle')
      const heartbeats = listen<HeartbeatMessage>(t, 'fastify-model-list.heartbeat')
      const rt = runtime()

      const id = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json().id as string
      clock.advance(100)
      t.equal((await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json().id, id, 'the second POST joins')
      clock.advance(900)
      t.same(await app.claimPendingModelList(rt), { id })
      t.same(await app.claimPendingModelList(rt), null)
      clock.advance(2_500)
      await app.inject(report(rt, 'models', id, { status: 'completed', models: catalog }))
      clock.advance(100)
      await app.inject(report(rt, 'models', id, { status: 'failed', error: 'again' }))
      clock.advance(100)
      const cached = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json()
      t.equal(cached.cached, true)
      clock.advance(60_001)
      const stale = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json()
      const refresh = events.at(-2)?.requestId as string

      const base = { kind: 'model_list', runtimeId: rt }
      t.same(events, [
        { ...base, event: 'queued', requestId: id, at: t0 },
        { ...base, event: 'joined', requestId: id, at: t0 + 100 },
        { ...base, event: 'claimed', requestId: id, at: t0 + 1_000, pendingMs: 1_000 },
        { ...base, event: 'completed', requestId: id, at: t0 + 3_500, pendingMs: 1_000, runningMs: 2_500 },
        { ...base, event: 'late_report', requestId: id, at: t0 + 3_600 },
        { ...base, event: 'cached', requestId: cached.id, at: t0 + 3_700, refreshQueued: false },
        { ...base, event: 'queued', requestId: refresh, at: t0 + 63_701 },
        { ...base, event: 'cached', requestId: stale.id, at: t0 + 63_701, refreshQueued: true }
      ], 'every event, in order, on the store clock')
      t.not(refresh, stale.id, 'the refresh is a request of its own, not the cache answer')
      t.same(heartbeats, [
        { runtimeId: rt, durationMs: 0, probeMs: 0, claimMs: 0, claimed: { model_list: 1 } },
        { runtimeId: rt, durationMs: 0, probeMs: 0, claimMs: 0, claimed: {} }
      ], 'one heartbeat message per call, with what it claimed')
    })

    t.test('an exclusive kind: queued, busy (naming the request in flight), claimed, failed', async t => {
      const t0 = clock.t
      const events = listen<LifecycleMessage>(t, 'fastify-model-list.lifecycle')
      const rt = runtime()
      const id = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/cli-update` })).json().id as string
      clock.advance(5)
      t.equal((await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/cli-update` })).statusCode, 409)
      clock.advance(5)
      t.same(await app.claimPendingWork(rt), { pending_cli_update: { id } })
      clock.advance(20)
      await app.inject(report(rt, 'cli-update', id, { status: 'failed', error: 'no disk' }))
      const base = { kind: 'cli_update', runtimeId: rt, requestId: id }
      t.same(events, [
        { ...base, event: 'queued', at: t0 },
        { ...base, event: 'busy', at: t0 + 5 },
        { ...base, event: 'claimed', at: t0 + 10, pendingMs: 10 },
        { ...base, event: 'failed', at: t0 + 30, pendingMs: 10, runningMs: 20 }
      ])
    })

    t.test('a batch kind: each claim told, and the heartbeat counts them per kind', async t => {
      const t0 = clock.t
      const events = listen<LifecycleMessage>(t, 'fastify-model-list.lifecycle')
      const heartbeats = listen<HeartbeatMessage>(t, 'fastify-model-list.heartbeat')
      const rt = runtime()
      const first = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/skill-imports`, payload: { skill: 'a' } })).json().id as string
      clock.advance(10)
      const second = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/skill-imports`, payload: { skill: 'b' } })).json().id as string
      await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })
      clock.advance(40)
      await app.claimPendingWork(rt)
      await app.inject(report(rt, 'skill-imports', second, { status: 'completed', result: { imported: true } }))
      const base = { kind: 'skill_import', runtimeId: rt }
      t.same(events.filter(event => event.kind === 'skill_import'), [
        { ...base, event: 'queued', requestId: first, at: t0 },
        { ...base, event: 'queued', requestId: second, at: t0 + 10 },
        { ...base, event: 'claimed', requestId: first, at: t0 + 50, pendingMs: 50 },
        { ...base, event: 'claimed', requestId: second, at: t0 + 50, pendingMs: 40 },
        { ...base, event: 'completed', requestId: second, at: t0 + 50, pendingMs: 40, runningMs: 0 }
      ])
      t.same(heartbeats.map(heartbeat => heartbeat.claimed), [{ model_list: 1, skill_import: 2 }])
    })

    t.test('timeouts are told where they are applied, with their phase', async t => {
      const t0 = clock.t
      const events = listen<LifecycleMessage>(t, 'fastify-model-list.lifecycle')
      const rt = runtime()
      const never = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json().id as string
      clock.advance(30_001)
      t.equal((await app.inject({ method: 'GET', url: `/api/runtimes/${rt}/models/${never}` })).json().status, 'timeout')
      t.equal((await app.inject({ method: 'GET', url: `/api/runtimes/${rt}/models/${never}` })).json().status, 'timeout', 'read again: told once')
      const lost = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json().id as string
      await app.claimPendingModelList(rt)
      clock.advance(60_001)
      await app.inject(report(rt, 'models', lost, { status: 'completed', models: catalog }))
      const base = { kind: 'model_list', runtimeId: rt }
      t.same(events, [
        { ...base, event: 'queued', requestId: never, at: t0 },
        { ...base, event: 'timeout', requestId: never, at: t0 + 30_001, phase: 'pending' },
        { ...base, event: 'queued', requestId: lost, at: t0 + 30_001 },
        { ...base, event: 'claimed', requestId: lost, at: t0 + 30_001, pendingMs: 0 },
        { ...base, event: 'timeout', requestId: lost, at: t0 + 90_002, phase: 'running' },
        { ...base, event: 'late_report', requestId: lost, at: t0 + 90_002 }
      ])
    })

    t.test('a claim its heartbeat gave up on is handed back, and told', async t => {
      const clock = new Clock()
      const app = await appOn(t, target, clock, { storeTimeoutMs: 250 })
      const events = listen<LifecycleMessage>(t, 'fastify-model-list.lifecycle')
      const rt = runtime()
      const id = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json().id as string
      const store = app.modelListStore
      const popPending = store.popPending.bind(store)
      let release = (): void => {}
      const gate = new Promise<void>(resolve => { release = resolve })
      store.popPending = async (runtimeId: string) => { await gate; return await popPending(runtimeId) }
      const handedBack = new Promise<void>(resolve => {
        const listener = (message: unknown): void => { if ((message as LifecycleMessage).event === 'handed_back') resolve() }
        diagnostics.subscribe('fastify-model-list.lifecycle', listener)
        t.teardown(() => diagnostics.unsubscribe('fastify-model-list.lifecycle', listener))
      })
      clock.advance(7)
      t.equal(await app.claimPendingModelList(rt), null, 'the heartbeat gives up on a claim slower than storeTimeoutMs')
      release()
      await handedBack
      const base = { kind: 'model_list', runtimeId: rt, requestId: id }
      t.same(events.map(({ event, pendingMs }) => ({ event, pendingMs })), [
        { event: 'queued', pendingMs: undefined },
        { event: 'claimed', pendingMs: 7 },
        { event: 'handed_back', pendingMs: undefined }
      ])
      t.has(events[2], { ...base, at: clock.t })
      delete (store as Partial<ModelListStore>).popPending
      t.same(await app.claimPendingModelList(rt), { id }, 'and claimed again by the next heartbeat')
    })

    t.test('every store call is traced, with its operation, kind and ids', async t => {
      const rt = runtime()
      const calls: Array<[string, StoreCallContext]> = []
      const on = (phase: string) => (context: StoreCallContext) => {
        if (context.runtimeId === rt) calls.push([phase, { ...context }])
      }
      const subscribers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') }
      diagnostics.tracingChannel<unknown, StoreCallContext>('fastify-model-list.store').subscribe(subscribers)
      t.teardown(() => diagnostics.tracingChannel<unknown, StoreCallContext>('fastify-model-list.store').unsubscribe(subscribers))

      const id = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json().id as string
      await app.claimPendingModelList(rt)
      await app.inject(report(rt, 'models', id, { status: 'completed', models: catalog }))
      await app.inject({ method: 'GET', url: `/api/runtimes/${rt}/models/${id}` })
      const summary = calls.map(([phase, { operation, kind, requestId }]) => `${phase} ${operation} ${kind}${requestId === undefined ? '' : ` ${requestId === id ? 'id' : requestId}`}`)
      const asyncCall = (operation: string, suffix = ''): string[] => ['start', 'end', 'asyncStart', 'asyncEnd'].map(phase => `${phase} ${operation} model_list${suffix}`)
      // Both stores try to answer at once; Redis, with work queued, then asks the server.
      const probeNow = ['start probeNow model_list', 'end probeNow model_list']
      const probe = target.name === 'memory' ? probeNow : [...probeNow, ...asyncCall('mayHavePending')]
      t.same(summary, [...asyncCall('open'), ...probe, ...asyncCall('claim'), ...asyncCall('settle', ' id'), ...asyncCall('get', ' id')])
      t.ok(calls.filter(([phase]) => phase === 'asyncEnd').every(([, context]) => 'result' in context), 'asyncEnd carries the result')

      const failure = new Error('store down')
      app.modelListStore.get = async () => { throw failure }
      t.teardown(() => { delete (app.modelListStore as Partial<ModelListStore>).get })
      t.equal((await app.inject({ method: 'GET', url: `/api/runtimes/${rt}/models/${id}` })).statusCode, 503)
      t.same(calls.filter(([phase]) => phase === 'error').map(([, context]) => [context.operation, (context as { error?: unknown }).error]), [['get', failure]], 'a failing call is told on error')
    })
  })
}

t.test('the heartbeat channel times each phase on the injected clock; a slow heartbeat logs one line, rate-limited', async t => {
  const clock = new Clock()
  const { lines, stream } = logLines()
  const app = await appOn(t, targets[0], clock, {}, stream)
  const heartbeats = listen<HeartbeatMessage>(t, 'fastify-model-list.heartbeat')
  const rt = runtime()
  await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })
  await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models`, payload: { force: true } })
  const store = app.modelListStore
  const { hasPending, popPending } = store
  store.hasPending = async runtimeId => { clock.advance(300); return await hasPending.call(store, runtimeId) }
  store.popPending = async runtimeId => { clock.advance(201); return await popPending.call(store, runtimeId) }

  await app.claimPendingModelList(rt)
  t.same(heartbeats, [{ runtimeId: rt, durationMs: 501, probeMs: 300, claimMs: 201, claimed: { model_list: 1 } }])
  const slow = lines.filter(line => /heartbeat took/.test(String(line.msg)))
  t.equal(slow.length, 1, 'slower than slowHeartbeatMs: one warning')
  t.has(slow[0], { level: 40, runtimeId: rt, durationMs: 501, probeMs: 300, claimMs: 201, slowHeartbeatMs: 500, msg: 'fastify-model-list: a heartbeat took 501 ms (probe 300 ms, claim 201 ms)' })

  store.hasPending = async () => { clock.advance(600); return false }
  await app.claimPendingModelList(rt)
  t.equal(lines.filter(line => /heartbeat took/.test(String(line.msg))).length, 1, 'the next slow one within the interval is only counted')
  clock.advance(9_400)
  await app.claimPendingModelList(rt)
  const after = lines.filter(line => /heartbeat took/.test(String(line.msg)))
  t.equal(after.length, 2, 'after the interval, a line again')
  t.has(after[1], { repeatedSinceLastLine: 1, claimed: {} })

  store.hasPending = async () => { clock.advance(500); return false }
  await app.claimPendingModelList(rt)
  clock.advance(10_000)
  await app.claimPendingModelList(rt)
  t.equal(lines.filter(line => /heartbeat took/.test(String(line.msg))).length, 2, 'exactly slowHeartbeatMs is not slow')

  const failure = new Error('store down')
  store.hasPending = async () => { throw failure }
  await app.claimPendingModelList(rt)
  t.same(heartbeats.at(-1), { runtimeId: rt, durationMs: 0, probeMs: 0, claimMs: 0, claimed: {}, error: failure }, 'a failed probe is told with its error')
  store.hasPending = hasPending
  store.popPending = async () => { throw failure }
  await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models`, payload: { force: true } })
  await app.claimPendingModelList(rt)
  t.same(heartbeats.at(-1), { runtimeId: rt, durationMs: 0, probeMs: 0, claimMs: 0, claimed: {}, error: failure }, 'a failed claim too')
})

t.test('slowHeartbeatMs is a duration like the others', async t => {
  for (const slowHeartbeatMs of [0, -1, 1.5, '500', null]) {
    const app = Fastify()
    app.register(fastifyModelList, { ...hooks, slowHeartbeatMs: slowHeartbeatMs as number })
    await t.rejects(async () => { await app.ready() }, /slowHeartbeatMs must be a positive integer/)
    await app.close()
  }
  const clock = new Clock()
  const { lines, stream } = logLines()
  const app = await appOn(t, targets[0], clock, { slowHeartbeatMs: 50 }, stream)
  app.modelListStore.hasPending = async () => { clock.advance(51); return false }
  await app.claimPendingModelList(runtime())
  t.equal(lines.filter(line => /heartbeat took 51 ms/.test(String(line.msg))).length, 1, 'a lower threshold is used')
})

t.test('a catalog that cannot be read is a miss: the request it queues is told, not a cache answer', async t => {
  const clock = new Clock()
  const t0 = clock.t
  const app = await appOn(t, targets[0], clock)
  const events = listen<LifecycleMessage>(t, 'fastify-model-list.lifecycle')
  const rt = runtime()
  const { workStore } = app.modelListStore as unknown as { workStore: { catalogs: { byRuntime: Map<string, unknown> } } }
  workStore.catalogs.byRuntime.set(rt, { result: '{not json', storedAt: t0 - 61_000 })
  const answer = (await app.inject({ method: 'POST', url: `/api/runtimes/${rt}/models` })).json()
  t.equal(answer.status, 'pending')
  const base = { kind: 'model_list', runtimeId: rt, requestId: answer.id, at: t0 }
  t.same(events, [{ ...base, event: 'queued' }, { ...base, event: 'joined' }], 'the stale catalog\'s refresh, then the miss joining it')
})
