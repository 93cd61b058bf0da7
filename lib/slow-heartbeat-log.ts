import type { FastifyBaseLogger } from 'fastify'
import { defaultOutageLogIntervalMs } from './outage-log'
import type { HeartbeatMessage } from './diagnostics'

export const defaultSlowHeartbeatMs = 500

/**
 * A heartbeat call slower than `thresholdMs` logs one warning with its phase
 * timings. Rate-limited as the outage line is: one line per interval, the
 * slow calls in between only counted, and the count rides on the next line.
 */
export class SlowHeartbeatLog {
  private lastLineAt: number | undefined
  private repeated = 0

  constructor (
    readonly thresholdMs: number,
    private readonly now: () => number,
    private readonly intervalMs = defaultOutageLogIntervalMs
  ) {}

  slow (log: FastifyBaseLogger, heartbeat: HeartbeatMessage): void {
    const now = this.now()
    if (this.lastLineAt !== undefined && now - this.lastLineAt < this.intervalMs) {
      this.repeated++
      return
    }
    const { runtimeId, durationMs, probeMs, claimMs, claimed } = heartbeat
    const repeated = this.repeated
    this.lastLineAt = now
    this.repeated = 0
    log.warn({ runtimeId, durationMs, probeMs, claimMs, claimed, slowHeartbeatMs: this.thresholdMs, ...(repeated > 0 && { repeatedSinceLastLine: repeated }) },
      `fastify-model-list: a heartbeat took ${Math.round(durationMs)} ms (probe ${Math.round(probeMs)} ms, claim ${Math.round(claimMs)} ms)`)
  }
}
