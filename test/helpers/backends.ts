import RedisMock from 'ioredis-mock'
import type Redis from 'ioredis'
import type { LifecycleOptions } from '../../lib/lifecycle'
import type { ModelListStore } from '../../lib/store'
import { MemoryModelListStore } from '../../lib/stores/memory'
import { RedisModelListStore } from '../../lib/stores/redis'
import { connect, connect6, deleteKeys, needsRedis, uniquePrefix } from './redis'

/** One backend the store contract runs against, unchanged. */
export interface Backend {
  name: string
  /** Retention follows the injected clock (memory); Redis forgets by key expiry on its own clock. */
  clockRetention: boolean
  /** The tap skip option: a reason when the backend is not there. */
  setup(): Promise<{ skip: string | false }>
  /** Stores made by one backend see the same data (replicas of one deployment). */
  shared: boolean
  /** A store on this backend. */
  make(options: LifecycleOptions & { now: () => number }): ModelListStore
  teardown(): Promise<void>
}

export function memoryBackend (): Backend {
  const stores: MemoryModelListStore[] = []
  return {
    name: 'memory',
    clockRetention: true,
    shared: false,
    setup: async () => ({ skip: false }),
    make: (options) => {
      const store = new MemoryModelListStore(options)
      stores.push(store)
      return store
    },
    teardown: async () => { for (const store of stores) await store.close() }
  }
}

/** A Redis-backed backend over any ioredis-compatible client. */
export function redisBackend (name: string, client: () => Redis, setup: () => Promise<{ skip: string | false }>): Backend {
  const keyPrefix = uniquePrefix(name)
  let redis: Redis | undefined
  return {
    name,
    clockRetention: false,
    shared: true,
    setup,
    make: (options) => {
      redis ??= client()
      return new RedisModelListStore({ ...options, redis, keyPrefix })
    },
    teardown: async () => {
      if (redis === undefined) return
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    }
  }
}

export function mockBackend (): Backend {
  return redisBackend('ioredis-mock', () => new RedisMock() as unknown as Redis, async () => ({ skip: false }))
}

export function realRedisBackend (): Backend {
  return redisBackend('redis', connect, needsRedis)
}

export function realRedis6Backend (): Backend {
  return redisBackend('redis-ioredis6', connect6, needsRedis)
}
