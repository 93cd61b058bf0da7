import type { EventEmitter } from 'node:events'
import RedisMock from 'ioredis-mock'
import type Redis from 'ioredis'
import type { RedisOptions } from 'ioredis'

/**
 * An ioredis-mock client. The mock adds a 'modified' listener for every client
 * (a store's subscriber duplicate too) to one emitter shared by all clients of
 * a host and port, and never removes it: past ten clients in one test file Node
 * printed a MaxListenersExceededWarning for a leak that is the mock's, not ours.
 * Pub/sub listeners, which the mock does remove, keep Node's limit.
 */
export function mockRedis (options: RedisOptions = {}): Redis {
  const client = new RedisMock(options)
  ;(client as unknown as { context: { modifiedKeyEvents: EventEmitter } }).context.modifiedKeyEvents.setMaxListeners(0)
  return client as unknown as Redis
}
