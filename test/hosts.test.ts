// The plugin inside hosts set up the way popular Fastify apps are: each host
// runs the whole flow (create, heartbeat claim, report, poll) through inject,
// and our routes keep their strict validation and their serialization there.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { jsonSchemaTransform, serializerCompiler as zodSerializerCompiler, validatorCompiler as zodValidatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import fastifySwagger from '@fastify/swagger'
import { z } from 'zod'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider, Type as HostType } from '@fastify/type-provider-typebox'
import ajvFormats from 'ajv-formats'
import fastifyModelList, { MemoryModelListStore, type FastifyModelListOptions } from '../lib/index'
import { catalog } from './helpers/contract'
import { spyStore } from './helpers/host'

const hooks = {
  getRuntime: async () => ({ online: true }),
  authorizeDaemon: async () => true
}

type Url = (path: string) => string
const asIs: Url = path => path

interface HostCase {
  name?: string
  server?: FastifyServerOptions
  /** The host's own setup, before the plugin is registered. */
  before?: (app: FastifyInstance) => void | Promise<void>
  /** The host's heartbeat route; default: a plain one. */
  heartbeat?: (app: FastifyInstance) => void
  /** How the host's clients spell our URLs. */
  url?: Url
  plugin?: Partial<FastifyModelListOptions>
  /** What this host has to show beyond the flow. */
  check?: (t: Test, app: FastifyInstance, url: Url) => Promise<void>
}

function plainHeartbeat (app: FastifyInstance): void {
  app.post<{ Params: { runtimeId: string } }>('/api/daemon/heartbeat/:runtimeId', async (request) => {
    const pending = await app.claimPendingModelList(request.params.runtimeId, request)
    return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
  })
}

async function buildApp (host: HostCase): Promise<FastifyInstance> {
  const app = Fastify(host.server ?? {})
  await host.before?.(app)
  await app.register(fastifyModelList, { ...hooks, ...host.plugin, prefix: '/api' })
  ;(host.heartbeat ?? plainHeartbeat)(app)
  await app.ready()
  return app
}

/** The whole flow, then the strict checks every host must keep on our routes. */
async function runFlow (t: Test, app: FastifyInstance, url: Url): Promise<void> {
  const created = await app.inject({ method: 'POST', url: url('/api/runtimes/rt-1/models'), payload: {} })
  t.equal(created.statusCode, 200, `create: ${created.body}`)
  const { id, status } = created.json()
  t.equal(status, 'pending')
  t.strictSame(Object.keys(created.json()).sort(), ['created_at', 'id', 'runtime_id', 'status', 'supported', 'updated_at'], 'serialized from our schema')

  const empty = await app.inject({ method: 'POST', url: url('/api/runtimes/rt-1/models') })
  t.equal(empty.json().id, id, 'a bodiless create joins it')

  const heartbeat = await app.inject({ method: 'POST', url: url('/api/daemon/heartbeat/rt-1'), payload: {} })
  t.strictSame(heartbeat.json(), { status: 'ok', pending_model_list: { id } }, 'the heartbeat claims it')

  const reportUrl = url(`/api/daemon/runtimes/rt-1/models/${id as string}/result`)
  const coerced = await app.inject({ method: 'POST', url: reportUrl, payload: { status: 'completed', models: catalog, supported: 'true' } })
  t.equal(coerced.statusCode, 400, 'no coercion on our bodies, whatever the host coerces')
  t.equal(coerced.json().code, 'FST_ERR_VALIDATION')
  const wrongStatus = await app.inject({ method: 'POST', url: reportUrl, payload: { status: 'complete' } })
  t.equal(wrongStatus.statusCode, 400)
  t.match(wrongStatus.json().message, /completed, failed/, 'the message names the allowed values')

  const report = await app.inject({ method: 'POST', url: reportUrl, payload: { status: 'completed', models: catalog, unknown: 'dropped' } })
  t.strictSame(report.json(), { status: 'ok' }, 'the report lands')

  const polled = await app.inject({ method: 'GET', url: url(`/api/runtimes/rt-1/models/${id as string}`) })
  t.equal(polled.statusCode, 200)
  t.equal(polled.json().status, 'completed')
  t.strictSame(polled.json().models, catalog, 'the poll answers the catalog')
}

let releaseClose: () => void = () => {}
let closeStarted: () => void = () => {}

const hosts: HostCase[] = [
  {
    name: "the zod type provider (fastify-type-provider-zod's compilers at the root)",
    before: app => {
      app.setValidatorCompiler(zodValidatorCompiler)
      app.setSerializerCompiler(zodSerializerCompiler)
    },
    heartbeat: app => {
      app.withTypeProvider<ZodTypeProvider>().post('/api/daemon/heartbeat/:runtimeId', {
        schema: {
          params: z.object({ runtimeId: z.string().min(1) }),
          response: { 200: z.object({ status: z.literal('ok'), pending_model_list: z.object({ id: z.string() }).optional() }) }
        }
      }, async (request) => {
        const pending = await app.claimPendingModelList(request.params.runtimeId, request)
        return { status: 'ok' as const, ...(pending !== null && { pending_model_list: pending }) }
      })
    },
    check: async (t, app) => {
      app.log.level = 'silent'
      const res = await app.inject({ method: 'POST', url: '/api/daemon/heartbeat/rt-1' })
      t.equal(res.statusCode, 200, "the host's own zod route still answers with its compilers")
    }
  },
  {
    name: "the zod type provider with @fastify/swagger and zod's jsonSchemaTransform, kept to the host's routes",
    before: async app => {
      app.setValidatorCompiler(zodValidatorCompiler)
      app.setSerializerCompiler(zodSerializerCompiler)
      // zod's transform reads every schema as zod: our routes' TypeBox schemas pass through as they are.
      const ours = (url: string): boolean => url.startsWith('/api/runtimes/') || url.startsWith('/api/daemon/runtimes/')
      await app.register(fastifySwagger, {
        openapi: { info: { title: 'host', version: '1.0.0' } },
        transform: input => ours(input.url) ? { schema: input.schema, url: input.url } : jsonSchemaTransform(input)
      })
      app.withTypeProvider<ZodTypeProvider>().post('/api/signup', { schema: { body: z.object({ email: z.string() }) } }, async () => 'ok')
    },
    check: async (t, app) => {
      const paths = app.swagger().paths as Record<string, any>
      t.strictSame(Object.keys(paths).sort(), [
        '/api/daemon/heartbeat/{runtimeId}',
        '/api/daemon/runtimes/{runtimeId}/models/{requestId}/result',
        '/api/runtimes/{runtimeId}/models',
        '/api/runtimes/{runtimeId}/models/{requestId}',
        '/api/signup'
      ])
      t.equal(paths['/api/runtimes/{runtimeId}/models'].post.parameters[0].schema.pattern, '^[A-Za-z0-9_-]{1,100}$', 'our schemas, as TypeBox wrote them')
      t.equal(paths['/api/signup'].post.requestBody.content['application/json'].schema.properties.email.type, 'string', "the host's zod schemas, converted")
    }
  },
  {
    name: 'the TypeBox type provider (its validator compiler at the root)',
    before: app => { app.setValidatorCompiler(TypeBoxValidatorCompiler) },
    heartbeat: app => {
      app.withTypeProvider<TypeBoxTypeProvider>().post('/api/daemon/heartbeat/:runtimeId', {
        schema: { params: HostType.Object({ runtimeId: HostType.String({ minLength: 1 }) }) }
      }, async (request) => {
        const pending = await app.claimPendingModelList(request.params.runtimeId, request)
        return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
      })
    }
  },
  {
    name: 'a custom Ajv (customOptions and plugins)',
    server: { ajv: { customOptions: { coerceTypes: 'array', removeAdditional: 'all', allErrors: true }, plugins: [ajvFormats as any] } },
    before: app => {
      app.post('/api/signup', { schema: { body: { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email' } } } } }, async () => 'ok')
    },
    check: async (t, app) => {
      const res = await app.inject({ method: 'POST', url: '/api/signup', payload: { email: 'not an email' } })
      t.equal(res.statusCode, 400, "the host's Ajv, formats plugin included, still serves the host's routes")
      t.equal((await app.inject({ method: 'POST', url: '/api/signup', payload: { email: 'a@b.co' } })).statusCode, 200)
    }
  },
  {
    name: 'exposeHeadRoutes',
    server: { exposeHeadRoutes: true },
    check: async (t, app) => {
      const { id } = (await app.inject({ method: 'POST', url: '/api/runtimes/rt-2/models' })).json()
      const head = await app.inject({ method: 'HEAD', url: `/api/runtimes/rt-2/models/${id as string}` })
      t.equal(head.statusCode, 200, 'HEAD on the poll route')
      t.equal(head.body, '', 'with no body')
    }
  },
  {
    name: 'ignoreTrailingSlash',
    server: { routerOptions: { ignoreTrailingSlash: true } },
    url: path => `${path}/`
  },
  {
    name: 'caseSensitive: false',
    server: { routerOptions: { caseSensitive: false } },
    // The ids keep their case: only the fixed parts of the path are spelled differently.
    url: path => path.replace('/api/', '/API/').replace('/models', '/MODELS').replace('/runtimes/', '/Runtimes/'),
    check: async (t, app) => {
      const res = await app.inject({ method: 'POST', url: '/API/RUNTIMES/Rt-ABC/Models' })
      t.equal(res.json().runtime_id, 'Rt-ABC', 'a mixed-case runtime id keeps its case')
    }
  },
  {
    name: 'return503OnClosing',
    server: { return503OnClosing: true },
    before: app => {
      // Holds the close open while the check sends a request.
      app.addHook('preClose', async () => { closeStarted(); await new Promise<void>(resolve => { releaseClose = resolve }) })
    },
    check: async (t, app) => {
      // inject refuses a closing app: a real request on a loopback port.
      const address = await app.listen({ port: 0, host: '127.0.0.1' })
      const started = new Promise<void>(resolve => { closeStarted = resolve })
      const closing = app.close()
      await started
      const res = await fetch(`${address}/api/runtimes/rt-1/models`, { method: 'POST' })
      t.equal(res.status, 503, "Fastify's own 503 while the host closes")
      releaseClose()
      await closing
    }
  }
]

for (const host of hosts) {
  t.test(host.name as string, async t => {
    const app = await buildApp(host)
    t.teardown(() => app.close())
    await runFlow(t, app, host.url ?? asIs)
    await host.check?.(t, app, host.url ?? asIs)
  })
}

t.test("a host JSON parser keeping rawBody runs on every body of ours, and the host's hooks on every route", async t => {
  const parsed: string[] = []
  const hooked: string[] = []
  const raw: Record<string, string | undefined> = {}
  const app = await buildApp({
    before: app => {
      app.removeContentTypeParser('application/json')
      app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
        parsed.push(request.routeOptions.url as string)
        ;(request as FastifyRequest & { rawBody?: string }).rawBody = body as string
        done(null, JSON.parse(body as string))
      })
      app.addHook('onRequest', async request => { hooked.push(`${request.method} ${request.routeOptions.url as string}`) })
      app.addHook('preHandler', async request => { raw[request.routeOptions.url as string] ??= (request as FastifyRequest & { rawBody?: string }).rawBody })
    },
    name: 'rawBody'
  })
  t.teardown(() => app.close())
  await runFlow(t, app, asIs)
  const routes = ['/api/runtimes/:runtimeId/models', '/api/daemon/runtimes/:runtimeId/models/:requestId/result', '/api/daemon/heartbeat/:runtimeId']
  for (const route of routes) t.ok(parsed.includes(route), `the host's parser ran on ${route}`)
  t.equal(raw['/api/runtimes/:runtimeId/models'], '{}', 'the create body kept raw')
  t.match(raw['/api/daemon/runtimes/:runtimeId/models/:requestId/result'], /^\{"status":"completed"/, 'the report kept raw, for a signature check')
  for (const route of ['POST /api/runtimes/:runtimeId/models', 'GET /api/runtimes/:runtimeId/models/:requestId', 'POST /api/daemon/runtimes/:runtimeId/models/:requestId/result']) {
    t.ok(hooked.includes(route), `the host's onRequest hook ran on ${route}`)
  }
  const before = parsed.length
  const empty = await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models', headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(empty.statusCode, 200, 'an empty JSON body still counts as none')
  t.equal(parsed.length, before, 'and there is nothing for the parser to read')
})

t.test("a custom error handler sees our codes, and the store error as `cause`", async t => {
  const seen: Array<{ code?: string, statusCode?: number, cause?: unknown, validation?: unknown }> = []
  const inner = new MemoryModelListStore()
  t.teardown(() => inner.close())
  let failing = false
  const outage = new Error('connect ECONNREFUSED 10.0.0.1:6379')
  const store = spyStore(inner, { get: async (...args: [string, string]) => { if (failing) throw outage; return await inner.get(...args) } })
  const app = await buildApp({
    name: 'error handler',
    plugin: { store },
    before: app => {
      app.setErrorHandler((error: Error & { code?: string, statusCode?: number, validation?: unknown }, request, reply) => {
        seen.push({ code: error.code, statusCode: error.statusCode, cause: error.cause, validation: error.validation })
        void reply.status(error.statusCode ?? 500).send({ code: error.code, message: error.message, handledBy: 'host' })
      })
    }
  })
  t.teardown(() => app.close())
  await runFlow(t, app, asIs)
  t.equal(seen.filter(error => error.code === 'FST_ERR_VALIDATION').length, 2, 'the two refused reports')
  const enumError = seen[1]?.validation as Array<{ keyword: string, params: { allowedValues?: unknown[] } }>
  t.equal(enumError[0]?.keyword, 'enum')
  t.strictSame(enumError[0]?.params.allowedValues, ['completed', 'failed'], "in Ajv's shape")

  const notFound = await app.inject({ method: 'GET', url: '/api/runtimes/rt-1/models/nope' })
  t.strictSame(notFound.json(), { code: 'FST_MODEL_LIST_REQUEST_NOT_FOUND', message: 'request not found', handledBy: 'host' })
  failing = true
  const down = await app.inject({ method: 'GET', url: '/api/runtimes/rt-1/models/nope' })
  t.equal(down.statusCode, 503)
  t.strictSame(down.json(), { code: 'FST_MODEL_LIST_STORE_UNAVAILABLE', message: 'model list store unavailable', handledBy: 'host' }, 'the host answers as it likes, with no internal detail')
  t.equal(down.headers['retry-after'], '1')
  const last = seen[seen.length - 1]
  t.equal(last?.code, 'FST_MODEL_LIST_STORE_UNAVAILABLE')
  t.equal(last?.cause, outage, "the store's own error is the cause")
})

interface Line { level: number, msg?: string, err?: Error, [key: string]: unknown }

/** A host's own logger object (not pino): every line kept as it was given, bindings included. */
function recordingLogger (lines: Line[], bindings: Record<string, unknown> = {}): any {
  const write = (level: number) => (fields: unknown, msg?: string) => {
    lines.push({ level, ...bindings, ...(typeof fields === 'object' && fields !== null ? fields : { msg: String(fields) }), ...(msg !== undefined && { msg }) })
  }
  return {
    level: 'info',
    trace: write(10),
    debug: write(20),
    info: write(30),
    warn: write(40),
    error: write(50),
    fatal: write(60),
    silent: () => {},
    child: (more: Record<string, unknown>) => recordingLogger(lines, { ...bindings, ...more })
  }
}

t.test('a custom logger: one line per store failure, and the request id on heartbeat lines', async t => {
  const lines: Line[] = []
  const errors = (): Line[] => lines.filter(line => line.level >= 50)
  let failing = false
  const inner = new MemoryModelListStore()
  t.teardown(() => inner.close())
  const broken = (method: 'hasPending' | 'get') => async (...args: [string, string]) => {
    if (failing) throw new Error(`ECONNRESET during ${method}`)
    return await (inner[method] as (...a: unknown[]) => Promise<unknown>)(...args)
  }
  let next = 0
  const app = await buildApp({
    name: 'logger',
    server: { loggerInstance: recordingLogger(lines), genReqId: () => `host-${++next}` },
    plugin: { store: spyStore(inner, { hasPending: broken('hasPending'), get: broken('get') }) }
  })
  t.teardown(() => app.close())
  await runFlow(t, app, asIs)
  t.equal(errors().length, 0, 'a healthy flow logs no error')

  failing = true
  const polls = 5
  for (let i = 0; i < polls; i++) {
    const res = await app.inject({ method: 'GET', url: '/api/runtimes/rt-1/models/some-id' })
    t.equal(res.statusCode, 503)
  }
  const pollLines = errors()
  t.equal(pollLines.length, polls, "one line per failed request, not ours plus Fastify's")
  t.ok(pollLines.every(line => /^host-/.test(String(line.reqId)) && /ECONNRESET during get/.test(String(line.err?.cause))), 'each with its request id and the cause')

  const heartbeats = 20
  for (let i = 0; i < heartbeats; i++) {
    t.strictSame((await app.inject({ method: 'POST', url: '/api/daemon/heartbeat/rt-1' })).json(), { status: 'ok' })
  }
  const heartbeatLines = errors().slice(polls)
  t.equal(heartbeatLines.length, 1, `${heartbeats} failing heartbeats within the interval: one line`)
  const heartbeatIds = lines.filter(line => line.msg === 'incoming request' && line.req !== undefined).map(line => line.reqId)
  t.equal(heartbeatLines[0]?.reqId, heartbeatIds[heartbeatIds.length - heartbeats], "on the first failing heartbeat's own logger: its id on the line")
  t.equal(heartbeatLines[0]?.runtimeId, 'rt-1')
  failing = false
  await app.inject({ method: 'POST', url: '/api/daemon/heartbeat/rt-1' })
  const recovered = errors().slice(polls + 1)
  t.equal(recovered.length, 1, 'recovery reports the count')
  t.equal(recovered[0]?.repeatedSinceLastLine, heartbeats - 1)
})
