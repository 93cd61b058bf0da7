import { randomUUID } from 'node:crypto'
import Redis, { type RedisOptions } from 'ioredis'
import Redis6 from 'ioredis6'
import type { Test } from 'tap'

const url = { host: '127.0.0.1', port: 6379 }

// Answers why Redis cannot be used, or null when it answers PING.
async function probe (): Promise<string | null> {
  const client = new Redis({ ...url, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return null
  } catch (error) {
    return `no Redis on ${url.host}:${url.port} (${(error as Error).message})`
  } finally {
    client.disconnect()
  }
}

let probed: Promise<string | null> | undefined

/**
 * The tap `skip` option for a test that needs the shared Redis: false when it
 * answers; a reason to skip on a laptop without Redis. Under CI=true a missing
 * Redis is a failure, never a skip.
 */
export async function needsRedis (): Promise<{ skip: string | false }> {
  probed ??= probe()
  const reason = await probed
  if (reason === null) return { skip: false }
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`)
  return { skip: reason }
}

export function connect (options: RedisOptions = {}): Redis {
  return new Redis({ ...url, ...options })
}

/**
 * An ioredis 6 client on the shared Redis (the package supports both majors),
 * typed as the ioredis 5 one the helpers take.
 */
export function connect6 (): Redis {
  return new Redis6(url) as unknown as Redis
}

/** A key prefix no other test (or run) shares. */
export function uniquePrefix (name = 'test'): string {
  return `fml-${name}-${process.pid}-${randomUUID().slice(0, 8)}`
}

/** Deletes this test's keys only: the shared server is never flushed. */
export async function deleteKeys (client: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) await client.del(key)
  } while (cursor !== '0')
}

type Setup = () => Promise<{ skip: string | false }> | { skip: string | false }

/**
 * Runs `setup` (needsRedis, a private server's, a backend's); when it gives a
 * reason, ends `t` as skipped with it and answers false.
 */
export async function ready (t: Test, setup: Setup): Promise<boolean> {
  const { skip } = await setup()
  if (skip === false) return true
  t.plan(0, skip)
  return false
}
