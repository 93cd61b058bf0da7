import type { FastifyBaseLogger } from 'fastify'

// While the store is down every heartbeat fails the same way: a line each
// would bury the log. One line per kind of failure per interval, with a count.
export const defaultOutageLogIntervalMs = 10_000
// Kinds come from error codes and names: a store that invents new ones must not grow this without bound.
const maxKinds = 32

interface Window { startedAt: number, repeated: number }

function kindOf (operation: string, error: unknown): string {
  const { code, name } = (error ?? {}) as { code?: unknown, name?: unknown }
  return `${operation} ${typeof code === 'string' ? code : typeof name === 'string' ? name : 'error'}`
}

/**
 * The first failure of a kind is logged at once with its error; the next ones
 * within `intervalMs` are only counted, and the count rides on the first line
 * after the interval, or on a line of its own once a call succeeds again.
 */
export class OutageLog {
  private readonly windows = new Map<string, Window>()

  constructor (
    private readonly message: string,
    private readonly now: () => number,
    private readonly intervalMs = defaultOutageLogIntervalMs
  ) {}

  failed (log: FastifyBaseLogger, operation: string, error: unknown, fields: Record<string, unknown>): void {
    let kind = kindOf(operation, error)
    if (!this.windows.has(kind) && this.windows.size >= maxKinds) kind = `${operation} other`
    const now = this.now()
    const window = this.windows.get(kind)
    if (window !== undefined && now - window.startedAt < this.intervalMs) {
      window.repeated++
      return
    }
    const repeated = window?.repeated ?? 0
    this.windows.set(kind, { startedAt: now, repeated: 0 })
    log.error({ err: error, ...fields, kind, ...(repeated > 0 && { repeatedSinceLastLine: repeated }) }, this.message)
  }

  /** Some failure was logged and not yet followed by a success. */
  get active (): boolean {
    return this.windows.size > 0
  }

  /** A call went through: report what was only counted, and log the next failure at once. */
  recovered (log: FastifyBaseLogger): void {
    for (const [kind, { repeated }] of this.windows) {
      if (repeated > 0) log.error({ kind, repeatedSinceLastLine: repeated }, `${this.message} (${repeated} more before it recovered)`)
    }
    this.windows.clear()
  }
}
