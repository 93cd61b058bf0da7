import { randomUUID } from 'node:crypto'
import { mock } from 'node:test'
import t, { type Test } from 'tap'
import Redis, { type Cluster } from 'ioredis'
import { mockRedis } from './helpers/redis-mock'
import type { FastifyBaseLogger } from 'fastify'
import { WorkRules, modelListKind } from '../lib/rules'
import type { WorkStore } from '../lib/store/contract'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { RedisWorkStore } from '../lib/store/redis/work-store'
import { catalogKey, kindKeys } from '../lib/store/redis/keys'
import { clusterPortsAt, needsCluster, startCluster } from './helpers/cluster'
import { countCommands } from './helpers/count-commands'
import { freePort } from './helpers/redis-server'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// The built-in work stores as the plugin calls them (lib/store/contract.ts),
// beyond the exported contract suite (test/contract.test.ts): the key layout,
// the clock source, the subscriber's log, the memory store's sweep by each
// kind's retention.

const mockClient = (): Redis => mockRedis()

t.test('Redis Cluster (3 masters)', async t => {
  if (!(await ready(t, needsCluster))) return
  // Ports of its own: another file's cluster may be up at the same time.
  const cluster = await startCluster(clusterPortsAt(10))
  const clients: Cluster[] = []
  const keyPrefix = uniquePrefix('work-stores-cluster')
  t.teardown(async () => {
    await cluster.deleteKeys(keyPrefix)
    for (const client of clients) client.disconnect()
    await cluster.stop()
  })
  const client = (): Cluster => {
    const made = cluster.connect()
    clients.push(made)
    return made
  }
  t.test('every key of a runtime, of every kind, is in one slot', async t => {
    const redis = client()
    const store = new RedisWorkStore({ redis, keyPrefix, now: Date.now })
    t.teardown(() => store.close())
    const rt = `rt-${randomUUID()}`
    const keys = await fillRuntime(store, rt)
    const written = await Promise.all(keys.map(async key => await redis.exists(key)))
    t.same(written, keys.map(() => 1), 'the keys are there (no script was refused as CROSSSLOT)')
    const slots = new Set(await Promise.all(keys.map(async key => await redis.cluster('KEYSLOT', key))))
    t.equal(slots.size, 1)
  })
})

// Two kinds on one runtime: the model list (with its catalog) and another.
const modelList = new WorkRules({}, modelListKind)
const skills = new WorkRules({}, 'skill_import')
const open = { coalesce: false, exclusive: false, useCache: false }

/** Leaves every kind of key a runtime can have; answers them. */
async function fillRuntime (store: WorkStore, rt: string): Promise<string[]> {
  const keyPrefix = (store as unknown as { keyPrefix: string }).keyPrefix
  const keys: string[] = [catalogKey(keyPrefix, rt)]
  for (const rules of [modelList, skills]) {
    const done = await store.open(rules, rt, open) as { record: { id: string } }
    const waiting = await store.open(rules, rt, { ...open, params: '{"a":1}' }) as { record: { id: string } }
    await store.claim(rules, rt, 1)
    await store.settle(rules, rt, done.record.id, { status: 'completed', result: '{"models":[]}' }, rules === modelList ? 'store' : 'keep')
    // Claimed and not reported: it stays in the running set.
    const running = await store.open(rules, rt, open) as { record: { id: string } }
    await store.claim(rules, rt, 2)
    // The queue emptied on the claim: one more pending keeps it.
    const pending = await store.open(rules, rt, open) as { record: { id: string } }
    const kind = kindKeys(keyPrefix, rt, rules.kind)
    keys.push(kind.queue, kind.seq, kind.running, ...[done, waiting, running, pending].map(opened => kind.records + opened.record.id))
  }
  return keys
}

for (const target of [
  { name: 'ioredis-mock', make: mockClient, setup: async () => ({ skip: false as const }) },
  { name: 'redis', make: connect, setup: needsRedis }
]) {
  t.test(`key layout: ${target.name}`, async t => {
    if (!(await ready(t, target.setup))) return
    const redis = target.make()
    const keyPrefix = uniquePrefix('layout')
    const store = new RedisWorkStore({ redis, keyPrefix, now: Date.now })
    t.teardown(async () => {
      await store.close()
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    })
    const rt = `rt-${randomUUID()}`
    const keys = await fillRuntime(store, rt)
    t.same((await redis.keys(`${keyPrefix}:*`)).sort(), [...keys].sort(), 'these keys and no other')
    const base = `${keyPrefix}:{${rt}}`
    for (const kind of [modelListKind, 'skill_import']) {
      t.same(keys.filter(key => key.startsWith(`${base}:${kind}:`)).map(key => key.slice(base.length + kind.length + 2).replace(/^req:.*/, 'req:<id>')).sort(),
        ['queue', 'seq', 'running', 'req:<id>', 'req:<id>', 'req:<id>', 'req:<id>', ...(kind === modelListKind ? ['catalog'] : [])].sort(), `${kind}: every key under its kind segment`)
    }
    t.ok(keys.every(key => key.startsWith(`${base}:`) && key.indexOf('{') === base.indexOf('{')), 'one hash tag, the runtime\'s, leads every key: one slot')
    t.equal(await redis.hget(keys.find(key => key.includes(':req:')) as string, 'v'), '1', 'records carry the layout version')
  })
}

// The host's clock, moved by hand: a replica whose clock runs ahead.
function skewHostClock (t: Test, offsetMs: number): void {
  mock.timers.enable({ apis: ['Date'], now: Date.now() + offsetMs })
  t.teardown(() => mock.timers.reset())
}

async function serverTime (redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time()
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}

t.test('the clock is explicit', async t => {
  t.test('without `now`, the Redis store stamps by the server\'s TIME, and its now() follows the server', async t => {
    if (!(await ready(t, needsRedis))) return
    const redis = connect()
    const keyPrefix = uniquePrefix('clock')
    t.teardown(async () => {
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    })
    const store = new RedisWorkStore({ redis, keyPrefix })
    skewHostClock(t, 5 * 60_000)
    const rt = `rt-${randomUUID()}`
    const before = await serverTime(redis)
    const opened = await store.open(skills, rt, open) as { record: { id: string, createdAt: number, deadline: number } }
    const after = await serverTime(redis)
    const { createdAt } = opened.record
    t.ok(createdAt >= before && createdAt <= after, `created at ${createdAt}, between ${before} and ${after} on the server's clock, not the host's 5 minutes ahead`)
    t.equal(opened.record.deadline, createdAt + skills.pendingTimeoutMs)
    await store.get(skills, rt, opened.record.id)
    t.ok(Math.abs(store.now() - await serverTime(redis)) < 1_000, 'now() is the server\'s clock as last read')
    await store.close()
  })

  for (const target of [
    { name: 'ioredis-mock', make: mockClient, setup: async () => ({ skip: false as const }) },
    { name: 'redis', make: connect, setup: needsRedis }
  ]) {
    t.test(`with \`now\`, every stamp is by it: ${target.name}`, async t => {
      if (!(await ready(t, target.setup))) return
      const redis = target.make()
      const keyPrefix = uniquePrefix('clock')
      t.teardown(async () => {
        await deleteKeys(redis, keyPrefix)
        redis.disconnect()
      })
      let clock = Date.UTC(2020, 0, 1)
      const store = new RedisWorkStore({ redis, keyPrefix, now: () => clock })
      const rt = `rt-${randomUUID()}`
      const opened = await store.open(skills, rt, open) as { record: { id: string, createdAt: number } }
      t.equal(opened.record.createdAt, clock)
      clock += 1_234
      const [claimed] = await store.claim(skills, rt, 1)
      t.equal(claimed.updatedAt, clock)
      t.equal(store.now(), clock)
      await store.close()
    })
  }

  t.test('the memory store\'s clock is `now`, or Date.now', async t => {
    const store = new MemoryWorkStore({ now: () => 42 })
    t.equal(store.now(), 42)
    const plain = new MemoryWorkStore()
    t.ok(Math.abs(plain.now() - Date.now()) < 1_000)
    await Promise.all([store.close(), plain.close()])
  })

  t.test('a `now` that is not a function is refused', async t => {
    t.throws(() => new MemoryWorkStore({ now: 42 as unknown as () => number }), { code: 'FST_MODEL_LIST_INVALID_OPTION' })
    t.throws(() => new RedisWorkStore({ redis: mockClient(), now: 'soon' as unknown as () => number }), { code: 'FST_MODEL_LIST_INVALID_OPTION' })
  })
})

t.test('the subscriber\'s connection errors are logged at debug through useLog', async t => {
  // Nothing listens on the port: every connection attempt fails.
  const redis = new Redis({ host: '127.0.0.1', port: await freePort(), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on('error', () => {})
  t.teardown(() => { redis.disconnect() })
  const store = new RedisWorkStore({ redis, keyPrefix: uniquePrefix('subscriber'), now: Date.now })
  const debug: Array<{ fields: { err?: Error }, message: string }> = []
  store.useLog({ debug: (fields: { err?: Error }, message: string) => { debug.push({ fields, message }) }, warn () {} } as unknown as FastifyBaseLogger)
  await t.rejects(store.listening(), 'listening fails while Redis is down')
  t.ok(debug.length > 0, 'and the connection\'s error was logged')
  t.ok(debug.every(line => line.fields.err instanceof Error && /subscriber/.test(line.message)), 'with the error, naming the subscriber')
  await store.close()
})

t.test('signals', async t => {
  t.test('memory: watchSettled resolves at once and wakes on the settle; onQueued hears every open', async t => {
    const store = new MemoryWorkStore()
    t.teardown(() => store.close())
    const rt = `rt-${randomUUID()}`
    const queued: string[] = []
    const stop = store.onQueued((runtimeId, kind) => queued.push(`${runtimeId} ${kind}`))
    await store.listening()
    const opened = await store.open(skills, rt, open) as { record: { id: string } }
    t.same(queued, [`${rt} skill_import`])
    let woken = 0
    const unwatch = await store.watchSettled(rt, opened.record.id, () => woken++)
    t.same(store.probeNow(rt, ['skill_import', modelListKind]), [true, false], 'probeNow answers at once')
    await store.settle(skills, rt, opened.record.id, { status: 'completed', result: '{}' }, 'keep')
    t.equal(woken, 1)
    unwatch()
    stop()
    await store.open(skills, rt, open)
    t.equal(queued.length, 1, 'stopped')
  })

  t.test('redis: one replica\'s settle wakes another\'s watch; its open reaches the other\'s onQueued', async t => {
    if (!(await ready(t, needsRedis))) return
    const [a, b] = [connect(), connect()]
    const keyPrefix = uniquePrefix('signals')
    const [here, there] = [new RedisWorkStore({ redis: a, keyPrefix }), new RedisWorkStore({ redis: b, keyPrefix })]
    t.teardown(async () => {
      await Promise.all([here.close(), there.close()])
      await deleteKeys(a, keyPrefix)
      a.disconnect()
      b.disconnect()
    })
    const rt = `rt-${randomUUID()}`
    const heard = new Promise<string>(resolve => here.onQueued((runtimeId, kind) => resolve(`${runtimeId} ${kind}`)))
    await here.listening()
    const opened = await there.open(skills, rt, open) as { record: { id: string } }
    t.equal(await heard, `${rt} skill_import`)
    const woken = new Promise<void>(resolve => { void here.watchSettled(rt, opened.record.id, () => { resolve() }) })
    await here.listening()
    await there.settle(skills, rt, opened.record.id, { status: 'failed', error: 'no' }, 'keep')
    await woken
    t.pass('woken')
  })
})

t.test('redis: mayHavePending is one ZCARD for one kind, the probe for several; every operation one round trip', async t => {
  if (!(await ready(t, needsRedis))) return
  const redis = connect()
  const keyPrefix = uniquePrefix('round-trips')
  const store = new RedisWorkStore({ redis, keyPrefix, now: Date.now })
  t.teardown(async () => {
    await store.close()
    await deleteKeys(redis, keyPrefix)
    redis.disconnect()
  })
  const rt = `rt-${randomUUID()}`
  // Each script sent once, so none is counted with its NOSCRIPT retry.
  await fillRuntime(store, rt)
  const warm = await store.claim(skills, rt, 1)
  await store.handBack(skills, rt, warm[0].id, warm[0].updatedAt)
  await store.get(skills, rt, warm[0].id)
  await store.probe(rt, [skills.kind, modelListKind])
  const sent = countCommands(redis as unknown as { sendCommand: (...args: any[]) => unknown })
  const before = { n: sent() }
  const oneTrip = async (what: string, call: () => Promise<unknown>): Promise<unknown> => {
    const answer = await call()
    t.equal(sent() - before.n, 1, `${what}: one round trip`)
    before.n = sent()
    return answer
  }
  t.same(await oneTrip('mayHavePending, one kind', async () => await store.mayHavePending(rt, [skills.kind])), [true])
  t.same(await oneTrip('mayHavePending, two kinds', async () => await store.mayHavePending(rt, [skills.kind, 'none_here'])), [true, false])
  const opened = await oneTrip('open', async () => await store.open(skills, rt, open)) as { record: { id: string } }
  await oneTrip('get', async () => await store.get(skills, rt, opened.record.id))
  const claimed = await oneTrip('claim', async () => await store.claim(skills, rt, 5)) as Array<{ id: string, updatedAt: number }>
  await oneTrip('handBack', async () => await store.handBack(skills, rt, claimed[0].id, claimed[0].updatedAt))
  await oneTrip('settle', async () => await store.settle(skills, rt, opened.record.id, { status: 'completed', result: '{}' }, 'keep'))
  await oneTrip('probe', async () => await store.probe(rt, [skills.kind, modelListKind]))
})

t.test('memory: the sweep forgets each kind by its own retention, with no traffic, a slice at a time', async t => {
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => mock.timers.reset())
  let clock = Date.UTC(2026, 0, 1)
  const store = new MemoryWorkStore({ now: () => clock })
  t.teardown(() => store.close())
  const short = new WorkRules({ pendingTimeoutMs: 1_000, runningTimeoutMs: 1_000, retentionMs: 2_000 }, 'short_lived')
  const long = new WorkRules({ pendingTimeoutMs: 1_000, runningTimeoutMs: 1_000, retentionMs: 600_000 }, 'long_lived')
  const stored = (kind: string): number => (store as unknown as { byKind: Map<string, { records: Map<string, unknown> }> }).byKind.get(kind)?.records.size ?? 0
  const rt = `rt-${randomUUID()}`

  await store.open(long, rt, open)
  clock += 600_000
  mock.timers.tick(9_999)
  t.equal(stored('long_lived'), 1, 'the beat is 10 s while the kinds seen keep records longer')
  mock.timers.tick(1)
  t.equal(stored('long_lived'), 0, 'forgotten by the timer, no request needed')

  for (let i = 0; i < 2_500; i++) await store.open(short, rt, open)
  await store.open(long, rt, open)
  clock += 2_000
  mock.timers.tick(2_000)
  t.equal(stored('short_lived'), 1_500, 'the beat shortened to the shortest retention; one slice of 1,000 forgotten')
  t.equal(stored('long_lived'), 1, 'the other kind keeps its records for its own retention')
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(stored('short_lived'), 0, 'the next slices follow on the next turns of the event loop')

  for (let i = 0; i < 2_500; i++) await store.open(short, rt, open)
  clock += 2_000
  mock.timers.tick(2_000)
  t.equal(stored('short_lived'), 1_500)
  await store.close()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(stored('short_lived'), 1_500, 'close ends the chain of slices')
})

t.test('a Redis work store needs a client: none, or no options at all, is refused by name', async t => {
  t.throws(() => new RedisWorkStore(undefined as never), { code: 'FST_MODEL_LIST_INVALID_OPTION', message: /redis must be an ioredis Redis or Cluster client/ })
  t.throws(() => new RedisWorkStore({} as never), { code: 'FST_MODEL_LIST_INVALID_OPTION', message: /redis must be an ioredis Redis or Cluster client/ })
})
