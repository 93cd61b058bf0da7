// Authorization, on every route and on both stores: a request id used under
// another runtime's id answers 404 and changes nothing; a runtime the host
// does not show answers 404; the heartbeat of one runtime never claims
// another's work; and only `true` from authorizeDaemon lets a report in.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import type Redis from 'ioredis'
import fastifyModelList, { MemoryModelListStore, RedisModelListStore, type ModelListStore } from '../lib/index'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { dumpKeys } from './helpers/redis-dump'

// Shown by getRuntime and authorized; C has no requests of its own.
const shown = ['authz-a', 'authz-b', 'authz-c']
// Neither shown nor authorized.
const stranger = 'authz-x'
const states = ['timeout', 'running', 'completed', 'failed', 'pending'] as const

interface Fixture {
  app: FastifyInstance
  store: ModelListStore
  /** Each runtime's request in each state. */
  ids: Record<string, Record<(typeof states)[number], string>>
  snapshot: () => Promise<unknown>
  /** What authorizeDaemon answers from now on. */
  authorize: (answer: (runtimeId: string) => unknown) => void
}

async function fixture (t: Test, store: ModelListStore, clock: Clock, redis?: { client: Redis, prefix: string }): Promise<Fixture> {
  let answer: (runtimeId: string) => unknown = runtimeId => shown.includes(runtimeId)
  const app = Fastify()
  await app.register(fastifyModelList, {
    prefix: '/api',
    store,
    getRuntime: async (_request, runtimeId) => shown.includes(runtimeId) ? { online: true } : null,
    authorizeDaemon: async (_request, runtimeId) => answer(runtimeId) as boolean
  })
  await app.ready()
  t.teardown(() => app.close())

  const ids: Fixture['ids'] = {}
  const timedOut: Record<string, string> = {}
  for (const rt of shown.slice(0, 2)) timedOut[rt] = (await store.create(rt)).id
  clock.advance(30_001)
  for (const rt of shown.slice(0, 2)) {
    await store.get(rt, timedOut[rt])
    const running = (await store.create(rt)).id
    await store.popPending(rt)
    const completed = (await store.create(rt)).id
    await store.popPending(rt)
    await store.complete(rt, completed, { models: catalog, supported: true })
    const failed = (await store.create(rt)).id
    await store.popPending(rt)
    await store.fail(rt, failed, 'no discovery')
    ids[rt] = { timeout: timedOut[rt], running, completed, failed, pending: (await store.create(rt)).id }
  }

  const snapshot = async (): Promise<unknown> => {
    const records = []
    for (const rt of Object.keys(ids)) for (const state of states) records.push(await store.get(rt, ids[rt][state]))
    const pending = await Promise.all(shown.map(async rt => await store.hasPending(rt)))
    if (redis === undefined) return { records, pending }
    return { records, pending, keys: await dumpKeys(redis.client, redis.prefix) }
  }
  return { app, store, ids, snapshot, authorize: next => { answer = next } }
}

const reports = [
  { status: 'completed', models: [{ id: 'intruder', label: 'Intruder' }] },
  { status: 'completed', models: [], supported: false },
  { status: 'failed', error: 'intruder' }
]

function assertNotFound (t: Test, res: LightMyRequestResponse, code: string, what: string): boolean {
  const ok = res.statusCode === 404 && (res.json() as { code?: string }).code === code
  if (!ok) t.fail(`${what}: ${res.statusCode} ${res.body}, wanted 404 ${code}`)
  return ok
}

function suite (name: string, make: (t: Test, clock: Clock) => Promise<{ store: ModelListStore, redis?: { client: Redis, prefix: string } } | null>): void {
  t.test(name, async t => {
    const clock = new Clock()
    const made = await make(t, clock)
    if (made === null) return
    const { app, ids, snapshot, authorize } = await fixture(t, made.store, clock, made.redis)
    const before = await snapshot()

    t.test('swapped ids on every route: 404, and nothing changes', async t => {
      let calls = 0
      let refused = 0
      for (const owner of Object.keys(ids)) {
        for (const state of states) {
          const id = ids[owner][state]
          for (const other of shown.filter(rt => rt !== owner)) {
            const asOther = `${state} request of ${owner} as ${other}`
            calls++
            if (assertNotFound(t, await app.inject({ method: 'GET', url: `/api/runtimes/${other}/models/${id}` }), 'FST_MODEL_LIST_REQUEST_NOT_FOUND', `GET ${asOther}`)) refused++
            for (const report of reports) {
              calls++
              const res = await app.inject({ method: 'POST', url: `/api/daemon/runtimes/${other}/models/${id}/result`, payload: report })
              if (assertNotFound(t, res, 'FST_MODEL_LIST_REQUEST_NOT_FOUND', `report ${report.status} on ${asOther}`)) refused++
            }
          }
          // The two ids traded places: the request id is no runtime the host shows.
          calls += 2
          if (assertNotFound(t, await app.inject({ method: 'GET', url: `/api/runtimes/${id}/models/${owner}` }), 'FST_MODEL_LIST_RUNTIME_NOT_FOUND', `GET with the ids traded (${state})`)) refused++
          if (assertNotFound(t, await app.inject({ method: 'POST', url: `/api/daemon/runtimes/${id}/models/${owner}/result`, payload: reports[0] }), 'FST_MODEL_LIST_RUNTIME_NOT_FOUND', `report with the ids traded (${state})`)) refused++
          // A runtime the host does not show: the hook's 404, before any store.
          calls += 2 + reports.length
          if (assertNotFound(t, await app.inject({ method: 'GET', url: `/api/runtimes/${stranger}/models/${id}` }), 'FST_MODEL_LIST_RUNTIME_NOT_FOUND', `GET as ${stranger}`)) refused++
          if (assertNotFound(t, await app.inject({ method: 'POST', url: `/api/runtimes/${stranger}/models` }), 'FST_MODEL_LIST_RUNTIME_NOT_FOUND', `POST as ${stranger}`)) refused++
          for (const report of reports) {
            const res = await app.inject({ method: 'POST', url: `/api/daemon/runtimes/${stranger}/models/${id}/result`, payload: report })
            if (assertNotFound(t, res, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND', `report as ${stranger}`)) refused++
          }
        }
      }
      t.equal(refused, calls, `all ${calls} swapped or foreign calls answered 404`)
      t.same(await snapshot(), before, 'every record, queue and key as before')
      t.comment(`${name}: ${calls} swapped-id calls, ${refused} answered 404`)
    })

    t.test("a heartbeat never claims another runtime's request", async t => {
      t.equal(await app.claimPendingModelList('authz-c'), null, 'C has nothing of its own to claim')
      t.equal(await app.claimPendingModelList(stranger), null)
      t.same(await snapshot(), before, 'A and B still pending, nothing claimed')
    })

    t.test('authorizeDaemon: only true lets a report in', async t => {
      const refusals: Array<[string, () => unknown]> = [
        ['false', () => false], ['null', () => null], ['undefined', () => undefined], ['0', () => 0], ["''", () => '']
      ]
      // Truthy, yet not true: a host's slip that must not open the route.
      const truthy: Array<[string, () => unknown]> = [
        ["'yes'", () => 'yes'], ["'true'", () => 'true'], ['1', () => 1], ['{}', () => ({})], ['[]', () => []],
        ["a promise of 'true'", async () => await Promise.resolve('true')], ['a promise of 1', async () => await Promise.resolve(1)]
      ]
      const refuses = (t: Test, [label, answer]: [string, () => unknown]): void => {
        t.test(`answering ${label}: 404, and the pending request stays pending`, async t => {
          authorize(answer)
          t.teardown(() => authorize(rt => shown.includes(rt)))
          for (const report of reports) {
            const res = await app.inject({ method: 'POST', url: `/api/daemon/runtimes/authz-a/models/${ids['authz-a'].pending}/result`, payload: report })
            t.equal(res.statusCode, 404, `${report.status}: ${res.body}`)
            t.equal((res.json() as { code?: string }).code, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
          }
          t.same(await snapshot(), before, 'nothing changed')
        })
      }
      for (const refusal of refusals) refuses(t, refusal)
      for (const refusal of truthy) refuses(t, refusal)

      t.test('answering true: the report lands (the control)', async t => {
        authorize(() => true)
        t.teardown(() => authorize(rt => shown.includes(rt)))
        const res = await app.inject({ method: 'POST', url: `/api/daemon/runtimes/authz-b/models/${ids['authz-b'].pending}/result`, payload: reports[2] })
        t.equal(res.statusCode, 200)
        t.equal((await made.store.get('authz-b', ids['authz-b'].pending))?.status, 'failed')
      })
    })
  })
}

suite('authorization: memory store', async (t, clock) => {
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  return { store }
})

suite('authorization: Redis', async (t, clock) => {
  if (!(await ready(t, needsRedis))) return null
  const client = connect()
  const prefix = uniquePrefix('authz')
  const store = new RedisModelListStore({ redis: client, keyPrefix: prefix, now: clock.now })
  t.teardown(async () => {
    // The store's own connections (its subscriber) are the store's to close: the plugin never closes a store it was given.
    await store.close()
    await deleteKeys(client, prefix)
    client.disconnect()
  })
  return { store, redis: { client, prefix } }
})
