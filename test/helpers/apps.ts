import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import type { FastifyModelListOptions } from '../../lib/index'
import { catalog } from './contract'

// Host apps for plugin-level tests: the host's hooks kept trivial, the plugin
// registered with `prefix: '/api'` (the `routes` paths below assume it), and a
// heartbeat route written as API.md shows.

export const hooks: Pick<FastifyModelListOptions, 'getRuntime' | 'authorizeDaemon'> = {
  getRuntime: async () => ({ online: true }),
  authorizeDaemon: async () => true
}

/** A Fastify app set up by `register`, plus the host's heartbeat route; ready. */
export async function hostApp (register: (app: FastifyInstance) => Promise<void> | void, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options) as unknown as FastifyInstance
  await register(app)
  app.post<{ Params: { runtimeId: string } }>('/api/daemon/heartbeat/:runtimeId', async (request) => {
    const pending = await app.claimPendingModelList(request.params.runtimeId)
    return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
  })
  await app.ready()
  return app
}

export const routes = {
  create: (rt: string) => ({ method: 'POST' as const, url: `/api/runtimes/${rt}/models` }),
  get: (rt: string, id: string) => ({ method: 'GET' as const, url: `/api/runtimes/${rt}/models/${id}` }),
  heartbeat: (rt: string) => ({ method: 'POST' as const, url: `/api/daemon/heartbeat/${rt}` }),
  report: (rt: string, id: string, body: object) => ({ method: 'POST' as const, url: `/api/daemon/runtimes/${rt}/models/${id}/result`, payload: body })
}

export interface Step {
  step: string
  statusCode: number
  body: unknown
}

export interface FlowApps {
  post: FastifyInstance
  /** A second POST (coalescing joins the first). */
  join: FastifyInstance
  heartbeat: FastifyInstance
  report: FastifyInstance
  get: FastifyInstance
}

function answer (step: string, response: LightMyRequestResponse): Step {
  return { step, statusCode: response.statusCode, body: response.json() }
}

/**
 * The whole flow of API.md, each step on the app named for it: POST, a joining
 * POST, the heartbeat's claim, an empty heartbeat, the report, a late report,
 * the poll. Answers every step's status and JSON body.
 */
export async function runFlow (apps: FlowApps, rt: string): Promise<Step[]> {
  const steps: Step[] = []
  const created = answer('create', await apps.post.inject(routes.create(rt)))
  steps.push(created)
  const id = (created.body as { id: string }).id
  steps.push(answer('join', await apps.join.inject(routes.create(rt))))
  steps.push(answer('heartbeat', await apps.heartbeat.inject(routes.heartbeat(rt))))
  steps.push(answer('heartbeat again', await apps.heartbeat.inject(routes.heartbeat(rt))))
  steps.push(answer('report', await apps.report.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))))
  steps.push(answer('late report', await apps.report.inject(routes.report(rt, id, { status: 'failed', error: 'too late' }))))
  steps.push(answer('get', await apps.get.inject(routes.get(rt, id))))
  return steps
}

/** Ids become their order of first appearance, timestamps a placeholder: what is left must match. */
export function normalize (steps: Step[]): Step[] {
  const ids = new Map<string, string>()
  const walk = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map(item => walk(item))
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]))
    }
    if (typeof value === 'string' && (key === 'created_at' || key === 'updated_at' || key === 'cached_at')) return '<time>'
    if (typeof value === 'string' && key === 'id' && /^[0-9a-f-]{36}$/.test(value)) {
      if (!ids.has(value)) ids.set(value, `<id ${ids.size + 1}>`)
      return ids.get(value)
    }
    return value
  }
  return steps.map(step => walk(step) as Step)
}
