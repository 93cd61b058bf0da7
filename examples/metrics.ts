// Prometheus metrics from the plugin's diagnostics channels (prom-client):
// lifecycle events counted per kind and event, time to claim and time to
// report, store-call durations from the tracing channel, and the polls held
// right now, all served on GET /metrics. The plugin computes nothing for a
// channel nobody subscribes to; this file is what subscribing looks like.
//   npx tsx examples/metrics.ts    (then curl localhost:3000/metrics)
import diagnostics from 'node:diagnostics_channel'
import Fastify, { type FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { fastifyModelList, type FastifyModelListOptions, type LifecycleMessage, type StoreCallContext } from 'fastify-model-list'

const seconds = (ms: number): number => ms / 1000

/** The metrics, fed by the channels from now until `close()`. */
export function modelListMetrics (registry: Registry): { close: () => void, heldPolls: Gauge } {
  const events = new Counter({ name: 'fastify_model_list_events_total', help: 'Lifecycle events, per kind of work and event', labelNames: ['kind', 'event'], registers: [registry] })
  const timeToClaim = new Histogram({ name: 'fastify_model_list_time_to_claim_seconds', help: 'From creation to the claim of a request', labelNames: ['kind'], registers: [registry] })
  const timeToReport = new Histogram({ name: 'fastify_model_list_time_to_report_seconds', help: 'From the claim to the report of a request', labelNames: ['kind', 'status'], registers: [registry] })
  const storeCalls = new Histogram({ name: 'fastify_model_list_store_call_seconds', help: 'Store calls, per operation and kind', labelNames: ['operation', 'kind', 'outcome'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] })
  const heldPolls = new Gauge({ name: 'fastify_model_list_held_polls', help: 'GETs with wait_ms held right now', registers: [registry] })

  const onLifecycle = (message: unknown): void => {
    const { event, kind, pendingMs, runningMs } = message as LifecycleMessage
    events.inc({ kind, event })
    if (event === 'claimed') timeToClaim.observe({ kind }, seconds(pendingMs as number))
    if (event === 'completed' || event === 'failed') timeToReport.observe({ kind, status: event }, seconds(runningMs as number))
  }
  diagnostics.subscribe('fastify-model-list.lifecycle', onLifecycle)

  // A store call's start, by its context (the same object from start to asyncEnd).
  const started = new WeakMap<object, number>()
  const done = (context: StoreCallContext, outcome: string): void => {
    const at = started.get(context)
    if (at === undefined) return
    started.delete(context)
    storeCalls.observe({ operation: context.operation, kind: context.kind, outcome }, seconds(performance.now() - at))
  }
  const store = diagnostics.tracingChannel<unknown, StoreCallContext>('fastify-model-list.store')
  const tracing = {
    start: (context: StoreCallContext) => { started.set(context, performance.now()) },
    // The memory store's at-once probe is synchronous: it ends at `end`; every other call at `asyncEnd`.
    end: (context: StoreCallContext) => { if (context.operation === 'probeNow') done(context, 'ok') },
    asyncStart: () => {},
    asyncEnd: (context: StoreCallContext) => { done(context, 'error' in context ? 'error' : 'ok') },
    error: (context: StoreCallContext) => { if (context.operation === 'probeNow') done(context, 'error') }
  }
  store.subscribe(tracing)

  return {
    heldPolls,
    close: () => {
      diagnostics.unsubscribe('fastify-model-list.lifecycle', onLifecycle)
      store.unsubscribe(tracing)
    }
  }
}

/** A host with the plugin, a heartbeat route and GET /metrics. */
export async function buildMetricsHost (options: Partial<FastifyModelListOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  const registry = new Registry()
  const metrics = modelListMetrics(registry)
  app.addHook('onClose', async () => { metrics.close() })

  // Held polls as the host sees them: a GET of a request with wait_ms, until it answers.
  const held = new WeakSet<object>()
  app.addHook('onRequest', async request => {
    if (request.method === 'GET' && Number((request.query as { wait_ms?: string }).wait_ms ?? 0) > 0) {
      held.add(request)
      metrics.heldPolls.inc()
    }
  })
  app.addHook('onResponse', async request => {
    if (held.delete(request)) metrics.heldPolls.dec()
  })

  await app.register(fastifyModelList, {
    getRuntime: async () => ({ online: true }),
    authorizeDaemon: async () => true,
    prefix: '/api',
    ...options
  })
  app.post<{ Params: { runtimeId: string } }>('/api/daemon/heartbeat/:runtimeId', async request => {
    const pending = await app.claimPendingModelList(request.params.runtimeId, request)
    return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
  })
  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType)
    return await registry.metrics()
  })
  return app
}

if (require.main === module) {
  buildMetricsHost().then(async app => {
    await app.listen({ port: 3000 })
    console.log('metrics on http://localhost:3000/metrics')
  }).catch(error => {
    console.error(error)
    process.exitCode = 1
  })
}
