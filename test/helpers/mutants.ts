// Deliberately broken stores, to prove the soak's checker can fail. One small
// store object written from API.md's store semantics, with one bug switched on
// at a time; with none it must pass the soak like the real stores (the control).
import { randomUUID } from 'node:crypto'
import type { ModelListRequest, ModelListStore } from '../../lib/index'
import type { SoakTimeouts } from './soak'

// Each bug, and the words of the invariant that must catch it.
export const bugs = {
  'double claim': { does: 'popPending hands out a running request again', caughtBy: /claimed 2 times/ },
  'overwritten result': { does: 'a late report replaces the terminal state', caughtBy: /terminal state changed/ },
  'claim after the deadline': { does: 'popPending ignores the pending deadline', caughtBy: /after its pending deadline/ },
  'status goes backwards': { does: 'every third read answers the state before the last change', caughtBy: /status went backwards/ },
  'lost request': { does: 'records are forgotten at a quarter of the retention', caughtBy: /request lost/ },
  'early timeout': { does: 'pending requests time out at half their timeout', caughtBy: /timed out/ },
  'ignored runtime': { does: "reads and reports ignore the runtime id", caughtBy: /not 404/ },
  'dropped report': { does: 'a report is acknowledged but not stored', caughtBy: /after a report was accepted/ },
  'failing store': { does: 'one call in fifty rejects (a 503)', caughtBy: /answered 503/ },
  'skipped work': { does: 'hasPending answers false for every other runtime', caughtBy: /claimed nothing while/ }
} as const
export type Bug = keyof typeof bugs

interface Rec {
  id: string
  runtimeId: string
  status: ModelListRequest['status']
  createdAt: number
  updatedAt: number
  deadline: number
  models?: ModelListRequest['models']
  supported: boolean
  error?: string
  /** The record before its last change (what a lagging read would answer). */
  previous?: Rec
}

export function mutantStore (bug: Bug | null, now: () => number, timeouts: SoakTimeouts): ModelListStore {
  const records = new Map<string, Rec>()
  const queues = new Map<string, string[]>()
  let calls = 0
  let reads = 0
  const retention = bug === 'lost request' ? timeouts.retentionMs / 4 : timeouts.retentionMs
  const pendingTimeout = bug === 'early timeout' ? timeouts.pendingTimeoutMs / 2 : timeouts.pendingTimeoutMs

  const answer = (rec: Rec): ModelListRequest => {
    const wire: ModelListRequest = {
      id: rec.id,
      runtime_id: rec.runtimeId,
      status: rec.status,
      supported: rec.supported,
      created_at: new Date(rec.createdAt).toISOString(),
      updated_at: new Date(rec.updatedAt).toISOString()
    }
    if (rec.models !== undefined) wire.models = structuredClone(rec.models)
    if (rec.error !== undefined) wire.error = rec.error
    return wire
  }
  const maybeFail = (): void => {
    if (bug === 'failing store' && ++calls % 50 === 0) throw new Error('injected store failure')
  }
  const read = (runtimeId: string, id: string, t: number): Rec | undefined => {
    const rec = records.get(id)
    if (rec === undefined || (rec.runtimeId !== runtimeId && bug !== 'ignored runtime')) return undefined
    if (t - rec.updatedAt >= retention) {
      records.delete(id)
      return undefined
    }
    const live = rec.status === 'pending' || rec.status === 'running'
    if (live && t > rec.deadline && !(bug === 'claim after the deadline' && rec.status === 'pending')) {
      rec.error = rec.status === 'pending'
        ? `daemon did not respond within ${timeouts.pendingTimeoutMs / 1000} seconds`
        : `daemon did not finish within ${timeouts.runningTimeoutMs / 1000} seconds`
      rec.status = 'timeout'
      rec.updatedAt = t
    }
    return rec
  }
  const head = (runtimeId: string, t: number): Rec | undefined => {
    const queue = queues.get(runtimeId) ?? []
    while (queue.length > 0) {
      const rec = read(runtimeId, queue[0], t)
      if (rec !== undefined && (rec.status === 'pending' || (bug === 'double claim' && rec.status === 'running'))) return rec
      queue.shift()
    }
    return undefined
  }
  const settle = (runtimeId: string, id: string, apply: (rec: Rec) => void): ModelListRequest | null => {
    maybeFail()
    const t = now()
    const rec = read(runtimeId, id, t)
    if (rec === undefined) return null
    const live = rec.status === 'pending' || rec.status === 'running'
    if (live || bug === 'overwritten result') {
      rec.previous = { ...rec, previous: undefined }
      const target = bug === 'dropped report' ? { ...rec } : rec
      apply(target)
      target.updatedAt = t
      if (bug === 'dropped report') return answer(target)
    }
    return answer(rec)
  }

  return {
    async create (runtimeId, options) {
      maybeFail()
      const t = now()
      if (options?.coalesce === true) {
        const joined = head(runtimeId, t)
        if (joined !== undefined && joined.status === 'pending') return answer(joined)
      }
      const rec: Rec = { id: randomUUID(), runtimeId, status: 'pending', createdAt: t, updatedAt: t, deadline: t + pendingTimeout, supported: true }
      records.set(rec.id, rec)
      queues.set(runtimeId, [...(queues.get(runtimeId) ?? []), rec.id])
      return answer(rec)
    },
    async get (runtimeId, requestId) {
      maybeFail()
        const rec = read(runtimeId, requestId, now())
      if (rec === undefined) return null
      return answer(bug === 'status goes backwards' && ++reads % 3 === 0 && rec.previous !== undefined ? rec.previous : rec)
    },
    async hasPending (runtimeId) {
      if (bug === 'skipped work' && Number(runtimeId.slice(-1)) % 2 === 1) return false
      return head(runtimeId, now()) !== undefined
    },
    async popPending (runtimeId) {
      maybeFail()
      const t = now()
      const rec = head(runtimeId, t)
      if (rec === undefined) return null
      if (bug !== 'double claim' || rec.status === 'running') queues.get(runtimeId)?.shift()
      rec.previous = { ...rec, previous: undefined }
      rec.status = 'running'
      rec.updatedAt = t
      rec.deadline = t + timeouts.runningTimeoutMs
      return answer(rec)
    },
    async complete (runtimeId, requestId, result) {
      return settle(runtimeId, requestId, rec => {
        rec.status = 'completed'
        rec.models = structuredClone(result.models)
        rec.supported = result.supported
        delete rec.error
      })
    },
    async fail (runtimeId, requestId, error) {
      return settle(runtimeId, requestId, rec => {
        rec.status = 'failed'
        rec.error = error
        delete rec.models
      })
    },
    async close () {}
  }
}
