import { WorkRules, type RulesOptions } from '../../rules'
import type { CatalogCacheOptions } from '../../catalog'
import { InvalidOptionError } from '../../errors'
import { ModelListOnWorkStore } from '../../kinds/model-list-store'
import type { RedisClient } from './client'
import type { WaitForReplicas } from './replicas'
import { RedisWorkStore } from './work-store'
import type { IdleRuntimeCacheOptions } from './idle-runtimes'

export interface RedisModelListStoreOptions extends RulesOptions {
  /** An ioredis 5 or 6 `Redis` or `Cluster`. */
  redis: RedisClient
  /** Key namespace; no `{` or `}`, which would move the hash tag. */
  keyPrefix?: string
  /**
   * The clock every timeout and the catalog's age are measured with. Without
   * it, the Redis server's (read inside each script), so replicas agree.
   */
  now?: () => number
  /** The catalog cache's windows, or false for none. */
  catalogCache?: CatalogCacheOptions | false
  /** After each state change, WAIT until this many replicas have it (at most timeoutMs); default off. */
  waitForReplicas?: WaitForReplicas
  /** Idle heartbeats answered without a Redis command: `{ maxRuntimes }` (default 1,000,000), or false for none. */
  idleRuntimeCache?: IdleRuntimeCacheOptions | false
}

/** Any number of replicas' store: the model list over a Redis work store. */
export class RedisModelListStore extends ModelListOnWorkStore {
  constructor (options: RedisModelListStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('RedisModelListStore needs an options object with a redis client')
    const { redis, keyPrefix, now, catalogCache, waitForReplicas, idleRuntimeCache, ...rules } = options
    const checked = new WorkRules(rules)
    super(new RedisWorkStore({ redis, keyPrefix, now, catalogCache, waitForReplicas, idleRuntimeCache }), checked)
  }
}

export { RedisWorkStore }
export type { RedisClient, WaitForReplicas, IdleRuntimeCacheOptions }
