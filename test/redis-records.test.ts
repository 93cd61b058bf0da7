import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import t from 'tap'
import { mockRedis } from './helpers/redis-mock'
import type Redis from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import fastifyModelList from '../lib/index'
import { RedisModelListStore, type RedisWorkStore } from '../lib/store/redis'
import { hooks, hostApp, routes } from './helpers/apps'
import { catalog } from './helpers/contract'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// Records that cannot wedge a runtime: a record hash missing a field, or
// malformed, is removed by the script that meets it and logged once; records
// carry their layout version.

// ioredis-mock's TIME has noise for milliseconds: stores on it take this process's clock.
const clients: Array<{ name: string, make: () => Redis, setup: () => Promise<{ skip: string | false }>, now?: () => number }> = [
  { name: 'ioredis-mock', make: () => mockRedis(), setup: async () => ({ skip: false }), now: Date.now },
  { name: 'redis', make: connect, setup: needsRedis }
]

type Corrupt = (redis: Redis, key: string) => Promise<unknown>

// How each case breaks a record of the given status.
const cases: Array<{ name: string, status: 'pending' | 'running' | 'completed' | 'failed', corrupt: Corrupt, typed?: true }> = [
  { name: 'pending without its deadline', status: 'pending', corrupt: async (redis, key) => await redis.hdel(key, 'd') },
  { name: 'pending without its creation time', status: 'pending', corrupt: async (redis, key) => await redis.hdel(key, 'c') },
  { name: 'pending without its status', status: 'pending', corrupt: async (redis, key) => await redis.hdel(key, 's') },
  { name: 'pending without its queue member', status: 'pending', corrupt: async (redis, key) => await redis.hdel(key, 'm') },
  { name: 'pending with a deadline that is not a number', status: 'pending', corrupt: async (redis, key) => await redis.hset(key, 'd', 'soon') },
  // ioredis-mock reads a string as an empty hash: only Redis has a type to refuse.
  { name: 'pending replaced by a key of another type', status: 'pending', corrupt: async (redis, key) => { await redis.del(key); await redis.set(key, 'x') }, typed: true },
  { name: 'running without its update time', status: 'running', corrupt: async (redis, key) => await redis.hdel(key, 'u') },
  { name: 'running with an unknown status', status: 'running', corrupt: async (redis, key) => await redis.hset(key, 's', 'paused') },
  { name: 'completed without its result', status: 'completed', corrupt: async (redis, key) => await redis.hdel(key, 'r') },
  { name: 'failed without its error', status: 'failed', corrupt: async (redis, key) => await redis.hdel(key, 'e') }
]

function capturingLog (): { log: FastifyBaseLogger, removed: string[][] } {
  const removed: string[][] = []
  const log = { warn: (fields: { keys: string[] }) => { removed.push(fields.keys) } } as unknown as FastifyBaseLogger
  return { log, removed }
}

for (const client of clients) {
  t.test(`unreadable records: ${client.name}`, async t => {
    if (!(await ready(t, client.setup))) return
    const redis = client.make()
    const keyPrefix = uniquePrefix('records')
    t.teardown(async () => {
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    })
    const recordKey = (rt: string, id: string): string => `${keyPrefix}:{${rt}}:model_list:req:${id}`

    t.test('regression: a record hash missing a field failed every script ("attempt to compare nil with number") and wedged its runtime', async t => {
      for (const { name, status, corrupt, typed } of cases) {
        if (typed === true && client.name === 'ioredis-mock') continue
        const store = new RedisModelListStore({ redis, keyPrefix, now: client.now })
        const workStore = store.workStore as RedisWorkStore
        const { log, removed } = capturingLog()
        workStore.useLog(log)
        const rt = `rt-${randomUUID()}`
        const broken = await store.create(rt)
        if (status !== 'pending') await store.popPending(rt)
        if (status === 'completed') await store.complete(rt, broken.id, { models: catalog, supported: true })
        if (status === 'failed') await store.fail(rt, broken.id, 'no models')
        const next = await store.create(rt)
        await corrupt(redis, recordKey(rt, broken.id))

        if (status === 'pending') {
          t.equal(await store.hasPending(rt), true, `${name}: the runtime still has work`)
          t.equal((await store.popPending(rt))?.id, next.id, `${name}: the heartbeat claims the next request`)
          t.same(removed, [[recordKey(rt, broken.id)]], `${name}: the broken one was removed, and logged`)
        } else {
          t.equal(await store.get(rt, broken.id), null, `${name}: read as gone`)
          t.same(removed, [[recordKey(rt, broken.id)]], `${name}: removed, and logged`)
          t.equal((await store.popPending(rt))?.id, next.id, `${name}: the heartbeat claims as before`)
        }
        t.equal(await store.get(rt, broken.id), null, `${name}: gone for good`)
        t.equal(await store.complete(rt, broken.id, { models: [], supported: true }), null, `${name}: a report finds nothing`)
        t.equal(removed.length, 1, `${name}: logged once`)
        t.equal(await redis.exists(recordKey(rt, broken.id)), 0, `${name}: its key is deleted`)
        t.equal((await store.get(rt, next.id))?.status, 'running')
      }
    })

    t.test('a queue entry that names no request is dropped, not followed', async t => {
      const store = new RedisModelListStore({ redis, keyPrefix, now: client.now })
      const rt = `rt-${randomUUID()}`
      const queue = `${keyPrefix}:{${rt}}:model_list:queue`
      // Ahead of the request in the queue: its deadline comes first.
      await redis.zadd(queue, Date.now() + 10_000, 'no-colon-here')
      const created = await store.create(rt)
      t.equal((await store.popPending(rt))?.id, created.id)
      t.same(await redis.zrange(queue, 0, -1), [])
    })

    t.test('through the plugin: GET and report answer 404, not 503, and the removal is logged with the key', async t => {
      const lines: Array<{ msg: string, keys?: string[] }> = []
      const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
      const app = await hostApp(async app => {
        await app.register(fastifyModelList, { redis, keyPrefix, now: client.now, prefix: '/api', ...hooks })
      }, { logger: { level: 'warn', stream } })
      t.teardown(() => app.close())
      const rt = `rt-${randomUUID()}`
      const { id } = (await app.inject(routes.create(rt))).json<{ id: string }>()
      await redis.hdel(recordKey(rt, id), 'd')
      t.equal((await app.inject(routes.get(rt, id))).statusCode, 404)
      t.equal((await app.inject(routes.report(rt, id, { status: 'failed', error: 'x' }))).statusCode, 404)
      t.equal((await app.inject(routes.create(rt))).statusCode, 200, 'a POST for the runtime works')
      t.ok((await app.inject(routes.heartbeat(rt))).json().pending_model_list, 'and its heartbeat claims it')
      const removals = lines.filter(line => line.msg.includes('removed unreadable records'))
      t.same(removals.map(line => line.keys), [[recordKey(rt, id)]], 'one warning, naming the key')
    })

    t.test('a store outside the plugin warns through the process', async t => {
      const store = new RedisModelListStore({ redis, keyPrefix, now: client.now })
      const rt = `rt-${randomUUID()}`
      const created = await store.create(rt)
      await redis.hdel(recordKey(rt, created.id), 'u')
      // Caught where it is emitted: Node would print it in the middle of the test output.
      const emitted: unknown[][] = []
      const emitWarning = process.emitWarning
      process.emitWarning = ((...args: unknown[]) => { emitted.push(args) }) as typeof process.emitWarning
      t.teardown(() => { process.emitWarning = emitWarning })
      t.equal(await store.get(rt, created.id), null)
      t.equal(emitted.length, 1, 'one warning')
      t.equal(emitted[0]?.[1], 'FastifyModelListWarning')
      t.match(emitted[0]?.[0], recordKey(rt, created.id))
    })

    t.test('records carry their layout version', async t => {
      const store = new RedisModelListStore({ redis, keyPrefix, now: client.now })
      const rt = `rt-${randomUUID()}`
      const created = await store.create(rt)
      t.equal(await redis.hget(recordKey(rt, created.id), 'v'), '1')
    })
  })
}
