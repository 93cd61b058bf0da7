import type Redis from 'ioredis'

/**
 * Every key under `prefix` with its value, sorted: a snapshot to compare
 * before and after (expiry times are left out, they move with the wall clock).
 */
export async function dumpKeys (client: Redis, prefix: string): Promise<Array<[string, unknown]>> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    cursor = next
    keys.push(...found)
  } while (cursor !== '0')
  keys.sort()
  return await Promise.all(keys.map(async (key): Promise<[string, unknown]> => {
    const type = await client.type(key)
    if (type === 'hash') return [key, await client.hgetall(key)]
    if (type === 'zset') return [key, await client.zrange(key, 0, -1, 'WITHSCORES')]
    if (type === 'string') return [key, await client.get(key)]
    if (type === 'list') return [key, await client.lrange(key, 0, -1)]
    if (type === 'set') return [key, (await client.smembers(key)).sort()]
    return [key, type]
  }))
}
