// The wake-up hint over a real WebSocket (@fastify/websocket): a daemon keeps
// a socket open to whichever replica its load balancer picked, and heartbeats
// as soon as that socket says so, instead of at its next regular heartbeat.
// With the Redis store, notifyPendingWork runs on every replica for work
// queued on any of them: each replica tells the sockets it holds and ignores
// the other runtimes.
//   npx tsx examples/websocket-hint.ts    (needs Redis on 127.0.0.1:6379)
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import websocket from '@fastify/websocket'
import WebSocket from 'ws'
import Redis from 'ioredis'
import { fastifyModelList, type PendingModelList } from 'fastify-model-list'

/** One replica: the plugin on the shared Redis, a daemon socket route and the heartbeat route. */
export async function buildReplica ({ redis, keyPrefix }: { redis: Redis, keyPrefix: string }): Promise<FastifyInstance> {
  const sockets = new Map<string, Set<WebSocket>>()
  const app = Fastify()
  await app.register(websocket)
  await app.register(fastifyModelList, {
    // A real host looks its runtimes up and authenticates the daemon here (see examples/host.ts).
    getRuntime: async () => ({ online: true }),
    authorizeDaemon: async () => true,
    redis,
    keyPrefix,
    prefix: '/api',
    notifyPendingWork: runtimeId => {
      for (const socket of sockets.get(runtimeId) ?? []) socket.send('heartbeat')
    }
  })
  app.get<{ Params: { runtimeId: string } }>('/api/daemon/runtimes/:runtimeId/socket', { websocket: true }, (socket, request) => {
    const { runtimeId } = request.params
    let held = sockets.get(runtimeId)
    if (held === undefined) sockets.set(runtimeId, held = new Set())
    held.add(socket)
    socket.on('close', () => {
      held.delete(socket)
      if (held.size === 0) sockets.delete(runtimeId)
    })
  })
  app.post<{ Params: { runtimeId: string } }>('/api/daemon/runtimes/:runtimeId/heartbeat', async request => {
    const pending = await app.claimPendingModelList(request.params.runtimeId, request)
    return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
  })
  return app
}

export interface Daemon {
  /** Resolves once the socket is open. */
  connected: Promise<void>
  close: () => void
}

/**
 * A daemon of `runtimeId` behind a NAT: a socket to `baseUrl` (its replica),
 * a regular heartbeat every `heartbeatEveryMs`, and one more whenever the
 * socket says so. `onPending` gets each claimed model list request.
 */
export function startDaemon ({ baseUrl, runtimeId, heartbeatEveryMs = 30_000, onPending }: {
  baseUrl: string
  runtimeId: string
  heartbeatEveryMs?: number
  onPending: (pending: PendingModelList, why: 'hint' | 'regular') => void
}): Daemon {
  const heartbeat = async (why: 'hint' | 'regular'): Promise<void> => {
    const response = await fetch(`${baseUrl}/api/daemon/runtimes/${runtimeId}/heartbeat`, { method: 'POST' })
    const body = await response.json() as { pending_model_list?: PendingModelList }
    if (body.pending_model_list !== undefined) onPending(body.pending_model_list, why)
  }
  const regular = setInterval(() => { heartbeat('regular').catch(() => {}) }, heartbeatEveryMs)
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/daemon/runtimes/${runtimeId}/socket`)
  socket.on('message', data => {
    if (data.toString() === 'heartbeat') heartbeat('hint').catch(() => {})
  })
  const connected = new Promise<void>((resolve, reject) => {
    // Heartbeats once on connecting, as a daemon does on start-up: whatever was queued meanwhile is claimed.
    socket.once('open', () => { heartbeat('regular').then(resolve, reject) })
    socket.once('error', reject)
  })
  return {
    connected,
    close: () => {
      clearInterval(regular)
      socket.close()
    }
  }
}

async function main (): Promise<void> {
  const keyPrefix = `fml-websocket-example-${randomUUID().slice(0, 8)}`
  const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
  const [a, b] = [await buildReplica({ redis, keyPrefix }), await buildReplica({ redis, keyPrefix })]
  const urlB = await b.listen({ host: '127.0.0.1', port: 0 })
  const runtimeId = 'rt-example'
  let claimed: (pending: PendingModelList, why: string) => void = () => {}
  const done = new Promise<void>(resolve => { claimed = (pending, why) => { console.log(`daemon on replica B claimed ${pending.id} (${why})`); resolve() } })
  const daemon = startDaemon({ baseUrl: urlB, runtimeId, onPending: (pending, why) => { claimed(pending, why) } })
  await daemon.connected
  const started = Date.now()
  const created = (await a.inject({ method: 'POST', url: `/api/runtimes/${runtimeId}/models` })).json() as { id: string }
  console.log(`POST on replica A queued ${created.id}`)
  await done
  console.log(`claimed ${Date.now() - started} ms after the POST, without waiting for the regular heartbeat`)
  daemon.close()
  await a.close()
  await b.close()
  // This run's keys only: the Redis may be shared.
  for await (const keys of redis.scanStream({ match: `${keyPrefix}:*` }) as AsyncIterable<string[]>) {
    if (keys.length > 0) await redis.del(...keys)
  }
  redis.disconnect()
}

if (require.main === module) {
  main().catch(error => {
    console.error(error)
    process.exitCode = 1
  })
}
