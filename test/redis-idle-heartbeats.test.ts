import { mock } from 'node:test'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import RedisClient, { type Cluster } from 'ioredis'
import fastifyModelList, { MemoryModelListStore, RedisModelListStore } from '../lib/index'
import { IdleRuntimes, resolveIdleRuntimeCache, untrusted } from '../lib/store/redis/idle-runtimes'
import type { RedisWorkStore } from '../lib/store/redis/work-store'
import { hooks } from './helpers/apps'
import { clusterPortsAt, needsCluster, startCluster } from './helpers/cluster'
import { countCommands } from './helpers/count-commands'
import { skillImport } from './helpers/kinds'
import { ready } from './helpers/redis'
import { freePort, makeTempDir, needsRedisBinaries, removeDir, startRedisServer, type RedisServer } from './helpers/redis-server'

// Issue 16: on the Redis store an idle heartbeat sends no command in steady
// state (API.md, "Idle heartbeats"), and the cache never answers "nothing"
// where work is claimable: a signal heard, a subscriber killed, a hand-back,
// a signal path broken silently (the canary).

// Two private servers and a Cluster: room for a loaded machine.
t.setTimeout(180_000)

type Redis = RedisClient
type Client = Redis | Cluster

t.test('idleRuntimeCache: the option', async t => {
  const register = async (options: Record<string, unknown>): Promise<unknown> => {
    const app = Fastify()
    try {
      await app.register(fastifyModelList, { ...hooks, ...options } as Parameters<typeof fastifyModelList>[1])
      await app.ready()
      return null
    } catch (error) {
      return error
    } finally {
      await app.close()
    }
  }
  const refused: Array<[string, unknown, RegExp]> = [
    ['null', null, /idleRuntimeCache must be an object \(\{ maxRuntimes \}\) or false, got null$/],
    ['a string', 'on', /idleRuntimeCache must be an object \(\{ maxRuntimes \}\) or false, got 'on' \(a string\)/],
    ['true', true, /got true \(a boolean\)/],
    ['an array', [1], /got an array/],
    ['maxRuntimes 0', { maxRuntimes: 0 }, /idleRuntimeCache.maxRuntimes must be a positive integer, got 0 \(a number\)/],
    ['maxRuntimes 1.5', { maxRuntimes: 1.5 }, /got 1.5 \(a number\)/],
    ['maxRuntimes as a string', { maxRuntimes: '1000' }, /got '1000' \(a string\)/],
    ['maxRuntimes null', { maxRuntimes: null }, /got null$/],
    ['maxRuntimes as a bigint', { maxRuntimes: 10n }, /got 10n \(a bigint\)/],
    ['a misspelt maxRuntimes', { maxRuntime: 10 }, /idleRuntimeCache has no option maxRuntime \(only maxRuntimes\)/]
  ]
  for (const [what, value, message] of refused) {
    const error = await register({ idleRuntimeCache: value }) as Error | null
    t.match(error, { code: 'FST_MODEL_LIST_INVALID_OPTION', message }, `refused: ${what}`)
  }
  t.equal(await register({ idleRuntimeCache: false }), null, 'false turns it off')
  t.equal(await register({ idleRuntimeCache: {} }), null, '{} keeps the default bound')
  // Like keyPrefix: checked whatever the store, shapes nothing in memory (its probe sends nothing).
  t.equal(await register({ store: 'memory', idleRuntimeCache: { maxRuntimes: 10 } }), null, 'beside the memory store: accepted, nothing to cache')
  const store = new MemoryModelListStore()
  for (const value of [false, { maxRuntimes: 10 }]) {
    t.match(await register({ store, idleRuntimeCache: value }), { message: /idleRuntimeCache shapes a built-in Redis store and cannot be given beside a store object: configure the store itself/ },
      `beside a store object: refused (${JSON.stringify(value)}), the plugin cannot change the store's own`)
  }
  await store.close()
  t.throws(() => new RedisModelListStore({ redis: { defineCommand: () => {} } as never, idleRuntimeCache: { maxRuntimes: -1 } }), { message: /maxRuntimes must be a positive integer, got -1 \(a number\)/ }, 'the store checks it too')
  t.same(resolveIdleRuntimeCache(undefined), { maxRuntimes: 1_000_000 }, 'default: a million runtimes')
})

t.test('IdleRuntimes: remembers only what cannot have raced, trusted only when proven, bounded', async t => {
  const kinds = ['model_list']
  const idle = new IdleRuntimes({ maxRuntimes: 3 })
  t.equal(idle.begin(), untrusted, 'untrusted: a probe begun now is never remembered')
  idle.remember('rt-a', kinds, idle.begin())
  t.equal(idle.size, 0)
  const early = (() => { idle.trust(); return idle.begin() })()
  idle.remember('rt-a', kinds, early)
  t.equal(idle.idleFor('rt-a', kinds), true, 'trusted: remembered, answered')
  t.equal(idle.idleFor('rt-a', ['model_list', 'skill_import']), false, 'a kind never probed is not known idle')

  const racing = idle.begin()
  idle.signal('rt-b')
  idle.remember('rt-a', kinds, racing)
  t.equal(idle.idleFor('rt-a', kinds), true, 'a signal for another runtime does not void this probe')
  const raced = idle.begin()
  idle.signal('rt-c')
  idle.remember('rt-c', kinds, raced)
  t.equal(idle.idleFor('rt-c', kinds), false, 'a probe that raced a signal for its runtime is not remembered')
  idle.remember('rt-c', kinds, idle.begin())
  t.equal(idle.idleFor('rt-c', kinds), true, 'the next probe is')
  idle.signal('rt-c')
  t.equal(idle.idleFor('rt-c', kinds), false, 'a signal forgets its runtime')

  const beforeDistrust = idle.begin()
  idle.distrust()
  t.equal(idle.idleFor('rt-a', kinds), false, 'distrust forgets everything')
  t.equal(idle.size, 0)
  idle.trust()
  idle.remember('rt-a', kinds, beforeDistrust)
  t.equal(idle.idleFor('rt-a', kinds), false, 'a probe begun before a change of trust is void, even once trusted again')

  const both = ['model_list', 'skill_import']
  idle.remember('rt-k', both, idle.begin())
  t.equal(idle.idleFor('rt-k', both), true, 'several kinds at once')
  t.equal(idle.idleFor('rt-k', ['skill_import']), true, 'and each of them')
  idle.signal('rt-k')
  t.equal(idle.idleFor('rt-k', kinds), false, 'a signal of any kind forgets every kind')

  // LRU: rt-1, rt-2, rt-3 remembered; rt-1 used; rt-4 pushes out rt-2.
  const lru = new IdleRuntimes({ maxRuntimes: 3 })
  lru.trust()
  for (const rt of ['rt-1', 'rt-2', 'rt-3']) lru.remember(rt, kinds, lru.begin())
  t.equal(lru.idleFor('rt-1', kinds), true)
  lru.remember('rt-4', kinds, lru.begin())
  t.equal(lru.size, 3, 'never more than maxRuntimes')
  t.same(['rt-1', 'rt-2', 'rt-3', 'rt-4'].map(rt => lru.idleFor(rt, kinds)), [true, false, true, true], 'the least recently used went first')

  // Forgetting from the middle, the newest and the oldest end keeps the order of the rest.
  const order = new IdleRuntimes({ maxRuntimes: 4 })
  order.trust()
  for (const rt of ['rt-a', 'rt-b', 'rt-c', 'rt-d']) order.remember(rt, kinds, order.begin())
  order.signal('rt-b')
  order.signal('rt-d')
  order.signal('rt-a')
  order.remember('rt-c', ['skill_import'], order.begin())
  t.equal(order.idleFor('rt-c', both), true, 'a second kind remembered adds to the first')
  for (const rt of ['rt-e', 'rt-f', 'rt-g']) order.remember(rt, kinds, order.begin())
  t.equal(order.size, 4)
  order.remember('rt-h', kinds, order.begin())
  t.same(['rt-c', 'rt-e', 'rt-f', 'rt-g', 'rt-h'].map(rt => order.idleFor(rt, kinds)), [false, true, true, true, true], 'then the oldest left is the first to go')
  order.distrust()
  order.trust()
  order.remember('rt-i', kinds, order.begin())
  t.same([order.size, order.idleFor('rt-i', kinds), order.idleFor('rt-h', kinds)], [1, true, false], 'after distrust, a fresh start')

  const slow = lru.begin()
  for (let i = 0; i < 1024; i++) lru.signal(`rt-other-${i}`)
  lru.remember('rt-slow', kinds, slow)
  t.equal(lru.idleFor('rt-slow', kinds), false, 'a probe outlived by more signals than are kept is not remembered')

  const many = new IdleRuntimes({ maxRuntimes: 10 })
  many.trust()
  const kindsOf = (n: number): string[] => Array.from({ length: n }, (_, i) => `kind_${i}`)
  many.remember('rt-30', kindsOf(30), many.begin())
  t.equal(many.idleFor('rt-30', kindsOf(30)), true, 'thirty kinds have a bit each')
  many.remember('rt-31', kindsOf(31), many.begin())
  t.equal(many.idleFor('rt-31', kindsOf(31)), false, 'a thirty-first kind is never remembered (asked of Redis every time)')
  many.remember('rt-none', [], many.begin())
  t.equal(many.idleFor('rt-none', []), false, 'no kinds, nothing to know')
})

interface Replica {
  app: FastifyInstance
  client: Client
  store: RedisWorkStore
  /** Commands this replica's client sent from here on (canaries go on a connection of their own). */
  sent: () => number
  /** Resolves when this replica's subscriber has heard work queued for `runtimeId`. */
  hint: (runtimeId: string) => Promise<void>
  /** Resolves when this replica's subscriber has heard the next message on the queued channel for `runtimeId`. */
  heard: (runtimeId: string) => Promise<void>
}

async function replica (client: Client, keyPrefix: string, register: Record<string, unknown> = {}): Promise<Replica> {
  const hinted = new Map<string, () => void>()
  const app = Fastify()
  await app.register(fastifyModelList, {
    ...hooks,
    redis: client as Redis,
    keyPrefix,
    notifyPendingWork: (runtimeId: string) => { hinted.get(runtimeId)?.() },
    ...register
  })
  await app.ready()
  const store = (app.modelListStore as RedisModelListStore).workStore as RedisWorkStore
  await store.idleCacheReady()
  const connection = (store as unknown as { subscriber: { connection: { on: (event: 'message', listener: (channel: string, message: string) => void) => void } } }).subscriber.connection
  const listeners = new Map<string, () => void>()
  // Registered after the store's own listener: when it runs, the store has heard the message.
  connection.on('message', (_channel, message) => { listeners.get(message.split(' ')[0])?.() })
  return {
    app,
    client,
    store,
    sent: countCommands(client as unknown as { sendCommand: (...args: any[]) => unknown }),
    hint: async runtimeId => await new Promise(resolve => hinted.set(runtimeId, resolve)),
    heard: async runtimeId => await new Promise(resolve => listeners.set(runtimeId, resolve))
  }
}

const heartbeat = async (app: FastifyInstance, runtimeId: string): Promise<string | null> => (await app.claimPendingModelList(runtimeId))?.id ?? null
const post = async (app: FastifyInstance, runtimeId: string): Promise<string> => {
  const response = await app.inject({ method: 'POST', url: `/runtimes/${runtimeId}/models` })
  return (response.json() as { id: string }).id
}

/**
 * Makes `b` remember `runtimeId` as idle (a heartbeat probes, the next one sends nothing).
 * On a loaded machine a canary can be heard late, which rightly drops what the replica
 * remembered; the precondition is then set up again, a few times at most.
 */
async function idleOn (t: Test, b: Replica, runtimeId: string): Promise<void> {
  let quiet = false
  for (let attempt = 0; attempt < 5 && !quiet; attempt++) {
    t.equal(await heartbeat(b.app, runtimeId), null, `${runtimeId}: nothing to claim (probed)`)
    const before = b.sent()
    t.equal(await heartbeat(b.app, runtimeId), null, `${runtimeId}: nothing to claim (remembered)`)
    quiet = b.sent() - before === 0
  }
  t.ok(quiet, `${runtimeId}: an idle heartbeat after the probe sent no command`)
}

/** The coherence checks, on a Redis or a Cluster: `kill` kills every subscriber connection. */
function coherence (t: Test, connect: () => Client, kill: () => Promise<void>, keyPrefix: string): void {
  let n = 0
  const pair = async (): Promise<[Replica, Replica]> => {
    const prefix = `${keyPrefix}-${n++}`
    const a = await replica(connect(), prefix)
    const b = await replica(connect(), prefix)
    t.teardown(async () => {
      for (const { app, client } of [a, b]) {
        await app.close()
        client.disconnect()
      }
    })
    return [a, b]
  }

  t.test('a POST on A, a heartbeat on B once the signal reached B: claimed', async t => {
    const [a, b] = await pair()
    const rt = 'rt-signal'
    await idleOn(t, b, rt)
    const heard = b.hint(rt)
    const id = await post(a.app, rt)
    await heard
    t.equal(await heartbeat(b.app, rt), id, 'B claims it')
    await idleOn(t, b, rt)
  })

  t.test('a POST on A then a heartbeat on A: claimed at once (heard locally before the subscriber)', async t => {
    const [a] = await pair()
    const rt = 'rt-local'
    await idleOn(t, a, rt)
    const id = await post(a.app, rt)
    t.equal(await heartbeat(a.app, rt), id)
  })

  t.test('the subscriber killed just before the POST: the first heartbeat on B after the kill claims it', async t => {
    const [a, b] = await pair()
    const rt = 'rt-killed'
    await idleOn(t, b, rt)
    await kill()
    const id = await post(a.app, rt)
    t.equal(await heartbeat(b.app, rt), id, 'claimed by the first heartbeat on B')
    // Trusted again once the canary is heard on the new connection.
    await b.store.idleCacheReady()
    await idleOn(t, b, rt)
  })

  t.test('a hand-back is claimable by the next heartbeat on any replica', async t => {
    const [a, b] = await pair()
    const rt = 'rt-hand-back'
    const store = a.app.modelListStore
    const queued = b.hint(rt)
    const id = await post(a.app, rt)
    await queued
    const claimed = await store.popPending(rt)
    t.equal(claimed?.id, id, 'A claimed it')
    await idleOn(t, a, rt)
    await idleOn(t, b, rt)
    const heardFirst = b.heard(rt)
    t.equal(await store.handBack?.(rt, claimed as NonNullable<typeof claimed>), true, 'handed back')
    t.equal(await heartbeat(a.app, rt), id, 'the next heartbeat on A claims it')
    await heardFirst
    await idleOn(t, b, rt)
    const heardSecond = b.heard(rt)
    t.equal(await store.handBack?.(rt, await store.get(rt, id) as NonNullable<typeof claimed>), true, 'handed back again')
    await heardSecond
    t.equal(await heartbeat(b.app, rt), id, 'and, once B heard it, the next heartbeat on B')
  })
}

t.test('on Redis', async t => {
  if (!(await ready(t, () => needsRedisBinaries(['redis-server'])))) return
  const dir = await makeTempDir('idle-heartbeats')
  const clients: Redis[] = []
  let server: RedisServer | undefined
  t.teardown(async () => {
    mock.timers.reset()
    for (const client of clients) client.disconnect()
    await server?.stop()
    await removeDir(dir)
  })
  server = await startRedisServer(await freePort(), dir)
  const connect = (): Redis => {
    const client = (server as RedisServer).connect()
    clients.push(client)
    return client
  }
  const admin = connect()

  t.test('under MONITOR: 1,000 heartbeats over 100 idle runtimes after warm-up send no command', async t => {
    const lines: string[][] = []
    const monitor = await connect().monitor()
    clients.push(monitor)
    let marked: (() => void) | undefined
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'echo' && args[1] === 'idle-marker') marked?.()
      else lines.push(args)
    })
    const mark = async (): Promise<string[][]> => {
      const seen = new Promise<void>(resolve => { marked = resolve })
      await admin.echo('idle-marker')
      await seen
      return lines.splice(0)
    }

    const a = await replica(connect(), 'idle-monitor', { work: [skillImport] })
    t.teardown(async () => await a.app.close())
    const runtimes = Array.from({ length: 100 }, (_, i) => `rt-idle-${i}`)
    for (const rt of runtimes) {
      await a.app.claimPendingModelList(rt)
      await a.app.claimPendingWork(rt)
    }
    const warmUp = await mark()
    t.ok(warmUp.filter(args => args[0].toLowerCase() !== 'publish').length >= 200, 'the warm-up probed Redis: one probe per runtime and set of kinds')

    const started = Date.now()
    let answered = 0
    for (let round = 0; round < 10; round++) {
      for (const rt of runtimes) if (await a.app.claimPendingModelList(rt) === null) answered++
    }
    for (const rt of runtimes) if (await a.app.claimPendingWork(rt) === null) answered++
    const seconds = (Date.now() - started) / 1000
    const window = await mark()
    t.equal(answered, 1_100, 'every heartbeat answered nothing')
    const canaries = window.filter(args => args[0].toLowerCase() === 'publish' && args[1].includes(':canary:'))
    const others = window.filter(args => !(args[0].toLowerCase() === 'publish' && args[1].includes(':canary:')))
    t.same(others, [], '1,000 heartbeats (model list) and 100 (every kind) sent no command')
    t.ok(canaries.length <= Math.ceil(seconds) + 1, `canaries apart: ${canaries.length} PUBLISH in ${seconds.toFixed(2)} s (one a second, whatever the number of heartbeats)`)
    t.comment(`1,100 idle heartbeats: 0 commands; canary: ${canaries.length} PUBLISH in ${seconds.toFixed(2)} s`)
  })

  t.test('off (idleRuntimeCache: false): every heartbeat probes Redis', async t => {
    const a = await replica(connect(), 'idle-off', { idleRuntimeCache: false })
    t.teardown(async () => await a.app.close())
    await heartbeat(a.app, 'rt-off')
    const before = a.sent()
    for (let i = 0; i < 10; i++) await heartbeat(a.app, 'rt-off')
    t.equal(a.sent() - before, 10, 'one command per heartbeat')
  })

  t.test('a bound of 2 runtimes: the third pushes out the least recently used', async t => {
    const a = await replica(connect(), 'idle-bound', { idleRuntimeCache: { maxRuntimes: 2 } })
    t.teardown(async () => await a.app.close())
    for (const rt of ['rt-1', 'rt-2', 'rt-1', 'rt-3']) await heartbeat(a.app, rt)
    const sent = (rt: string) => async (): Promise<number> => { const before = a.sent(); await heartbeat(a.app, rt); return a.sent() - before }
    t.same([await sent('rt-1')(), await sent('rt-3')(), await sent('rt-2')()], [0, 0, 1], 'rt-1 and rt-3 remembered, rt-2 forgotten')
  })

  coherence(t, connect, async () => { await admin.client('KILL', 'TYPE', 'pubsub') }, 'idle-coherence')

  t.test('Redis down when the first heartbeat comes: the cache waits, then starts once Redis is up', async t => {
    const port = await freePort()
    const client = new RedisClient({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
    client.on('error', () => {})
    clients.push(client)
    const store = new RedisModelListStore({ redis: client, keyPrefix: 'idle-down' })
    const work = store.workStore as RedisWorkStore
    t.teardown(async () => await store.close())
    const kinds = ['model_list']
    t.equal(work.probeNow('rt-down', kinds), undefined, 'nothing trusted: the heartbeat asks Redis')
    t.equal(await work.listening().then(() => 'subscribed', () => 'failed'), 'failed', 'the subscriber cannot subscribe yet')
    const late = await startRedisServer(port, dir)
    t.teardown(async () => await late.stop())
    await work.idleCacheReady()
    t.same(await work.mayHavePending('rt-down', kinds), [false], 'probed once Redis is up')
    t.same(work.probeNow('rt-down', kinds), [false], 'then answered from the cache')
  })

  t.test('a signal path broken silently (messages dropped at the subscriber): claimed within 2 s', async t => {
    mock.timers.enable({ apis: ['setInterval'] })
    t.teardown(() => mock.timers.reset())
    const a = await replica(connect(), 'idle-broken')
    const b = await replica(connect(), 'idle-broken')
    t.teardown(async () => {
      await a.app.close()
      await b.app.close()
    })
    const rt = 'rt-broken'
    await idleOn(t, b, rt)
    // The link drops every message from here on, the canary's too; the socket stays up.
    const subscriber = (b.store as unknown as { subscriber: { hear: (channel: string, message: string) => void } }).subscriber
    subscriber.hear = () => {}
    const id = await post(a.app, rt)
    t.equal(await heartbeat(b.app, rt), null, 'until the canary is missed, B cannot know (the bound this test measures)')
    mock.timers.tick(1_000)
    t.equal(await heartbeat(b.app, rt), null, 'after 1 s: the canary out was sent after the break; not yet missed')
    mock.timers.tick(1_000)
    t.equal(await heartbeat(b.app, rt), id, 'after 2 s: the canary was missed, nothing remembered is trusted, the heartbeat claims')
    const before = b.sent()
    await heartbeat(b.app, 'rt-other')
    await heartbeat(b.app, 'rt-other')
    t.equal(b.sent() - before, 2, 'and it stays untrusted while the path stays broken')
  })
})

t.test('on a Redis Cluster (3 masters)', async t => {
  if (!(await ready(t, needsCluster))) return
  const cluster = await startCluster(clusterPortsAt(30))
  const clients: Cluster[] = []
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    await cluster.stop()
  })
  const connect = (): Cluster => {
    const client = cluster.connect()
    clients.push(client)
    return client
  }
  const kill = async (): Promise<void> => {
    for (const master of (await cluster.masters()).values()) await master.client('KILL', 'TYPE', 'pubsub')
  }
  coherence(t, connect, kill, 'idle-cluster')
})
