import t from 'tap'
import type Redis from 'ioredis'
import { mockRedis } from './helpers/redis-mock'
import { MemoryModelListStore, MemoryWorkStore } from '../lib/store/memory'
import { RedisWorkStore } from '../lib/store/redis'
import Fastify from 'fastify'
import fastifyModelList from '../lib/index'
import { hooks } from './helpers/apps'
import { countBackendCalls, countWorkStoreCalls, kindsSuite, work, workBackend } from './helpers/kinds'
import { countCommands } from './helpers/count-commands'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// Other kinds of daemon work on the memory store (two apps sharing one store
// object), ioredis-mock and the real Redis (two apps, a client each). The
// Cluster runs the same suite in store-cluster.test.ts.

// Before any app finds its store's methods.
countWorkStoreCalls(MemoryWorkStore, RedisWorkStore)

const stores: MemoryModelListStore[] = []
let shared: MemoryModelListStore | undefined
kindsSuite(t, {
  name: 'memory',
  setup: async () => ({ skip: false }),
  options: (replica, clock) => {
    // One store object for both replicas: one process, one deployment.
    if (replica === 0) stores.push(shared = new MemoryModelListStore({ now: clock.now }))
    return { store: shared }
  },
  count: (_replica, app) => countBackendCalls(workBackend(app)),
  teardown: async () => { for (const store of stores) await store.close() }
})

kindsSuite(t, {
  name: 'ioredis-mock',
  setup: async () => ({ skip: false }),
  options: (_replica, clock) => ({ redis: mockRedis(), keyPrefix: 'fml-kinds-mock', now: clock.now }),
  count: (_replica, app) => countBackendCalls(workBackend(app)),
  teardown: async () => {}
})


const clients: Redis[] = []
const latest: Redis[] = []
const keyPrefix = uniquePrefix('kinds')
kindsSuite(t, {
  name: 'redis',
  setup: needsRedis,
  options: (replica, clock) => {
    const redis = connect()
    clients.push(latest[replica] = redis)
    return { redis, keyPrefix, now: clock.now }
  },
  count: replica => countCommands(latest[replica]),
  teardown: async () => {
    await deleteKeys(clients[0], keyPrefix)
    for (const client of clients) client.disconnect()
  }
})

t.test('probe round trips per empty heartbeat: one with the model list alone, one with four kinds', async t => {
  if (!(await ready(t, needsRedis))) return
  const figures: string[] = []
  for (const kinds of [[], work] as const) {
    const redis = connect()
    const prefix = uniquePrefix('kinds-probe')
    const app = Fastify()
    await app.register(fastifyModelList, { ...hooks, redis, keyPrefix: prefix, work: kinds })
    await app.ready()
    // Warm: the probe script is loaded, so the count is the steady state.
    await app.claimPendingWork('rt-warm')
    const sent = countCommands(redis as unknown as { sendCommand: (...args: any[]) => unknown })
    for (let i = 0; i < 10; i++) t.equal(await app.claimPendingWork(`rt-${i}`), null)
    t.equal(sent(), 10, `${kinds.length + 1} kind(s): one round trip per heartbeat`)
    figures.push(`${kinds.length + 1} kind(s): ${sent() / 10} round trip(s) per empty heartbeat`)
    await app.close()
    await deleteKeys(redis, prefix)
    redis.disconnect()
  }
  t.comment(figures.join('; '))
})
