import t from 'tap'
import type Redis from 'ioredis'
import RedisMock from 'ioredis-mock'
import { workStoreContract } from '../lib/testing/index'
import type { WorkStore } from '../lib/store/contract'
import { MemoryWorkStore } from '../lib/store/memory'
import { RedisWorkStore } from '../lib/store/redis'
import { connect, connect6, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// The exported work store contract (fastify-model-list/testing) on every
// built-in backend: a second kind, with params, claimed in batches. The
// built-in stores are work stores themselves.

workStoreContract(t, {
  name: 'memory',
  make: now => new MemoryWorkStore({ now })
})

const redisTargets = [
  { name: 'ioredis-mock', client: () => new RedisMock() as unknown as Redis, setup: async () => ({ skip: false as const }) },
  { name: 'redis', client: connect, setup: needsRedis },
  { name: 'redis-ioredis6', client: connect6, setup: needsRedis }
]

for (const target of redisTargets) {
  t.test(target.name, async t => {
    if (!(await ready(t, target.setup))) return
    const redis = target.client()
    const keyPrefix = uniquePrefix('work-store')
    t.teardown(async () => {
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    })
    workStoreContract(t, {
      name: target.name,
      make: (now): WorkStore => new RedisWorkStore({ redis, keyPrefix, now })
    })
  })
}
