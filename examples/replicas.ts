// Two replicas of one host behind a (pretend) load balancer, sharing one
// Redis: every step of a request lands on a different replica than the one
// before, and all of them still see one lifecycle.
import { randomUUID } from 'node:crypto'
import { deepStrictEqual } from 'node:assert'
import { setTimeout as sleep } from 'node:timers/promises'
import Redis from 'ioredis'
import type { ModelListRequest } from 'fastify-model-list'
import { buildHost, findRuntime } from './host'
import { startDaemon } from './daemon'

const redisAt = { host: '127.0.0.1', port: 6379 }
// This run's keys only: the Redis may be shared, so it is never flushed.
const keyPrefix = `fml-example-${process.pid}-${randomUUID().slice(0, 8)}`
const started = Date.now()
const deadlineMs = 10_000
const terminal = new Set(['completed', 'failed', 'timeout'])
const laptop = findRuntime('rt-alice-laptop')

const uuid = /[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/g

function say (who: string, message: string): void {
  const at = ((Date.now() - started) / 1000).toFixed(3)
  console.log(`[+${at}s] ${who.padEnd(10)} ${message.replace(uuid, id => `${id.slice(0, 8)}…`)}`)
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

// Fail fast and say why, instead of ioredis reconnecting forever.
async function connect (): Promise<Redis> {
  const client = new Redis({ ...redisAt, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: () => null })
  let cause: Error | undefined
  client.on('error', (error: Error) => { cause = error }) // says more than connect()'s own rejection
  try {
    await client.connect()
  } catch (error) {
    throw cause ?? error
  }
  return client
}

async function deleteOwnKeys (client: Redis): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 500)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

async function main (): Promise<void> {
  // A client per replica, as separate processes would have: nothing is
  // shared in memory, only through Redis.
  const clients: Redis[] = []
  try {
    while (clients.length < 2) clients.push(await connect())
  } catch (error) {
    for (const client of clients) client.disconnect()
    console.error(`replicas: needs Redis on ${redisAt.host}:${redisAt.port} (${messageOf(error)})`)
    process.exitCode = 1
    return
  }
  const hosts = clients.map(redis => buildHost({ redis, store: 'redis', keyPrefix }))
  const [a, b] = await Promise.all(hosts.map(host => host.listen({ host: '127.0.0.1', port: 0 })))
  console.log(`replica A ${a}, replica B ${b}, one Redis (${redisAt.host}:${redisAt.port}, keys ${keyPrefix}:*)`)
  console.log('the frontend POSTs to A and polls B; the daemon heartbeats to B and reports to A\n')

  const stopDaemon = startDaemon({
    baseUrl: b, // heartbeats reach B...
    reportBaseUrl: a, // ...and the report reaches A
    runtimeId: laptop.id,
    token: laptop.token,
    intervalMs: 500,
    log: message => say('daemon', message)
  })

  async function api (replica: string, method: 'GET' | 'POST', path: string): Promise<ModelListRequest> {
    const response = await fetch(`${replica}/api/runtimes/${laptop.id}/models${path}`, { method, headers: { 'x-user': 'alice' } })
    if (response.status !== 200) throw new Error(`${method} ${path || '/'} answered ${response.status}`)
    return await response.json() as ModelListRequest
  }

  try {
    let request = await api(a, 'POST', '')
    say('frontend@A', `POST -> ${request.status} (request ${request.id})`)
    while (!terminal.has(request.status)) {
      if (Date.now() - started > deadlineMs) throw new Error(`not completed within ${deadlineMs / 1000} s: still ${request.status}`)
      await sleep(100)
      const polled = await api(b, 'GET', `/${request.id}`)
      if (polled.status !== request.status) say('frontend@B', `GET  -> ${polled.status}`)
      request = polled
    }
    if (request.status !== 'completed') throw new Error(`request ended ${request.status}: ${request.error ?? ''}`)

    // Coherence: both replicas answer the very same record.
    const [fromA, fromB] = await Promise.all([a, b].map(replica => api(replica, 'GET', `/${request.id}`)))
    deepStrictEqual(fromA, fromB)
    console.log(`\ncoherent: A and B answer the same record (${fromA.status}, ${fromA.models?.length ?? 0} models, updated ${fromA.updated_at})`)
  } finally {
    await stopDaemon()
    await Promise.all(hosts.map(host => host.close()))
    await deleteOwnKeys(clients[0])
    // The plugin never closes a client it was given: that is ours to do.
    await Promise.all(clients.map(client => client.quit()))
  }
}

setTimeout(() => {
  console.error('replicas: still running after 15 s, giving up')
  process.exit(1)
}, 15_000).unref()

main().catch((error: unknown) => {
  console.error(`\nreplicas failed: ${messageOf(error)}`)
  process.exitCode = 1
})
