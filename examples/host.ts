// A host as it would look in a real API: it owns users, runtimes and daemon
// credentials; fastify-model-list only asks it two questions (getRuntime,
// authorizeDaemon) and gives it one call for its heartbeat route.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { fastifyModelList, type FastifyModelListOptions } from 'fastify-model-list'

export interface Runtime {
  id: string
  owner: string
  online: boolean
  token: string
}

// Demo data. A real host keeps these in its database and stores only a hash
// of each daemon token.
export const runtimes: readonly Runtime[] = [
  { id: 'rt-alice-laptop', owner: 'alice', online: true, token: 'dmn_alice_laptop_3f9c2a' },
  { id: 'rt-alice-nas', owner: 'alice', online: false, token: 'dmn_alice_nas_81d0e4' },
  { id: 'rt-bob-desktop', owner: 'bob', online: true, token: 'dmn_bob_desktop_c75b19' }
]

// One of the runtimes above, by id; the demo scripts name theirs.
export function findRuntime (id: string): Runtime {
  const runtime = runtimes.find(runtime => runtime.id === id)
  if (runtime === undefined) throw new Error(`no runtime ${id} in examples/host.ts`)
  return runtime
}

// The plugin's options the host does not decide itself (store, redis,
// keyPrefix, timeouts), so the same host runs on the memory store or on Redis.
export type HostOptions = Omit<FastifyModelListOptions, 'getRuntime' | 'authorizeDaemon' | 'prefix'> & {
  logger?: boolean
}

function httpError (statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode })
}

export function buildHost (options: HostOptions = {}): FastifyInstance {
  const { logger = false, ...modelListOptions } = options
  const byId = new Map(runtimes.map(runtime => [runtime.id, runtime]))
  const byToken = new Map(runtimes.map(runtime => [runtime.token, runtime]))

  // Demo auth only: the frontend's user is whoever the x-user header names.
  // A real host reads its session or JWT here.
  function currentUser (request: FastifyRequest): string {
    const user = request.headers['x-user']
    if (typeof user !== 'string' || user === '') throw httpError(401, 'x-user header required')
    return user
  }

  // The runtime a daemon's bearer token belongs to. A missing or unknown
  // token is the host's 401; which runtime it may act for is decided by the caller.
  function daemonRuntime (request: FastifyRequest): Runtime {
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')
    if (match === null) throw httpError(401, 'daemon bearer token required')
    const runtime = byToken.get(match[1])
    if (runtime === undefined) throw httpError(401, 'unknown daemon token')
    return runtime
  }

  const app = Fastify({ logger })

  app.register(fastifyModelList, {
    prefix: '/api',
    ...modelListOptions,
    // null for "no such runtime" and "not yours" alike, so the 404 does not
    // tell other users which runtime ids exist.
    getRuntime: async (request, runtimeId) => {
      const runtime = byId.get(runtimeId)
      if (runtime === undefined || runtime.owner !== currentUser(request)) return null
      return { online: runtime.online }
    },
    // A valid token of another runtime is a 404 from the plugin, not a 401:
    // the daemon is authenticated, it just may not report for this runtime.
    authorizeDaemon: async (request, runtimeId) => daemonRuntime(request).id === runtimeId
  })

  // The host's own heartbeat: the daemon is identified by its token alone,
  // and the response carries a list request when one is waiting.
  app.post('/api/daemon/heartbeat', async (request) => {
    const runtime = daemonRuntime(request)
    const pending = await app.claimPendingModelList(runtime.id)
    return { status: 'ok', ...(pending && { pending_model_list: pending }) }
  })

  return app
}
