// The picker across replicas: two Fastify apps, each with its own client, on
// one Redis (the real one, and ioredis-mock whose instances share their data).
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import Redis from 'ioredis'
import { mockRedis } from './helpers/redis-mock'
import fastifyModelList, { type FastifyModelListOptions, type ModelListRequest } from '../lib/index'
import type { ModelListOnWorkStore, ModelListStore } from '../lib/kinds/model-list-store'
import { RedisModelListStore } from '../lib/store/redis'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'
import { hooks, hostApp, routes } from './helpers/apps'
import { deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { listening, pickerOf } from './helpers/picker-contract'
import { logCapture } from './helpers/host'

// The clock of a store on ioredis-mock must be given: the mock's TIME is noise below the second.
const targets = [
  { name: 'redis', client: () => new Redis({ host: '127.0.0.1', port: 6379 }), setup: needsRedis, now: {} },
  { name: 'ioredis-mock', client: () => mockRedis(), setup: async () => ({ skip: false as const }), now: { now: Date.now } }
]

/** The settled watchers of a built-in Redis store's work store: a poll held there watches. */
function settledWatchers (store: ModelListStore): Map<string, unknown> {
  return ((store as ModelListOnWorkStore).workStore as unknown as { signals: { settledWatchers: Map<string, unknown> } }).signals.settledWatchers
}

/** Resolves when `check` holds, looking again at every turn of the event loop; rejects after `ms` of wall clock. */
async function eventually (what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise(resolve => setImmediate(resolve))
  }
}

for (const target of targets) {
  t.test(target.name, async t => {
    if (!(await ready(t, target.setup))) return
    const clients: Redis[] = []
    const keyPrefixes: string[] = []
    t.teardown(async () => {
      for (const keyPrefix of keyPrefixes) await deleteKeys(clients[0], keyPrefix)
      for (const client of clients) client.disconnect()
    })

    /** Two replicas on one key prefix, each with its own client and hint log. */
    const replicas = async (t: Test, options: Partial<FastifyModelListOptions> = {}): Promise<{ a: FastifyInstance, b: FastifyInstance, hints: { a: string[], b: string[] }, clock: Clock }> => {
      const keyPrefix = uniquePrefix(`${target.name}-picker`)
      keyPrefixes.push(keyPrefix)
      const clock = new Clock()
      const hints = { a: [] as string[], b: [] as string[] }
      const make = async (name: 'a' | 'b'): Promise<FastifyInstance> => {
        const redis = target.client()
        clients.push(redis)
        const app = await hostApp(async app => {
          await app.register(fastifyModelList, {
            redis, keyPrefix, now: clock.now, prefix: '/api', ...hooks,
            notifyPendingWork: (rt) => { hints[name].push(rt) },
            ...options
          })
        })
        t.teardown(() => app.close())
        await listening(app.modelListStore)
        return app
      }
      return { a: await make('a'), b: await make('b'), hints, clock }
    }

    t.test('an unreadable record met by a cache answer is removed and logged, as by any script', async t => {
      const redis = target.client()
      clients.push(redis)
      const keyPrefix = uniquePrefix(`${target.name}-unreadable`)
      keyPrefixes.push(keyPrefix)
      const clock = new Clock()
      const store = new RedisModelListStore({ redis, keyPrefix, now: clock.now, catalogCache: { revalidateAfterMs: 1_000 } })
      const picker = pickerOf(store)
      const warned: unknown[] = []
      picker.engine.useLog({ warn: (fields: unknown) => { warned.push(fields) } } as never)
      const rt = 'rt-unreadable'
      const first = await store.create(rt)
      await store.popPending(rt)
      await store.complete(rt, first.id, { models: catalog, supported: true })
      const broken = await store.create(rt)
      const key = `${keyPrefix}:{${rt}}:model_list:req:${broken.id}`
      await redis.hdel(key, 'c')
      clock.advance(1_001)
      const opened = await picker.open(rt, { coalesce: true, useCache: true })
      t.equal(opened.request.cached, true, 'answered from the catalog')
      t.equal(opened.queued, true, 'the broken pending request does not count: a refresh is queued')
      t.same(warned, [{ keys: [key] }], 'the removed record is logged')
      t.equal(await redis.exists(key), 0, 'and gone')
    })

    t.test('hints flow as soon as the apps are ready: ready waits for the subscriber', async t => {
      const keyPrefix = uniquePrefix(`${target.name}-ready`)
      keyPrefixes.push(keyPrefix)
      const hints: string[] = []
      const apps = await Promise.all(['a', 'b'].map(async name => {
        const redis = target.client()
        clients.push(redis)
        const app = await hostApp(async app => {
          await app.register(fastifyModelList, { redis, keyPrefix, ...target.now, prefix: '/api', ...hooks, notifyPendingWork: (rt) => { hints.push(`${name}:${rt}`) } })
        })
        t.teardown(() => app.close())
        return app
      }))
      await apps[0].inject(routes.create('rt-ready'))
      await eventually('the hint on both', () => hints.length === 2)
      t.same(hints.sort(), ['a:rt-ready', 'b:rt-ready'], 'the first POST after ready is heard by both replicas')
    })

    t.test('a poll held on app B answers within milliseconds of the report on app A', async t => {
      const { a, b } = await replicas(t)
      const rt = 'rt-held'
      const { id } = (await a.inject(routes.create(rt))).json<{ id: string }>()
      t.same(await b.claimPendingModelList(rt), { id })
      const started = Date.now()
      const held = b.inject({ ...routes.get(rt, id), url: `${routes.get(rt, id).url}?wait_ms=30000` })
      // B's poll is watching (it watches before it reads), so the report wakes it.
      const watchers = settledWatchers(b.modelListStore)
      await eventually("B's poll watches", () => watchers.size === 1)
      await a.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))
      const res = await held
      const elapsed = Date.now() - started
      t.match(res.json(), { id, status: 'completed', models: catalog })
      t.ok(elapsed < 2_000, `answered ${elapsed} ms after it was sent, not after wait_ms`)
    })

    t.test('a hint reaches both replicas for a POST on one; a joined POST sends none; a throwing hint never fails the POST', async t => {
      const { a, b, hints } = await replicas(t)
      await a.inject(routes.create('rt-one'))
      await eventually('the hint on both replicas', () => hints.a.length === 1 && hints.b.length === 1)
      t.same(hints, { a: ['rt-one'], b: ['rt-one'] })
      t.equal((await b.inject(routes.create('rt-one'))).statusCode, 200, 'a joined POST on B')
      // A later hint as a barrier: the hub delivers in order, so nothing for the join came before it.
      await b.inject(routes.create('rt-two'))
      await eventually('the second hint on both', () => hints.a.length === 2 && hints.b.length === 2)
      t.same(hints, { a: ['rt-one', 'rt-two'], b: ['rt-one', 'rt-two'] }, 'no hint for the join')

      const throwing = await replicas(t, { notifyPendingWork: () => { throw new Error('socket gone') } })
      const res = await throwing.a.inject(routes.create('rt-three'))
      t.equal(res.statusCode, 200, 'the POST still answers')
      t.equal(res.json().status, 'pending')
    })

    t.test('50 concurrent POSTs across two apps: one request, one claim, one report, 50 equal answers', async t => {
      const { a, b, hints } = await replicas(t)
      const rt = 'rt-fifty'
      const posts = await Promise.all(Array.from({ length: 50 }, async (_, i) => await (i % 2 === 0 ? a : b).inject(routes.create(rt))))
      const ids = new Set(posts.map(res => res.json<{ id: string }>().id))
      t.equal(ids.size, 1, 'one request')
      const [id] = ids
      const polls = posts.map(async (_, i) => await (i % 2 === 0 ? b : a).inject({ ...routes.get(rt, id), url: `${routes.get(rt, id).url}?wait_ms=30000` }))
      t.same(await a.claimPendingModelList(rt), { id }, 'one claim')
      t.equal(await b.claimPendingModelList(rt), null)
      await b.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))
      const answers = (await Promise.all(polls)).map(res => res.json<ModelListRequest>())
      t.ok(answers.every(answer => answer.status === 'completed' && JSON.stringify(answer) === JSON.stringify(answers[0])), 'all 50 see the same completed result')
      await eventually('one hint per replica', () => hints.a.length + hints.b.length >= 2)
      t.same(hints, { a: [rt], b: [rt] }, 'one hint per replica')
    })

    t.test('50 concurrent POSTs across two apps with a stale catalog: served from it, one refresh, one hint per replica', async t => {
      const { a, b, hints, clock } = await replicas(t)
      const rt = 'rt-stale'
      const { id } = (await a.inject(routes.create(rt))).json<{ id: string }>()
      await a.claimPendingModelList(rt)
      await a.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))
      await eventually('the first hint', () => hints.a.length === 1 && hints.b.length === 1)
      clock.advance(60_001)
      const posts = await Promise.all(Array.from({ length: 50 }, async (_, i) => await (i % 2 === 0 ? a : b).inject(routes.create(rt))))
      t.ok(posts.every(res => res.json().cached === true && res.json().status === 'completed'), 'all 50 answered from the catalog')
      await eventually('the refresh hint', () => hints.a.length === 2 && hints.b.length === 2)
      const refresh = await b.claimPendingModelList(rt)
      t.ok(refresh, 'a refresh was queued')
      t.equal(await a.claimPendingModelList(rt), null, 'exactly one')
      // The barrier: a forced POST's hint comes after any stray one.
      await a.inject({ ...routes.create(rt), payload: { force: true } })
      await eventually('the barrier hint', () => hints.a.length === 3 && hints.b.length === 3)
      t.same(hints, { a: [rt, rt, rt], b: [rt, rt, rt] }, 'one refresh hint per replica')
    })
  })
}

t.test('a SUBSCRIBE that fails: the watch rejects (the poll answers at once), the next one subscribes', async t => {
  const client = mockRedis()
  const duplicate = client.duplicate.bind(client)
  let failures = 1
  ;(client as unknown as { duplicate: () => Redis }).duplicate = () => {
    const made = duplicate()
    const subscribe = made.subscribe.bind(made) as (...channels: string[]) => Promise<unknown>
    ;(made as unknown as { subscribe: unknown }).subscribe = async (...channels: string[]) => {
      if (failures-- > 0) throw new Error('connection lost')
      return await subscribe(...channels)
    }
    return made
  }
  const keyPrefix = uniquePrefix('subscribe-fails')
  const app = await hostApp(async app => {
    await app.register(fastifyModelList, { redis: client, keyPrefix, now: Date.now, prefix: '/api', ...hooks })
  })
  t.teardown(async () => {
    await app.close()
    await deleteKeys(client, keyPrefix)
    client.disconnect()
  })
  const rt = 'rt-subscribe'
  const { id } = (await app.inject(routes.create(rt))).json<{ id: string }>()
  const first = await app.inject({ ...routes.get(rt, id), url: `${routes.get(rt, id).url}?wait_ms=30000` })
  t.equal(first.json().status, 'pending', 'answered at once')
  const polled = app.inject({ ...routes.get(rt, id), url: `${routes.get(rt, id).url}?wait_ms=30000` })
  const watchers = settledWatchers(app.modelListStore)
  await eventually('the second poll watches', () => watchers.size === 1)
  await listening(app.modelListStore)
  await app.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))
  t.equal((await polled).json().status, 'completed', 'the second is held and woken')
})

t.test('a subscriber that cannot subscribe at start-up does not hold the start: logged, and it keeps trying', async t => {
  const client = mockRedis()
  const duplicate = client.duplicate.bind(client)
  ;(client as unknown as { duplicate: () => Redis }).duplicate = () => {
    const made = duplicate()
    ;(made as unknown as { subscribe: unknown }).subscribe = async () => { throw new Error('connection lost') }
    return made
  }
  const log = logCapture()
  const keyPrefix = uniquePrefix('ready-fails')
  const app = await hostApp(async app => {
    await app.register(fastifyModelList, { redis: client, keyPrefix, now: Date.now, prefix: '/api', ...hooks, notifyPendingWork: () => {}, storeTimeoutMs: 50 })
  }, { logger: { level: 'warn', stream: log.stream } })
  t.teardown(async () => {
    await app.close()
    await deleteKeys(client, keyPrefix)
    client.disconnect()
  })
  t.ok(log.lines.some(line => /hints from other replicas are not heard yet/.test(line.msg)), 'a warning, and the app is ready')
  t.equal((await app.inject(routes.create('rt-started'))).statusCode, 200, 'it serves')
})
