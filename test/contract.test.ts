import t, { type Test } from 'tap'
import { mockRedis } from './helpers/redis-mock'
import type Redis from 'ioredis'
import { modelListStoreContract, workStoreContract, type ModelListStoreTarget, type WorkStoreTarget } from '../lib/testing/index'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { RedisWorkStore } from '../lib/store/redis/work-store'
import { MemoryModelListStore } from '../lib/store/memory/index'
import { RedisModelListStore } from '../lib/store/redis/index'
import type { RedisClient } from '../lib/store/redis/client'
import { connect, connect6, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { clusterPortsAt, needsCluster, startCluster } from './helpers/cluster'

// The exported contract suites, unchanged, against every built-in backend:
// memory, ioredis-mock, a real Redis and a three-master Redis Cluster.

// Past tap's 30 s: the Cluster starts in about 5 s, and each Redis backend
// waits real time (about 4 s) to see keys expire.
t.setTimeout(120_000)

const memory: WorkStoreTarget = {
  name: 'memory',
  forgets: 'clock',
  make: (now, { catalogCache }) => new MemoryWorkStore({ now, catalogCache })
}

const memoryList: ModelListStoreTarget = {
  name: 'memory',
  forgets: 'clock',
  make: options => new MemoryModelListStore(options)
}

/** Both suites on Redis stores over one client: each `make` is another replica of one store. */
function redisContracts (t: Test, name: string, redis: RedisClient, keyPrefix: string): void {
  workStoreContract(t, {
    name,
    forgets: 'expiry',
    shared: true,
    make: (now, { catalogCache }) => new RedisWorkStore({ redis, keyPrefix: `${keyPrefix}:work`, now, catalogCache })
  })
  modelListStoreContract(t, {
    name,
    forgets: 'expiry',
    shared: true,
    make: options => new RedisModelListStore({ ...options, redis, keyPrefix: `${keyPrefix}:list` })
  })
}

workStoreContract(t, memory)
modelListStoreContract(t, memoryList)

t.test('ioredis-mock', async t => {
  const redis = mockRedis()
  t.teardown(() => redis.disconnect())
  redisContracts(t, 'ioredis-mock', redis, uniquePrefix('contract-mock'))
})

// ioredis 5 and 6 (an npm alias in devDependencies): both majors are supported.
for (const [name, client] of [['redis', connect], ['redis-ioredis6', connect6]] as const) {
  t.test(`${name} 127.0.0.1:6379`, async t => {
    if (!(await ready(t, needsRedis))) return
    const redis = client()
    const keyPrefix = uniquePrefix('contract')
    t.teardown(async () => {
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    })
    redisContracts(t, name, redis as unknown as RedisClient, keyPrefix)
  })
}

t.test('Redis Cluster (3 masters)', async t => {
  if (!(await ready(t, needsCluster))) return
  // Ports of its own: another file's cluster may be up at the same time.
  const cluster = await startCluster(clusterPortsAt(20))
  const redis = cluster.connect()
  const keyPrefix = uniquePrefix('contract-cluster')
  t.teardown(async () => {
    await cluster.deleteKeys(`${keyPrefix}:`)
    redis.disconnect()
    await cluster.stop()
  })
  redisContracts(t, 'redis-cluster', redis, keyPrefix)
})
