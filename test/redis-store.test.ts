import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Writable } from 'node:stream'
import Redis, { type RedisOptions } from 'ioredis'
import { mockRedis } from './helpers/redis-mock'
import type { FastifyInstance, InjectOptions } from 'fastify'
import fastifyModelList from '../lib/index'
import { RedisModelListStore } from '../lib/store/redis'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'
import { hooks, hostApp, routes } from './helpers/apps'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// Every file in lib/store/redis/lua but the shared prelude is one script.
const scriptFiles = readdirSync(join(__dirname, '../lib/store/redis/lua')).filter(file => file !== 'lifecycle.lua').length

// What the Redis store does beyond the store contract: expiry, queue upkeep,
// key layout, sharing a client, option checks, and what a dead Redis costs.

interface Target {
  name: string
  client: (options?: RedisOptions) => Redis
  setup: () => Promise<{ skip: string | false }>
  mock: boolean
  /** The store's clock option: ioredis-mock's TIME has noise for milliseconds, so stores on it take this process's. */
  now?: () => number
}

const targets: Target[] = [
  { name: 'redis', client: (options = {}) => new Redis({ host: '127.0.0.1', port: 6379, ...options }), setup: needsRedis, mock: false },
  { name: 'ioredis-mock', client: (options = {}) => mockRedis(options), setup: async () => ({ skip: false }), mock: true, now: Date.now }
]

const retentionMs = 100_000
const lifecycle = { pendingTimeoutMs: 30_000, runningTimeoutMs: 60_000, retentionMs }
const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
const unknownId = '00000000-0000-4000-8000-000000000000'

// The store's commands on a client (ioredis adds a `...Buffer` twin of each).
function scriptNames (client: Redis): string[] {
  return Object.keys(client).filter(key => key.startsWith('modelList_') && !key.endsWith('Buffer')).sort()
}

async function scan (client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    keys.push(...found)
  } while (cursor !== '0')
  return keys.sort()
}

for (const target of targets) {
  t.test(target.name, async t => {
    if (!(await ready(t, target.setup))) return
    const clients: Redis[] = []
    const prefixes: string[] = []
    const client = (options?: RedisOptions): Redis => {
      const made = target.client(options)
      clients.push(made)
      return made
    }
    const raw = client()
    const prefix = (name: string): string => {
      const made = uniquePrefix(`${target.name}-${name}`)
      prefixes.push(made)
      return made
    }
    t.teardown(async () => {
      for (const made of prefixes) await deleteKeys(raw, made)
      for (const made of clients) made.disconnect()
    })
    const setup = (name: string): { clock: Clock, store: RedisModelListStore, keyPrefix: string, rt: string, queue: string, record: (id: string) => string } => {
      const clock = new Clock()
      const keyPrefix = prefix(name)
      const rt = `rt-${name}`
      return {
        clock,
        keyPrefix,
        rt,
        store: new RedisModelListStore({ redis: raw, keyPrefix, now: clock.now, ...lifecycle }),
        queue: `${keyPrefix}:{${rt}}:model_list:queue`,
        record: id => `${keyPrefix}:{${rt}}:model_list:req:${id}`
      }
    }

    t.test('every key a change writes expires retentionMs after that change', async t => {
      const { clock, store, rt, queue, record } = setup('ttl')
      const sequence = queue.replace(/queue$/, 'seq')
      const renewed = async (key: string, message: string): Promise<void> => {
        const pttl = await raw.pttl(key)
        t.ok(pttl > retentionMs - 1_000 && pttl <= retentionMs, `${message} (PTTL ${pttl})`)
      }
      const shortened = async (...keys: string[]): Promise<void> => {
        for (const key of keys) t.equal(await raw.pexpire(key, 5_000), 1, `${key} shortened`)
      }
      const untouched = async (key: string, message: string): Promise<void> => {
        const pttl = await raw.pttl(key)
        t.ok(pttl > 0 && pttl <= 5_000, `${message} (PTTL ${pttl})`)
      }

      const first = await store.create(rt)
      await renewed(record(first.id), 'create: the record')
      await renewed(queue, 'create: the queue expires too')

      await shortened(record(first.id), queue)
      const second = await store.create(rt)
      await renewed(queue, 'another create renews the queue')
      await renewed(record(second.id), 'and sets the new record')
      await untouched(record(first.id), 'but leaves a record it did not change')

      await shortened(queue)
      t.equal((await store.create(rt, { coalesce: true })).id, first.id, 'a join')
      await untouched(queue, 'a join changes nothing, so renews nothing')

      await shortened(record(first.id))
      clock.advance(1_000)
      t.equal((await store.popPending(rt))?.id, first.id)
      await renewed(record(first.id), 'claim')
      const queueTtl = await raw.pttl(queue)
      t.ok(queueTtl > 0, `the queue still expires after a claim (PTTL ${queueTtl})`)

      await shortened(record(first.id))
      await store.get(rt, first.id)
      await store.hasPending(rt)
      await untouched(record(first.id), 'reads change nothing, so renew nothing')

      await shortened(record(first.id))
      t.equal((await store.complete(rt, first.id, { models: catalog, supported: true }))?.status, 'completed')
      await renewed(record(first.id), 'report (complete)')

      await shortened(record(first.id))
      await store.fail(rt, first.id, 'late')
      await untouched(record(first.id), 'a late report changes nothing, so renews nothing')

      await shortened(record(second.id))
      clock.advance(30_000)
      t.equal((await store.get(rt, second.id))?.status, 'timeout')
      await renewed(record(second.id), 'stored timeout (met by get)')

      const third = await store.create(rt)
      await renewed(sequence, 'create: the sequence')
      await shortened(record(third.id))
      clock.advance(30_001)
      t.equal(await store.hasPending(rt), false)
      t.equal(await store.popPending(rt), null)
      await untouched(record(third.id), 'a due entry leaves the queue without a change to its record')

      const fourth = await store.create(rt)
      await shortened(record(fourth.id))
      t.equal((await store.fail(rt, fourth.id, 'no models'))?.status, 'failed')
      await renewed(record(fourth.id), 'report (fail)')

      const fifth = await store.create(rt)
      await store.popPending(rt)
      await shortened(record(fifth.id))
      clock.advance(60_001)
      t.equal((await store.complete(rt, fifth.id, { models: catalog, supported: true }))?.status, 'timeout')
      await renewed(record(fifth.id), 'stored running timeout (met by a late report)')

      // The catalog lives as long as it may be served, not as long as a request.
      for (const key of await scan(raw, `${queue.split(':{')[0]}:*`)) {
        const pttl = await raw.pttl(key)
        const lifetime = key.endsWith(':catalog') ? 86_400_000 : retentionMs
        t.ok(pttl > 0 && pttl <= lifetime, `${key} has a TTL (${pttl})`)
      }
    })

    t.test('the queue holds exactly the claimable requests; stale entries leave as they are met', async t => {
      const { clock, store, rt, queue, record } = setup('stale')
      // Members are '<sequence>:<requestId>', in claim order.
      const queued = async (): Promise<string[]> => (await raw.zrange(queue, 0, -1)).map(member => member.slice(member.indexOf(':') + 1))
      const timedOut = await store.create(rt)
      clock.advance(10_000)
      const reported = await store.create(rt)
      const forgotten = await store.create(rt)
      const live = await store.create(rt)
      const behind = await store.create(rt)
      t.equal((await store.fail(rt, reported.id, 'reported while pending'))?.status, 'failed')
      t.same(await queued(), [timedOut.id, forgotten.id, live.id, behind.id], 'a report takes its entry out at once')

      clock.advance(20_001)
      t.equal(await raw.zcard(queue), 4, 'an entry past its deadline stays until met...')
      t.equal(await store.hasPending(rt), true, '...but no longer counts')
      t.equal(await raw.del(record(forgotten.id)), 1, "a record deleted behind the store's back")
      t.equal((await store.popPending(rt))?.id, live.id, 'the claim passes over the due entry and the one without a record')
      t.same(await queued(), [behind.id], 'both left the queue, and so did the claimed one')
      t.equal((await store.get(rt, timedOut.id))?.status, 'timeout', 'the due request reads timeout')

      t.equal((await store.fail(rt, behind.id, 'gone'))?.status, 'failed')
      t.equal(await store.hasPending(rt), false, 'nothing claimable')
      t.equal(await raw.zcard(queue), 0, 'and nothing queued')

      const alone = await store.create(rt)
      t.equal(await store.hasPending(rt), true)
      clock.advance(30_001)
      t.equal(await store.hasPending(rt), false, 'exact the moment its deadline passes, with nothing run in Redis')
      const fresh = await store.create(rt, { coalesce: true })
      t.not(fresh.id, alone.id, 'coalescing skips a due entry')
      t.same(await queued(), [fresh.id], 'and cleans it')
      await store.fail(rt, fresh.id, 'x')
      t.equal(await store.popPending(rt), null, 'popPending over an empty queue answers null')
    })

    t.test('a claim handed back leaves the running set and rejoins the queue', async t => {
      const { store, rt, queue } = setup('hand-back')
      const running = queue.replace(/queue$/, 'running')
      const created = await store.create(rt)
      const claim = await store.popPending(rt)
      t.same(await raw.zrange(running, 0, -1), [created.id])
      t.equal(await store.handBack(rt, claim!), true)
      t.same(await raw.zrange(running, 0, -1), [], 'no longer counted as running')
      t.equal(await raw.zcard(queue), 1, 'queued again')
    })

    t.test('the catalog keeps the creation order of its request; a sequence that lapsed starts past it', async t => {
      const { store, rt, queue } = setup('lapsed')
      const sequence = queue.replace(/queue$/, 'seq')
      const catalogKey = queue.replace(/queue$/, 'catalog')
      const [first, second] = [await store.create(rt), await store.create(rt)]
      await store.popPending(rt)
      await store.popPending(rt)
      await store.complete(rt, second.id, { models: catalog, supported: true })
      t.equal(await raw.hget(catalogKey, 'o'), '000000000000002', 'the catalog came from the second request')
      await store.fail(rt, first.id, 'slow')
      t.equal(await raw.del(sequence), 1, 'the sequence lapses (nothing queued for its lifetime)')
      const third = await store.create(rt)
      t.match(await raw.zrange(queue, 0, -1), ['000000000000003:' + third.id], 'the next request is numbered past the catalog\'s order')
      await store.popPending(rt)
      await store.complete(rt, third.id, { models: catalog.slice(0, 1), supported: true })
      t.equal(await raw.hget(catalogKey, 'o'), '000000000000003', 'and its report renews the catalog')
      const dropped = await store.create(rt)
      await store.popPending(rt)
      await store.complete(rt, dropped.id, { models: [], supported: true })
      t.same(await raw.hgetall(catalogKey), { o: '000000000000004' }, 'a drop keeps the order alone')
    })

    t.test('the sequence outlives every request it numbered that can still be reported', async t => {
      const keyPrefix = prefix('sequence-life')
      const store = new RedisModelListStore({ redis: raw, keyPrefix, now: Date.now, pendingTimeoutMs: 30_000, runningTimeoutMs: 60_000, retentionMs: 61_000 })
      await store.create('rt-life')
      const pttl = await raw.pttl(`${keyPrefix}:{rt-life}:model_list:seq`)
      t.ok(pttl > 89_000 && pttl <= 90_000, `pending plus running timeouts, past retentionMs (PTTL ${pttl})`)
    })

    t.test('keys use the hash tag layout <prefix>:{<runtimeId>}:model_list:...', async t => {
      const { store, keyPrefix } = setup('layout')
      const expected: string[] = []
      for (const rt of ['rt-a', 'rt-b']) {
        const claimed = await store.create(rt)
        const queued = await store.create(rt)
        await store.popPending(rt)
        await store.complete(rt, claimed.id, { models: catalog, supported: true })
        t.equal((await store.popPending(rt))?.id, queued.id)
        const waiting = await store.create(rt)
        const kind = `${keyPrefix}:{${rt}}:model_list`
        expected.push(`${kind}:queue`, `${kind}:seq`, `${kind}:req:${claimed.id}`, `${kind}:req:${queued.id}`,
          `${kind}:req:${waiting.id}`, `${kind}:running`, `${kind}:catalog`)
      }
      const keys = await scan(raw, `${keyPrefix}*`)
      t.same(keys, expected.sort(), 'exactly these keys')
      const layout = new RegExp(`^${keyPrefix}:\\{rt-[ab]\\}:model_list:(queue|seq|running|catalog|req:${uuid})$`)
      for (const key of keys) t.match(key, layout, key)
    })

    // Regression: ioredis-mock applies its keyPrefix to the keys a script builds,
    // where Redis does not, so a client prefix added on our side doubled there.
    t.test("regression: a client with ioredis's own keyPrefix (doubled on ioredis-mock)", async t => {
      const outer = prefix('client-prefix')
      const prefixed = client({ keyPrefix: `${outer}:` })
      const clock = new Clock()
      const store = new RedisModelListStore({ redis: prefixed, keyPrefix: 'model-list', now: clock.now, ...lifecycle })
      const rt = `rt-client-prefix-${process.pid}`

      const first = await store.create(rt, { coalesce: true })
      t.equal((await store.create(rt, { coalesce: true })).id, first.id, 'coalescing joins')
      t.equal(await store.hasPending(rt), true, 'hasPending')
      clock.advance(1_000)
      t.equal((await store.popPending(rt))?.id, first.id, 'the claim')
      t.equal(await store.hasPending(rt), false, 'nothing left')
      const second = await store.create(rt, { coalesce: true })
      t.not(second.id, first.id, 'a running request is not joined')
      t.match(await store.complete(rt, first.id, { models: catalog, supported: true }), { status: 'completed', models: catalog }, 'the report')
      t.match(await store.get(rt, first.id), { status: 'completed', models: catalog }, 'the poll')
      t.equal((await store.popPending(rt))?.id, second.id, 'the next claim')

      const keys = await scan(raw, `*{${rt}}*`)
      t.ok(keys.length > 0, 'keys written')
      for (const key of keys) t.match(key, new RegExp(`^${outer}:model-list:\\{${rt}\\}:model_list:(queue|seq|running|catalog|req:${uuid})$`), `${key}: the client's prefix once, then the store's`)
    })

    t.test('two stores on one client: scripts defined once, no clash', async t => {
      const shared = client()
      t.same(scriptNames(shared), [], 'a fresh client has none')
      const clock = new Clock()
      const [p1, p2] = [prefix('two-stores-1'), prefix('two-stores-2')]
      const one = new RedisModelListStore({ redis: shared, keyPrefix: p1, now: clock.now })
      const names = scriptNames(shared)
      t.equal(names.length, scriptFiles, 'one command per script')
      const functions = names.map(name => (shared as unknown as Record<string, unknown>)[name])
      const two = new RedisModelListStore({ redis: shared, keyPrefix: p2, now: clock.now })
      const replica = new RedisModelListStore({ redis: shared, keyPrefix: p1, now: clock.now })
      t.same(scriptNames(shared), names, 'the second and third store define nothing new')
      t.ok(names.every((name, i) => (shared as unknown as Record<string, unknown>)[name] === functions[i]), 'and replace nothing')

      const rt = 'rt-two-stores'
      const [a, b] = await Promise.all([one.create(rt), two.create(rt)])
      t.not(a.id, b.id)
      t.equal(await two.get(rt, a.id), null, 'another prefix does not see it')
      t.equal((await replica.get(rt, a.id))?.id, a.id, 'the same prefix does')
      t.equal((await two.popPending(rt))?.id, b.id, 'each claims its own')
      t.equal(await two.popPending(rt), null)
      t.equal((await replica.popPending(rt))?.id, a.id)
      t.equal(await one.hasPending(rt), false)
    })

    t.test('two plugin registrations on one client', async t => {
      const shared = client()
      const [p1, p2] = [prefix('two-plugins-1'), prefix('two-plugins-2')]
      const app = await hostApp(async app => {
        for (const [path, keyPrefix] of [['/one', p1], ['/two', p2]]) {
          await app.register(async child => {
            await child.register(fastifyModelList, { redis: shared, keyPrefix, now: target.now, ...hooks })
            child.post<{ Params: { rt: string } }>('/heartbeat/:rt', async request => ({ pending: await child.claimPendingModelList(request.params.rt) }))
          }, { prefix: path })
        }
      })
      t.teardown(() => app.close())
      t.equal(scriptNames(shared).length, scriptFiles, 'scripts defined once')

      const rt = 'rt-two-plugins'
      const one = await app.inject({ method: 'POST', url: `/one/runtimes/${rt}/models` })
      const two = await app.inject({ method: 'POST', url: `/two/runtimes/${rt}/models` })
      t.equal(one.statusCode, 200)
      t.equal(two.statusCode, 200)
      t.not(one.json().id, two.json().id, 'no join across registrations')
      t.equal((await app.inject({ method: 'GET', url: `/one/runtimes/${rt}/models/${two.json().id as string}` })).statusCode, 404, 'nor a shared record')
      t.same((await app.inject({ method: 'POST', url: `/two/heartbeat/${rt}` })).json(), { pending: { id: two.json().id } }, 'each heartbeat claims its own')
      t.same((await app.inject({ method: 'POST', url: `/one/heartbeat/${rt}` })).json(), { pending: { id: one.json().id } })
      await app.close()
      t.equal(await shared.ping(), 'PONG', 'closing both leaves the client working')
    })

    t.test('constructor errors', async t => {
      const shared = client()
      const invalid = { code: 'FST_MODEL_LIST_INVALID_OPTION' }
      const make = (options: unknown) => () => new RedisModelListStore(options as ConstructorParameters<typeof RedisModelListStore>[0])
      t.throws(make(undefined), { ...invalid, message: /redis/ }, 'no options')
      t.throws(make({}), { ...invalid, message: /redis/ }, 'missing redis')
      t.throws(make({ redis: {} }), { ...invalid, message: /redis/ }, 'not a client')
      for (const keyPrefix of ['a{b', 'a}b', '{tag}', '', 42]) {
        t.throws(make({ redis: shared, keyPrefix }), { ...invalid, message: /keyPrefix/ }, `keyPrefix ${JSON.stringify(keyPrefix)}`)
      }
      t.same(scriptNames(shared), [], 'a refused store defines nothing on the client')
      t.throws(make({ redis: shared, retentionMs: 10_000 }), invalid, 'the lifecycle checks apply too')
      await t.rejects(hostApp(async app => {
        await app.register(fastifyModelList, { redis: shared, keyPrefix: 'a{b}', ...hooks })
      }), { ...invalid, message: /keyPrefix/ }, 'and register fails at start-up naming keyPrefix')
    })

    t.test("close() leaves the host's client connected", async t => {
      const own = client()
      await own.ping()
      const store = new RedisModelListStore({ redis: own, keyPrefix: prefix('close'), now: target.now })
      await store.create('rt-close')
      await store.close()
      if (!target.mock) t.equal(own.status, 'ready', 'still ready')
      t.equal(await own.ping(), 'PONG', 'and answering')
      t.equal(await store.hasPending('rt-close'), true, 'the store itself still works on it')
    })
  })
}

t.test('Redis down', async t => {
  const clients: Redis[] = []
  const apps: FastifyInstance[] = []
  t.teardown(async () => {
    for (const app of apps) await app.close()
    for (const client of clients) client.disconnect()
  })
  // Nothing listens on port 1 (binding it needs root, and no service uses it).
  const down = { host: '127.0.0.1', port: 1 }
  const deadClient = (options: RedisOptions): Redis => {
    const client = new Redis({ ...down, ...options })
    client.on('error', () => {})
    clients.push(client)
    return client
  }

  t.test('store methods reject on a client that fails fast', async t => {
    const store = new RedisModelListStore({ redis: deadClient({ maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null }) })
    const started = Date.now()
    await t.rejects(store.create('rt-down'), 'create')
    await t.rejects(store.create('rt-down', { coalesce: true }), 'create (coalesce)')
    await t.rejects(store.get('rt-down', unknownId), 'get')
    await t.rejects(store.hasPending('rt-down'), 'hasPending')
    await t.rejects(store.popPending('rt-down'), 'popPending')
    await t.rejects(store.complete('rt-down', unknownId, { models: [], supported: true }), 'complete')
    await t.rejects(store.fail('rt-down', unknownId, 'x'), 'fail')
    t.ok(Date.now() - started < 5_000, 'at once')
  })

  const storeTimeoutMs = 500
  const heartbeatProbeTimeoutMs = 300
  const clientKinds: Array<[string, RedisOptions]> = [
    ['default retry settings (retries forever, offline queue)', {}],
    ['a client that fails fast', { maxRetriesPerRequest: 0, enableOfflineQueue: false }]
  ]
  for (const [kind, options] of clientKinds) {
    t.test(`through the plugin, ${kind}: 503 within storeTimeoutMs + 1 s, heartbeat null`, async t => {
      const logs: string[] = []
      const stream = new Writable({ write (chunk: Buffer, _encoding, done) { logs.push(chunk.toString()); done() } })
      const client = deadClient(options)
      const app = await hostApp(async app => {
        await app.register(fastifyModelList, { redis: client, storeTimeoutMs, heartbeatProbeTimeoutMs, prefix: '/api', ...hooks })
      }, { logger: { level: 'error', stream } })
      apps.push(app)
      const rt = 'rt-down'
      const bodies: string[] = []
      const timed = async (what: string, request: InjectOptions): Promise<void> => {
        const started = Date.now()
        const response = await app.inject(request)
        const elapsed = Date.now() - started
        bodies.push(response.body)
        t.equal(response.statusCode, 503, `${what}: 503`)
        t.equal(response.headers['retry-after'], '1', `${what}: Retry-After: 1`)
        t.same(response.json(), { statusCode: 503, code: 'FST_MODEL_LIST_STORE_UNAVAILABLE', error: 'Service Unavailable', message: 'model list store unavailable' }, `${what}: the store-unavailable error, nothing more`)
        t.notMatch(response.body, /127\.0\.0\.1|ECONNREFUSED|ioredis|enableOfflineQueue|writeable|took longer|redis/i, `${what}: no Redis error text or address`)
        t.ok(elapsed < storeTimeoutMs + 1_000, `${what}: answered in ${elapsed} ms`)
      }
      await Promise.all([
        timed('POST', routes.create(rt)),
        timed('GET', routes.get(rt, unknownId)),
        timed('report', routes.report(rt, unknownId, { status: 'completed', models: catalog, supported: true })),
        timed('failure report', routes.report(rt, unknownId, { status: 'failed', error: 'x' }))
      ])
      const started = Date.now()
      t.equal(await app.claimPendingModelList(rt), null, 'claimPendingModelList answers null')
      const elapsed = Date.now() - started
      t.ok(elapsed < heartbeatProbeTimeoutMs + 1_000, `heartbeat answered in ${elapsed} ms`)
      // The cause goes to the log, and only there: one line per failed route,
      // Fastify's, whose error carries the store's as its cause.
      const prefix = 'model list store unavailable: '
      const causes = logs.map(line => JSON.parse(line) as { msg: string, err?: { code?: string, message: string } })
        .filter(entry => entry.err?.code === 'FST_MODEL_LIST_STORE_UNAVAILABLE')
        .map(entry => (entry.err?.message as string).slice(prefix.length))
      t.equal(causes.length, 4, 'each failed route logged its cause, once')
      t.ok(causes.every(cause => typeof cause === 'string' && cause.length > 0), `causes: ${[...new Set(causes)].join(' | ')}`)
      for (const cause of new Set(causes)) t.notOk(bodies.some(body => body.includes(cause)), `no body carries "${cause}"`)
    })
  }
})
