import t from 'tap'
import RedisMock from 'ioredis-mock'
import type Redis from 'ioredis'
import { workStoreContract, type WorkStoreTarget } from '../lib/testing/index'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { RedisWorkStore } from '../lib/store/redis/work-store'
import type { RedisClient } from '../lib/store/redis/client'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { needsCluster, startCluster } from './helpers/cluster'

// The exported contract suites, unchanged, against every built-in backend:
// memory, ioredis-mock, a real Redis and a three-master Redis Cluster.

const memory: WorkStoreTarget = {
  name: 'memory',
  forgets: 'clock',
  make: (now, { catalogCache }) => new MemoryWorkStore({ now, catalogCache })
}

/** Redis stores on one client: each `make` is another replica of one store. */
function redisTarget (name: string, redis: RedisClient, keyPrefix: string): WorkStoreTarget {
  return {
    name,
    forgets: 'expiry',
    shared: true,
    make: (now, { catalogCache }) => new RedisWorkStore({ redis, keyPrefix, now, catalogCache })
  }
}

workStoreContract(t, memory)

t.test('ioredis-mock', async t => {
  const redis = new RedisMock() as unknown as Redis
  t.teardown(() => redis.disconnect())
  workStoreContract(t, redisTarget('ioredis-mock', redis, uniquePrefix('contract-mock')))
})

t.test('redis 127.0.0.1:6379', async t => {
  if (!(await ready(t, needsRedis))) return
  const redis = connect()
  const keyPrefix = uniquePrefix('contract')
  t.teardown(async () => {
    await deleteKeys(redis, keyPrefix)
    redis.disconnect()
  })
  workStoreContract(t, redisTarget('redis', redis, keyPrefix))
})

t.test('Redis Cluster (3 masters)', async t => {
  if (!(await ready(t, needsCluster))) return
  const cluster = await startCluster()
  const redis = cluster.connect()
  const keyPrefix = uniquePrefix('contract-cluster')
  t.teardown(async () => {
    await cluster.deleteKeys(`${keyPrefix}:`)
    redis.disconnect()
    await cluster.stop()
  })
  workStoreContract(t, redisTarget('redis-cluster', redis, keyPrefix))
})
