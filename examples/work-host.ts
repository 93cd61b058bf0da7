// A host handing its daemons four kinds of work, as the Go original does: the
// model list (built in) and three declared here. Each declaration is all a kind
// costs: its routes, validation, storage and heartbeat answer come from it.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { fastifyModelList, daemonWork, type FastifyModelListOptions } from 'fastify-model-list'

const Text = Type.String({ maxLength: 256 })

// The daemon lists the skills installed on its machine.
export const localSkills = daemonWork({
  name: 'local_skills',
  result: Type.Object({ skills: Type.Array(Type.Object({ name: Text, description: Type.Optional(Type.String({ maxLength: 1024 })) }), { maxItems: 1000 }) })
})

// Imports a skill: params travel to the daemon; up to 10 per heartbeat; 3 minutes to be claimed.
export const skillImport = daemonWork({
  name: 'skill_import',
  path: 'skill-imports',
  params: Type.Object({ source: Type.String({ maxLength: 2048 }) }),
  result: Type.Object({ name: Text, installed: Type.Boolean() }),
  pendingTimeoutMs: 180_000,
  coalesce: false,
  claimBatch: 10
})

// Updates the daemon's CLI: one at a time per runtime (a second POST answers 409).
export const cliUpdate = daemonWork({
  name: 'cli_update',
  params: Type.Object({ version: Type.Optional(Type.String({ maxLength: 64 })) }),
  result: Type.Object({ from: Text, to: Text }),
  exclusive: true,
  pendingTimeoutMs: 120_000,
  runningTimeoutMs: 150_000
})

export const work = [localSkills, skillImport, cliUpdate] as const

export interface WorkRuntime {
  id: string
  owner: string
  online: boolean
  token: string
}

// Demo data: a real host keeps runtimes and (hashed) daemon tokens in its database.
export const runtimes: readonly WorkRuntime[] = [{ id: 'rt-laptop', owner: 'alice', online: true, token: 'dmn_laptop_7e21' }]

export type WorkHostOptions = Omit<FastifyModelListOptions, 'getRuntime' | 'authorizeDaemon' | 'prefix' | 'work'> & {
  logger?: boolean
}

function httpError (statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode })
}

export function buildWorkHost (options: WorkHostOptions = {}): FastifyInstance {
  const { logger = false, ...pluginOptions } = options
  const byId = new Map(runtimes.map(runtime => [runtime.id, runtime]))
  const byToken = new Map(runtimes.map(runtime => [runtime.token, runtime]))
  const daemonRuntime = (request: FastifyRequest): WorkRuntime => {
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    const runtime = token === undefined ? undefined : byToken.get(token)
    if (runtime === undefined) throw httpError(401, 'daemon bearer token required')
    return runtime
  }

  const app = Fastify({ logger })
  app.register(fastifyModelList, {
    prefix: '/api',
    ...pluginOptions,
    work,
    getRuntime: async (request, runtimeId) => {
      const runtime = byId.get(runtimeId)
      return runtime !== undefined && runtime.owner === request.headers['x-user'] ? { online: runtime.online } : null
    },
    authorizeDaemon: async (request, runtimeId) => daemonRuntime(request).id === runtimeId
  })

  // One heartbeat claims every kind, with one store round trip when there is nothing to do.
  app.post('/api/daemon/heartbeat', async request => {
    const runtime = daemonRuntime(request)
    const pending = await app.claimPendingWork<typeof work>(runtime.id, request)
    return { status: 'ok', ...pending }
  })
  return app
}
