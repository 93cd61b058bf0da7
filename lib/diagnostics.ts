import diagnostics from 'node:diagnostics_channel'

// What the plugin publishes through node:diagnostics_channel (API.md,
// "Diagnostics"), where APM agents and OpenTelemetry instrumentations listen.
// Every message is built only when its channel has a subscriber.

export type LifecycleEvent =
  | 'queued' | 'joined' | 'cached' | 'busy' | 'claimed' | 'handed_back'
  | 'completed' | 'failed' | 'timeout' | 'late_report'

/** One lifecycle event, on the replica where it happened. */
export interface LifecycleMessage {
  event: LifecycleEvent
  kind: string
  runtimeId: string
  requestId: string
  /** When, in epoch ms of the store's clock. */
  at: number
  /** `cached`: whether a background refresh was queued. */
  refreshQueued?: boolean
  /** `claimed`, `completed`, `failed`: from creation to the claim (to the report, when never claimed). */
  pendingMs?: number
  /** `completed`, `failed`: from the claim to the report (0 when never claimed). */
  runningMs?: number
  /** `timeout`: the phase the request timed out in. */
  phase?: 'pending' | 'running'
}

/** The context of one store call on the tracing channel. */
export interface StoreCallContext {
  /** The work store's method: open, get, probe, probeNow, mayHavePending, claim, settle, handBack, watchSettled. */
  operation: string
  /** The kind of work; a probe's kinds, comma-separated. */
  kind: string
  runtimeId: string
  requestId?: string
}

/** One `claimPendingWork` or `claimPendingModelList` call. */
export interface HeartbeatMessage {
  runtimeId: string
  durationMs: number
  probeMs: number
  claimMs: number
  /** Kind name to how many were claimed; kinds with none left out. */
  claimed: Record<string, number>
  /** The store's failure, when it failed (the probe, or a kind's claim). */
  error?: unknown
}

export const lifecycleChannel = diagnostics.channel('fastify-model-list.lifecycle')
export const storeChannel = diagnostics.tracingChannel<unknown, StoreCallContext>('fastify-model-list.store')
export const heartbeatChannel = diagnostics.channel('fastify-model-list.heartbeat')

const { start, end, asyncStart, asyncEnd, error } = storeChannel
/** Whether anyone listens to the store's tracing channel (TracingChannel#hasSubscribers is missing before Node 20.13). */
export function tracingStore (): boolean {
  return start.hasSubscribers || end.hasSubscribers || asyncStart.hasSubscribers || asyncEnd.hasSubscribers || error.hasSubscribers
}
