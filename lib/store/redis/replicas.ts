import type { FastifyBaseLogger } from 'fastify'
import { InvalidOptionError, shown } from '../../errors'
import type { RedisClient } from './client'

/** After each state change, wait (Redis WAIT) until this many replicas have it, at most `timeoutMs`. */
export interface WaitForReplicas {
  replicas: number
  timeoutMs: number
}

// WAIT's timeout is a C long on the server; a duration past this one is a mistake anyway.
const maxTimeoutMs = 2 ** 31 - 1
// One line per interval while changes go unacknowledged (a replica down, a lagging link).
export const defaultUnacknowledgedLogIntervalMs = 10_000

function checkCount (name: string, value: unknown, max: number): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw new InvalidOptionError(`waitForReplicas.${name} must be a positive integer${max === maxTimeoutMs ? ` of milliseconds up to ${max}` : ''}, got ${shown(value)}`)
  }
  return value as number
}

/** The option as given, checked (naming the field at fault and what it got); undefined is off. */
export function checkWaitForReplicas (value: unknown): WaitForReplicas | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(`waitForReplicas must be an object { replicas, timeoutMs }, got ${shown(value)}`)
  }
  const unknown = Object.keys(value).filter(key => key !== 'replicas' && key !== 'timeoutMs')
  if (unknown.length > 0) throw new InvalidOptionError(`waitForReplicas takes replicas and timeoutMs, not ${unknown.join(', ')}`)
  const { replicas, timeoutMs } = value as Record<string, unknown>
  return { replicas: checkCount('replicas', replicas, Number.MAX_SAFE_INTEGER), timeoutMs: checkCount('timeoutMs', timeoutMs, maxTimeoutMs) }
}

/** What the store needs of a client's pipeline: a script command by name, WAIT, and exec. */
interface Pipeline {
  wait(replicas: number, timeoutMs: number): Pipeline
  exec(): Promise<Array<[Error | null, unknown]> | null>
}

type Warn = (fields: Record<string, unknown>, message: string) => void

const emitWarn: Warn = (_fields, message) => process.emitWarning(message, 'FastifyModelListWarning')

/**
 * Runs a state-changing script and WAIT in one pipeline: one round trip, to
 * the node that holds the change (on a Cluster, the script's keys route the
 * pipeline; WAIT has none, so it rides along). WAIT counts the replicas that
 * have every write made so far on that connection. A change not acknowledged
 * in time stands; it is logged, one line per interval with a count.
 */
export class ReplicaWait {
  private warn: Warn = emitWarn
  private lastLineAt: number | undefined
  private unacknowledged = 0

  constructor (
    private readonly options: WaitForReplicas,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = defaultUnacknowledgedLogIntervalMs
  ) {}

  useLog (log: FastifyBaseLogger): void {
    this.warn = (fields, message) => log.warn(fields, message)
  }

  /** The script's reply, once WAIT has answered (or failed: the change stands either way). */
  async run (redis: RedisClient, script: string, args: Array<string | number>): Promise<unknown> {
    const { replicas, timeoutMs } = this.options
    const pipeline = (redis.pipeline as () => Pipeline).call(redis)
    ;(pipeline as unknown as Record<string, (...args: Array<string | number>) => Pipeline>)[script](...args)
    const [[failed, reply], [waitFailed, acknowledged]] = await pipeline.wait(replicas, timeoutMs).exec() as Array<[Error | null, unknown]>
    if (failed !== null) throw failed
    if (waitFailed !== null || (acknowledged as number) < replicas) this.missed(waitFailed, acknowledged)
    return reply
  }

  private missed (error: Error | null, acknowledged: unknown): void {
    this.unacknowledged++
    const now = this.now()
    if (this.lastLineAt !== undefined && now - this.lastLineAt < this.intervalMs) return
    const { replicas, timeoutMs } = this.options
    const fields = {
      ...(error === null ? { acknowledged } : { err: error }),
      replicas,
      timeoutMs,
      unacknowledgedSinceLastLine: this.unacknowledged
    }
    this.lastLineAt = now
    this.unacknowledged = 0
    this.warn(fields, `fastify-model-list: ${fields.unacknowledgedSinceLastLine} state change(s) not acknowledged by ${replicas} replica(s) within ${timeoutMs} ms${error === null ? '' : ` (WAIT failed: ${error.message})`}; they stand, but a failover before they replicate would lose them`)
  }
}
