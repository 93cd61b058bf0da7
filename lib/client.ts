// fastify-model-list/client: the frontend's and the daemon's side of the
// protocol, on the platform fetch. Self-contained on purpose: it imports no
// server code (no Fastify, no TypeBox), so it bundles for browsers as it is.

/** The wire shapes the helpers read, as the server's schemas define them. */
export interface ClientThinkingLevel { value: string, label: string, description?: string }
export interface ClientModelEntry {
  id: string
  label: string
  provider?: string
  default?: boolean
  thinking?: { supported_levels: ClientThinkingLevel[], default_level?: string }
  service_tiers?: Array<{ id: string, name: string, description?: string }>
}
export type ClientModelListStatus = 'pending' | 'running' | 'completed' | 'failed' | 'timeout'
/** The daemon's report body. */
export interface ClientModelListReport {
  status: 'completed' | 'failed'
  models?: ClientModelEntry[]
  supported?: boolean
  error?: string
  fallback?: boolean
}

interface WireRequest {
  id: string
  status: ClientModelListStatus
  models?: ClientModelEntry[]
  supported: boolean
  error?: string
  cached?: boolean
  cached_at?: string
}

type Fetch = typeof globalThis.fetch

interface CommonOptions {
  /** Where the plugin's routes are mounted, register prefix included. */
  baseUrl: string
  runtimeId: string
  /** Default: the platform's `fetch`. */
  fetch?: Fetch
  /** Sent with every request (the host's auth, for example). */
  headers?: Record<string, string>
  signal?: AbortSignal
}

export interface ListModelsOptions extends CommonOptions {
  /** Skip the server's catalog cache and ask the daemon. */
  force?: boolean
  /** Give up after this long; default 95 s, beyond the server's pending plus running timeouts. */
  timeoutMs?: number
}

export interface ListModelsResult {
  models: ClientModelEntry[]
  supported: boolean
  /** The answer came from the server's catalog cache. */
  cached: boolean
  /** When that catalog was stored (ISO 8601); only on a cache answer. */
  cachedAt?: string
}

export interface ReportModelListOptions extends CommonOptions {
  requestId: string
  report: ClientModelListReport
}

/** Why a helper gave up: the server's answer when there was one. */
export class ModelListError extends Error {
  /** The HTTP status of the answer that ended it. */
  declare statusCode?: number
  /** The server's error code (`FST_MODEL_LIST_...`), or the client's own (`ETIMEDOUT`, `ENETWORK`). */
  declare code?: string
  /** The request's status when it ended `failed` or `timeout`. */
  declare status?: ClientModelListStatus

  constructor (message: string, details: { statusCode?: number, code?: string, status?: ClientModelListStatus, cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'ModelListError'
    if (details.statusCode !== undefined) this.statusCode = details.statusCode
    if (details.code !== undefined) this.code = details.code
    if (details.status !== undefined) this.status = details.status
  }
}

const defaultTimeoutMs = 95_000
// The server holds a poll up to 30 s; ask for less so proxies with a 30 s idle
// limit do not cut it.
const longPollMs = 25_000
// A poll answered early and still not terminal (a server or store that cannot
// hold polls): wait before the next one, longer each time, so it never spins.
const earlyPollBackoffMs = [250, 500, 1_000, 2_000]
// A poll answered within this much of what it asked counts as held; one that
// asked for less than twice this is never counted as held (no burst of tiny polls).
const heldSlackMs = 100
// A poll answered 503 (the server's store was briefly unavailable, or the
// replica busy): the request may well have completed meanwhile, so the poll is
// sent again after these waits before the picker is told of a failure.
const pollRetryDelaysMs = [250, 500, 1_000, 2_000, 4_000]
/** After a 5xx or a network error the report is sent again after these waits. */
const reportRetryDelaysMs = [500, 2_000, 4_000]

function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

function runtimeUrl (baseUrl: string, runtimeId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/runtimes/${encodeURIComponent(runtimeId)}`
}

// The server's error shape (`statusCode`, `code`, `message`), or what can be said without it.
async function errorFrom (response: Response): Promise<ModelListError> {
  let body: { code?: unknown, message?: unknown } = {}
  try {
    body = await response.json() as typeof body
  } catch {}
  const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status}`
  return new ModelListError(message, { statusCode: response.status, code: typeof body.code === 'string' ? body.code : undefined })
}

interface Sender {
  fetch: Fetch
  headers: Record<string, string>
  signal: AbortSignal
}

async function send (sender: Sender, method: string, url: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { ...sender.headers }
  if (body !== undefined) headers['content-type'] = 'application/json'
  return await sender.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: sender.signal })
}

function isTerminal (status: ClientModelListStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'timeout'
}

function settled (request: WireRequest): ListModelsResult {
  if (request.status !== 'completed') {
    throw new ModelListError(request.error ?? `model list ${request.status}`, { status: request.status })
  }
  const result: ListModelsResult = { models: request.models ?? [], supported: request.supported, cached: request.cached === true }
  if (request.cached_at !== undefined) result.cachedAt = request.cached_at
  return result
}

/**
 * Asks for a runtime's models and waits for the answer: POST, then long polls
 * until the request is terminal. Resolves on `completed`; rejects with a
 * ModelListError otherwise, or when `timeoutMs` passes. An aborted `signal`
 * rejects with its reason.
 */
export async function listModels (options: ListModelsOptions): Promise<ListModelsResult> {
  const { baseUrl, runtimeId, force = false, timeoutMs = defaultTimeoutMs, signal } = options
  const deadline = new AbortController()
  const timer = setTimeout(() => { deadline.abort(new ModelListError(`no answer within ${timeoutMs} ms`, { code: 'ETIMEDOUT' })) }, timeoutMs)
  const stop = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal])
  const sender: Sender = { fetch: options.fetch ?? globalThis.fetch, headers: options.headers ?? {}, signal: stop }
  // A body read cut by the abort rejects with its own error: answer the reason.
  const unwrap = (error: unknown): never => { throw stop.aborted ? stop.reason : error }
  return await poll(sender, `${runtimeUrl(baseUrl, runtimeId)}/models`, force, timeoutMs)
    .catch(unwrap)
    .finally(() => { clearTimeout(timer) })
}

// POST, then long polls until the request is terminal, backing off when a
// poll comes back early and unfinished.
async function poll (sender: Sender, base: string, force: boolean, timeoutMs: number): Promise<ListModelsResult> {
  const started = Date.now()
  const stop = sender.signal
  let request = await answer(await guarded(stop, send(sender, 'POST', base, force ? { force: true } : undefined)))
  let early = 0
  while (!isTerminal(request.status)) {
    const url = `${base}/${encodeURIComponent(request.id)}`
    let waitMs = 0
    let asked = 0
    request = await answer(await retryingUnavailable(stop, async () => {
      // Each attempt asks for no more than the time left.
      waitMs = Math.max(0, Math.min(longPollMs, timeoutMs - (Date.now() - started)))
      asked = Date.now()
      return await guarded(stop, send(sender, 'GET', `${url}?wait_ms=${waitMs}`))
    }))
    if (isTerminal(request.status)) break
    if (waitMs >= 2 * heldSlackMs && Date.now() - asked + heldSlackMs >= waitMs) {
      early = 0
    } else {
      await sleep(earlyPollBackoffMs[Math.min(early, earlyPollBackoffMs.length - 1)], stop)
      early++
    }
  }
  return settled(request)
}

// A poll's answer, sent again after each of pollRetryDelaysMs while it is a 503;
// the last answer whatever it is.
async function retryingUnavailable (stop: AbortSignal, attempt: () => Promise<Response>): Promise<Response> {
  for (const delay of pollRetryDelaysMs) {
    const response = await attempt()
    if (response.status !== 503) return response
    // Dropped, not awaited: the wait starts now.
    response.body?.cancel().catch(() => {})
    await sleep(delay, stop)
  }
  return await attempt()
}

// A fetch that fails without an answer is a network error, unless we stopped it.
async function guarded (signal: AbortSignal, pending: Promise<Response>): Promise<Response> {
  try {
    return await pending
  } catch (error) {
    if (signal.aborted) throw signal.reason
    throw new ModelListError(`network error: ${(error as Error).message}`, { code: 'ENETWORK', cause: error })
  }
}

async function answer (response: Response): Promise<WireRequest> {
  if (!response.ok) throw await errorFrom(response)
  return await response.json() as WireRequest
}

/**
 * The daemon's report of a claimed request. Sent again after 0.5 s, 2 s and
 * 4 s on a 5xx or a network error; never on a 4xx (the server refused it for
 * good). Resolves with the server's answer (`{ status: 'ok' }`).
 */
export async function reportModelList (options: ReportModelListOptions): Promise<{ status: string }> {
  const { baseUrl, runtimeId, requestId, report, signal } = options
  const stop = signal ?? new AbortController().signal
  const sender: Sender = { fetch: options.fetch ?? globalThis.fetch, headers: options.headers ?? {}, signal: stop }
  const url = `${baseUrl.replace(/\/+$/, '')}/daemon/runtimes/${encodeURIComponent(runtimeId)}/models/${encodeURIComponent(requestId)}/result`
  for (const delay of reportRetryDelaysMs) {
    const sent = await sendReport(sender, url, report)
    if (!(sent instanceof ModelListError)) return sent
    await sleep(delay, stop)
  }
  const last = await sendReport(sender, url, report)
  if (last instanceof ModelListError) throw last
  return last
}

// One attempt: the server's answer, or the failure worth another attempt (a
// 5xx or a network error). Anything else throws.
async function sendReport (sender: Sender, url: string, report: ClientModelListReport): Promise<{ status: string } | ModelListError> {
  let response: Response
  try {
    response = await guarded(sender.signal, send(sender, 'POST', url, report))
  } catch (error) {
    if (error instanceof ModelListError && error.code === 'ENETWORK') return error
    throw error
  }
  if (response.ok) return await response.json() as { status: string }
  const failure = await errorFrom(response)
  if (response.status >= 500) return failure
  throw failure
}
