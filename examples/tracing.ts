// OpenTelemetry spans from the plugin's diagnostics channels: one span per
// store call (from the `fastify-model-list.store` tracing channel, so a slow
// Redis shows up under the request that waited for it) and one per heartbeat
// claim call (from `fastify-model-list.heartbeat`, with its phases). Any
// tracer works; examples/tracing's test exports to memory.
import diagnostics from 'node:diagnostics_channel'
import { SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api'
import type { HeartbeatMessage, StoreCallContext } from 'fastify-model-list'

/** Spans for store calls and heartbeats on `tracer`, from now until the answer is called. */
export function traceModelList (tracer: Tracer): () => void {
  // A store call's span, by its context (the same object from start to asyncEnd).
  const spans = new WeakMap<object, Span>()
  const end = (context: StoreCallContext): void => {
    spans.get(context)?.end()
    spans.delete(context)
  }
  const tracing = {
    start: (context: StoreCallContext) => {
      spans.set(context, tracer.startSpan(`fastify-model-list.store ${context.operation}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'fastify_model_list.operation': context.operation,
          'fastify_model_list.kind': context.kind,
          'fastify_model_list.runtime_id': context.runtimeId,
          ...(context.requestId !== undefined && { 'fastify_model_list.request_id': context.requestId })
        }
      }))
    },
    // The memory store's at-once probe is synchronous: it ends at `end`; every other call at `asyncEnd`.
    end: (context: StoreCallContext) => { if (context.operation === 'probeNow') end(context) },
    asyncStart: () => {},
    asyncEnd: end,
    error: (context: StoreCallContext & { error?: unknown }) => {
      const span = spans.get(context)
      if (span === undefined) return
      span.recordException(context.error instanceof Error ? context.error : String(context.error))
      span.setStatus({ code: SpanStatusCode.ERROR })
      if (context.operation === 'probeNow') end(context)
    }
  }
  const store = diagnostics.tracingChannel<unknown, StoreCallContext>('fastify-model-list.store')
  store.subscribe(tracing)

  // The heartbeat message comes once the call is over: its span starts durationMs before.
  const onHeartbeat = (message: unknown): void => {
    const { runtimeId, durationMs, probeMs, claimMs, claimed, error } = message as HeartbeatMessage
    const now = Date.now()
    const span = tracer.startSpan('fastify-model-list.heartbeat', {
      startTime: now - durationMs,
      attributes: {
        'fastify_model_list.runtime_id': runtimeId,
        'fastify_model_list.probe_ms': probeMs,
        'fastify_model_list.claim_ms': claimMs,
        ...Object.fromEntries(Object.entries(claimed).map(([kind, count]) => [`fastify_model_list.claimed.${kind}`, count]))
      }
    })
    if (error !== undefined) {
      span.recordException(error instanceof Error ? error : String(error))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
    span.end(now)
  }
  diagnostics.subscribe('fastify-model-list.heartbeat', onHeartbeat)

  return () => {
    store.unsubscribe(tracing)
    diagnostics.unsubscribe('fastify-model-list.heartbeat', onHeartbeat)
  }
}
