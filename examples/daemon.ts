// A simulated daemon. It sits behind a NAT, so the server never calls it: it
// heartbeats, and a heartbeat may hand it a model list request to run.
import { setTimeout as sleep } from 'node:timers/promises'
import { reportModelList, ModelListError, type ClientModelEntry, type ClientModelListReport } from 'fastify-model-list/client'

// What discovery finds on this machine (a real daemon asks its CLIs and APIs).
export const catalog: ClientModelEntry[] = [
  {
    id: 'claude-sonnet-4-5',
    label: 'Claude Sonnet 4.5',
    provider: 'anthropic',
    default: true,
    thinking: {
      supported_levels: [
        { value: 'off', label: 'Off', description: 'Answer directly' },
        { value: 'low', label: 'Low', description: 'A short think first' },
        { value: 'high', label: 'High', description: 'Think long on hard problems' }
      ],
      default_level: 'low'
    },
    service_tiers: [
      { id: 'standard', name: 'Standard' },
      { id: 'priority', name: 'Priority', description: 'Lower latency at a higher price' }
    ]
  },
  {
    id: 'claude-haiku-4-5',
    label: 'Claude Haiku 4.5',
    provider: 'anthropic',
    service_tiers: [{ id: 'standard', name: 'Standard' }]
  },
  {
    id: 'gpt-5',
    label: 'GPT-5',
    provider: 'openai',
    thinking: {
      supported_levels: [
        { value: 'minimal', label: 'Minimal' },
        { value: 'medium', label: 'Medium' },
        { value: 'high', label: 'High', description: 'Most reasoning tokens' }
      ],
      default_level: 'medium'
    },
    service_tiers: [
      { id: 'flex', name: 'Flex', description: 'Cheaper, may be slow' },
      { id: 'default', name: 'Default' },
      { id: 'priority', name: 'Priority' }
    ]
  },
  { id: 'qwen3-coder-30b', label: 'Qwen3 Coder 30B', provider: 'ollama' }
]

async function discoverModels (): Promise<ClientModelEntry[]> {
  await sleep(700) // probing local tools takes a moment
  return structuredClone(catalog)
}

export interface DaemonOptions {
  /** Where the host's heartbeat is (its origin). */
  baseUrl: string
  /** Where reports go; default `baseUrl` (replicas.ts sends them elsewhere). */
  reportBaseUrl?: string
  runtimeId: string
  token: string
  intervalMs?: number
  log?: (message: string) => void
  discover?: () => Promise<ClientModelEntry[]>
}

// The host's heartbeat answer, as far as the daemon reads it.
interface HeartbeatAnswer {
  message?: string
  pending_model_list?: { id: string }
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

// fetch's own message is "fetch failed"; the cause says what happened.
const reason = (error: unknown): string =>
  error instanceof Error && error.cause !== undefined ? messageOf(error.cause) : messageOf(error)

// Read even when unused, so the connection goes back to the pool.
const readJson = async (response: Response): Promise<HeartbeatAnswer> =>
  await (response.json() as Promise<HeartbeatAnswer>).catch(() => ({}))

export function startDaemon ({
  baseUrl,
  reportBaseUrl = baseUrl,
  runtimeId,
  token,
  intervalMs = 2000,
  log = () => {},
  discover = discoverModels
}: DaemonOptions): () => Promise<void> {
  const headers = { authorization: `Bearer ${token}` }
  const stopping = new AbortController()
  const { signal } = stopping
  const working = new Set<Promise<void>>()
  let timer: NodeJS.Timeout | undefined

  async function heartbeat (): Promise<void> {
    try {
      const response = await fetch(`${baseUrl}/api/daemon/heartbeat`, { method: 'POST', headers, signal })
      const answer = await readJson(response)
      if (!response.ok) return log(`heartbeat answered ${response.status} ${answer.message ?? ''}`)
      if (answer.pending_model_list !== undefined) track(listModels(answer.pending_model_list.id))
    } catch (error) {
      if (!signal.aborted) log(`heartbeat failed: ${reason(error)}`)
    } finally {
      // Scheduled after the answer, not on a fixed beat: a slow server never
      // gets overlapping heartbeats from one daemon.
      if (!signal.aborted) timer = setTimeout(() => track(heartbeat()), intervalMs)
    }
  }

  // Discovery runs beside the heartbeat loop, which keeps beating meanwhile.
  async function listModels (requestId: string): Promise<void> {
    log(`claimed ${requestId}, discovering models`)
    let report: ClientModelListReport
    try {
      report = { status: 'completed', models: await discover() }
    } catch (error) {
      report = { status: 'failed', error: `discovery failed: ${messageOf(error)}` }
    }
    await sendReport(requestId, report)
  }

  // reportModelList (fastify-model-list/client) sends it again after 0.5 s,
  // 2 s and 4 s on a 5xx or a network error, never on a 4xx. The fetch it is
  // given logs each failed attempt, so the retries show.
  const loggingFetch: typeof fetch = async (url, init) => {
    try {
      const response = await fetch(url, init)
      if (!response.ok) log(`report answered ${response.status}${response.status >= 500 ? ', retrying' : ''}`)
      return response
    } catch (error) {
      if (!signal.aborted) log(`report failed (${reason(error)}), retrying`)
      throw error
    }
  }

  async function sendReport (requestId: string, report: ClientModelListReport): Promise<void> {
    try {
      await reportModelList({ baseUrl: `${reportBaseUrl}/api`, runtimeId, requestId, report, headers, signal, fetch: loggingFetch })
      log(`reported ${report.status}${report.models !== undefined ? ` (${report.models.length} models)` : ''}`)
    } catch (error) {
      const code = error instanceof ModelListError && error.code !== undefined ? ` (${error.code})` : ''
      if (!signal.aborted) log(`report gave up: ${messageOf(error)}${code}`)
    }
  }

  // What stop() waits for. Nothing tracked rejects: failures are logged.
  function track (promise: Promise<void>): void {
    working.add(promise)
    promise.finally(() => working.delete(promise))
  }

  track(heartbeat())

  // Stops beating, abandons fetches and retries in flight, and resolves once
  // nothing of this daemon is left running.
  return async function stop (): Promise<void> {
    stopping.abort()
    clearTimeout(timer)
    await Promise.allSettled([...working])
  }
}
