import { mockRedis } from './redis-mock'
import type Redis from 'ioredis'
import type { RulesOptions } from '../../lib/rules'
import type { CatalogCacheOptions } from '../../lib/catalog'
import type { ModelListStore } from '../../lib/kinds/model-list-store'
import { MemoryModelListStore } from '../../lib/store/memory'
import { RedisModelListStore } from '../../lib/store/redis'
import type { Test } from 'tap'
import type { FastifyModelListOptions } from '../../lib/index'
import { connect, connect6, deleteKeys, needsRedis, ready, uniquePrefix } from './redis'

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
  make(options: StoreOptions): ModelListStore
  /** Puts an unreadable catalog where the store keeps the runtime's: bad JSON, or (Redis) a key of another type. */
  breakCatalog(store: ModelListStore, runtimeId: string, how: BrokenCatalog, storedAt: number): Promise<void>
  teardown(): Promise<void>
}

/** Bad JSON, JSON of another shape, JSON null, or (Redis) a key of another type. */
export type BrokenCatalog = 'json' | 'shape' | 'null' | 'type'
const brokenJson = { json: '{not json', shape: '{"models":5}', null: 'null', type: '' }

export type StoreOptions = RulesOptions & { now: () => number, catalogCache?: CatalogCacheOptions | false }

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
    breakCatalog: async (store, runtimeId, how, storedAt) => {
      // The memory store holds what it stores: only bad JSON can be put there, from inside.
      const { catalogs } = (store as MemoryModelListStore).workStore as unknown as { catalogs: { byRuntime: Map<string, unknown> } }
      catalogs.byRuntime.set(runtimeId, { result: brokenJson[how === 'type' ? 'json' : how], storedAt })
    },
    teardown: async () => { for (const store of stores) await store.close() }
  }
}

/** A Redis-backed backend over any ioredis-compatible client. */
export function redisBackend (name: string, client: () => Redis, setup: () => Promise<{ skip: string | false }>): Backend {
  const keyPrefix = uniquePrefix(name)
  let redis: Redis | undefined
  const stores: RedisModelListStore[] = []
  return {
    name,
    clockRetention: false,
    shared: true,
    setup,
    make: (options) => {
      redis ??= client()
      const store = new RedisModelListStore({ ...options, redis, keyPrefix })
      stores.push(store)
      return store
    },
    breakCatalog: async (_store, runtimeId, how, storedAt) => {
      const key = `${keyPrefix}:{${runtimeId}}:model_list:catalog`
      const client = redis as Redis
      await client.del(key)
      if (how === 'type') await client.set(key, 'not a hash')
      else await client.hset(key, 'r', brokenJson[how], 't', String(storedAt))
    },
    teardown: async () => {
      // Their subscribers are theirs to close.
      for (const store of stores) await store.close()
      if (redis === undefined) return
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    }
  }
}

export function mockBackend (): Backend {
  return redisBackend('ioredis-mock', () => mockRedis(), async () => ({ skip: false }))
}

export function realRedisBackend (): Backend {
  return redisBackend('redis', connect, needsRedis)
}

export function realRedis6Backend (): Backend {
  return redisBackend('redis-ioredis6', connect6, needsRedis)
}

/** A store the plugin builds from its options: memory, ioredis-mock or Redis, with what closes it after the app. */
export interface PluginBackend {
  name: string
  /** The store's plugin options and what closes them after the app, or null when the backend is not there (skipped or failed by `ready`). */
  setup: (t: Test) => Promise<{ options: Partial<FastifyModelListOptions>, close: () => Promise<void> } | null>
}

/** The three stores a route test runs on, their keys under `prefix`. */
export function pluginBackends (prefix: string): PluginBackend[] {
  return [
    { name: 'memory store', setup: async () => ({ options: {}, close: async () => {} }) },
    {
      name: 'ioredis-mock',
      setup: async () => {
        const redis = mockRedis()
        return { options: { redis, keyPrefix: uniquePrefix(`${prefix}-mock`) }, close: async () => { redis.disconnect() } }
      }
    },
    {
      name: 'Redis',
      setup: async t => {
        if (!(await ready(t, needsRedis))) return null
        const redis: Redis = connect()
        const keyPrefix = uniquePrefix(prefix)
        return { options: { redis, keyPrefix }, close: async () => { await deleteKeys(redis, keyPrefix); await redis.quit() } }
      }
    }
  ]
}
