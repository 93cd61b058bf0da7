// The seeded soak: a random mix of creates, heartbeats on random replicas,
// reports (before a claim, duplicate, late, under another runtime's id) and
// polls, in small concurrent batches on one injected clock that jumps now and
// then so timeouts and forgetting happen. Every answer is checked against what
// the lifecycle allows; a violation is a sentence naming the request and the
// seed. The same function runs against broken stores to prove it can fail.
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Clock } from './clock'
import { random, type Random } from './random'

export interface SoakTimeouts {
  pendingTimeoutMs: number
  runningTimeoutMs: number
  retentionMs: number
}

export interface SoakConfig {
  seed: number
  /** How many operations (HTTP calls and heartbeats) to send. */
  operations: number
  /** Replicas sharing one store, each with the plugin under /api. */
  replicas: FastifyInstance[]
  clock: Clock
  timeouts: SoakTimeouts
  /** The store also forgets by the wall clock (Redis key expiry). */
  wallClockRetention: boolean
  runtimes?: number
  /** Stop once this many violations are found (the broken stores need one). */
  stopAfter?: number
  /**
   * Run after each batch: what lets the replicas' signals land (Redis: work
   * queued on one replica is claimed by a heartbeat on another once its signal
   * has arrived), and where a soak may break things (kill subscribers).
   * `queued`: how many requests were queued so far (each a signal every replica hears).
   */
  between?: (batch: number, queued: number) => Promise<void>
}

export interface SoakReport {
  seed: number
  operations: number
  checks: number
  violations: string[]
  violationCount: number
  /** Operations by kind, and the terminal states seen. */
  counts: Record<string, number>
}

interface Model { id: string, label: string, provider?: string }
interface Sent { status: 'completed' | 'failed', models?: Model[], supported?: boolean, error?: string }
interface Answer {
  id: string
  runtime_id: string
  status: string
  models?: Model[]
  supported: boolean
  error?: string
  created_at: string
  updated_at: string
  cached?: boolean
}

interface Tracked {
  id: string
  runtimeId: string
  createdAt: number
  /** Highest status rank seen before the current batch (0 pending, 1 running, 2 terminal). */
  known: number
  /** Highest rank seen so far; becomes `known` once the batch ends. */
  seen: number
  claims: number
  claimedAt?: number
  /** The first terminal answer seen: every later one must equal it. */
  terminal?: Answer
  /** Reports sent under its own runtime id: a result must be one of them. */
  reports: Sent[]
  /** A report was sent before this batch (it may have landed unseen). */
  reported: boolean
  /** A report answered 200 while the request was live and in time: it can no longer time out. */
  mustSettle: boolean
  settles: boolean
  /** The latest updated_at seen: the record lives at least retentionMs past it. */
  lastChange: number
}

const rankOf: Record<string, number> = { pending: 0, running: 1, completed: 2, failed: 2, timeout: 2 }
const rankName = ['pending', 'running', 'terminal']
const maxBatch = 8
const keptViolations = 40

// The mix, by weight: most traffic is what a deployment sees (posts, heartbeats,
// polls, reports), with a steady share of the hostile and the unlucky.
const weights = {
  create: 17,
  heartbeat: 22,
  report: 13,
  reportBeforeClaim: 4,
  lateReport: 6,
  swappedReport: 4,
  get: 24,
  swappedGet: 5,
  unknownGet: 2
} as const
type Kind = keyof typeof weights
const kinds = Object.keys(weights) as Kind[]
const totalWeight = kinds.reduce((sum, kind) => sum + weights[kind], 0)

function chooseKind (rng: Random): Kind {
  let roll = rng.next() * totalWeight
  for (const kind of kinds) {
    roll -= weights[kind]
    if (roll < 0) return kind
  }
  return 'get'
}

export async function soak (config: SoakConfig): Promise<SoakReport> {
  const { seed, replicas, clock, timeouts, wallClockRetention } = config
  const rng = random(seed)
  const runtimes = Array.from({ length: config.runtimes ?? 6 }, (_, i) => `soak-${seed}-rt${i}`)
  const byId = new Map<string, Tracked>()
  let window: Tracked[] = []
  // When the wall clock first saw each injected instant: a change stamped at
  // instant T happened no earlier than that (Redis counts retention from it).
  const wallAt = new Map<number, number>()
  const counts: Record<string, number> = {}
  const violations: string[] = []
  let violationCount = 0
  let checks = 0
  let operations = 0
  let modelSerial = 0

  const replay = `replay: FML_SOAK_SEED=${seed} npx tap test/soak.test.ts`
  const check = (ok: boolean, message: () => string): boolean => {
    checks++
    if (!ok) {
      violationCount++
      if (violations.length < keptViolations) violations.push(`${message()} (at t+${clock.t - startedAt} ms; ${replay})`)
    }
    return ok
  }
  const count = (name: string): void => { counts[name] = (counts[name] ?? 0) + 1 }
  const startedAt = clock.t

  const possiblyForgotten = (tracked: Tracked): boolean => {
    if (clock.t >= tracked.lastChange + timeouts.retentionMs) return true
    if (!wallClockRetention) return false
    const wall = wallAt.get(tracked.lastChange)
    return wall === undefined || Date.now() >= wall + timeouts.retentionMs
  }
  // The instant a live request times out, as known before this batch.
  const deadline = (tracked: Tracked): number => tracked.known === 0
    ? tracked.createdAt + timeouts.pendingTimeoutMs
    : (tracked.claimedAt as number) + timeouts.runningTimeoutMs

  const inject = async (replica: FastifyInstance, options: { method: 'GET' | 'POST', url: string, payload?: unknown }): Promise<LightMyRequestResponse> => {
    operations++
    return await replica.inject(options as any)
  }

  const reportBody = (): Sent => {
    if (rng.chance(0.3)) return { status: 'failed', error: `soak failure ${++modelSerial}` }
    const models: Model[] = []
    for (let i = rng.int(0, 3); i > 0; i--) models.push({ id: `m-${++modelSerial}`, label: `Model ${modelSerial}`, ...(rng.chance(0.5) && { provider: 'soak' }) })
    const sent: Sent = { status: 'completed', models }
    if (rng.chance(0.2)) sent.supported = rng.chance(0.5)
    return sent
  }

  const matchesReport = (tracked: Tracked, answer: Answer): boolean => tracked.reports.some(sent => {
    if (sent.status !== answer.status) return false
    if (sent.status === 'failed') return sent.error === answer.error
    return isDeepStrictEqual(answer.models, sent.models ?? []) && answer.supported === (sent.supported ?? true)
  })

  /** Every 200 answer about a tracked request goes through here. */
  const observe = (tracked: Tracked, answer: Answer, via: string): void => {
    const name = `${tracked.id} (${tracked.runtimeId}), ${via}`
    check(answer.id === tracked.id && answer.runtime_id === tracked.runtimeId, () => `wrong request answered for ${name}: ${answer.id} of ${answer.runtime_id}`)
    const rank = rankOf[answer.status]
    if (!check(rank !== undefined, () => `unknown status ${answer.status} for ${name}`)) return
    check(rank >= tracked.known, () => `status went backwards for ${name}: ${rankName[tracked.known]} before this batch, now ${answer.status}`)
    check(Date.parse(answer.created_at) === tracked.createdAt, () => `created_at changed for ${name}: ${answer.created_at}`)
    const updated = Date.parse(answer.updated_at)
    check(updated >= tracked.createdAt && updated <= clock.t, () => `updated_at ${answer.updated_at} outside [created_at, now] for ${name}`)
    if (updated > tracked.lastChange) tracked.lastChange = updated
    tracked.seen = Math.max(tracked.seen, rank)
    if (rank === 1) check(tracked.claims > 0, () => `${name} is running but no heartbeat claimed it`)
    if (rank < 2) {
      check(!tracked.mustSettle, () => `${name} is still ${answer.status} after a report was accepted while it was live`)
      return
    }
    count(`seen ${answer.status}`)
    if (tracked.terminal !== undefined) {
      check(isDeepStrictEqual(answer, tracked.terminal), () => `terminal state changed for ${name}: first ${JSON.stringify(tracked.terminal)}, now ${JSON.stringify(answer)}`)
      return
    }
    tracked.terminal = answer
    if (answer.status === 'timeout') {
      check(!tracked.mustSettle, () => `${name} timed out after a report was accepted while it was live`)
      if (tracked.claims === 0) {
        check(updated > tracked.createdAt + timeouts.pendingTimeoutMs, () => `${name} timed out pending at ${answer.updated_at}, before its deadline`)
      } else {
        check(updated > (tracked.claimedAt as number) + timeouts.runningTimeoutMs, () => `${name} timed out running at ${answer.updated_at}, before its deadline`)
      }
    } else {
      check(matchesReport(tracked, answer), () => `${name} ended ${answer.status} with a result no report of its runtime sent: ${JSON.stringify(answer)}`)
    }
  }

  const pickWhere = (test: (tracked: Tracked) => boolean): Tracked | undefined => {
    const candidates = window.filter(test)
    return candidates.length === 0 ? undefined : rng.pick(candidates)
  }
  const otherRuntime = (runtimeId: string): string => {
    const others = runtimes.filter(id => id !== runtimeId)
    return rng.pick(others)
  }

  let batches = 0
  let queued = 0
  while (operations < config.operations && violationCount < (config.stopAfter ?? Infinity)) {
    const now = clock.t
    if (!wallAt.has(now)) wallAt.set(now, Date.now())
    // Each op is chosen now, runs concurrently with its batch, and is judged
    // after the batch in a fixed order: creates, claims, then everything else.
    const creates: Array<() => void> = []
    const claims: Array<() => void> = []
    const judged: Array<() => void> = []
    const claimedNow = new Set<string>()
    const reportedNow = new Set<string>()
    const work: Array<Promise<void>> = []

    for (let n = rng.int(1, maxBatch); n > 0; n--) {
      const kind = chooseKind(rng)
      const replica = rng.pick(replicas)
      const route = (rt: string, id?: string): string => `/api/runtimes/${rt}/models${id === undefined ? '' : `/${id}`}`
      const report = (rt: string, id: string): string => `/api/daemon/runtimes/${rt}/models/${id}/result`

      if (kind === 'create') {
        const rt = rng.pick(runtimes)
        const payload = rng.chance(0.5) ? { force: true } : rng.chance(0.5) ? {} : undefined
        count(kind)
        work.push(inject(replica, { method: 'POST', url: route(rt), payload }).then(res => {
          creates.push(() => {
            if (!check(res.statusCode === 200, () => `create for ${rt} answered ${res.statusCode}: ${res.body}`)) return
            const answer = res.json() as Answer
            if (answer.cached === true) return count('cached answers')
            check(answer.status === 'pending' && answer.runtime_id === rt, () => `create for ${rt} answered ${JSON.stringify(answer)}`)
            const joined = byId.get(answer.id)
            if (joined !== undefined) {
              count('joined')
              check(joined.runtimeId === rt, () => `create for ${rt} joined ${answer.id} of ${joined.runtimeId}`)
              check(joined.known === 0 && !joined.reported && now <= joined.createdAt + timeouts.pendingTimeoutMs,
                () => `create for ${rt} joined ${answer.id}, which was not claimable (${rankName[joined.known]}${joined.reported ? ', reported' : ''})`)
              return
            }
            check(Date.parse(answer.created_at) === now && answer.updated_at === answer.created_at, () => `new request ${answer.id} stamped ${answer.created_at}/${answer.updated_at}, not the clock`)
            queued++
            const tracked: Tracked = {
              id: answer.id, runtimeId: rt, createdAt: now, known: 0, seen: 0, claims: 0, reports: [],
              reported: false, mustSettle: false, settles: false, lastChange: now
            }
            byId.set(tracked.id, tracked)
            window.push(tracked)
          })
        }))
      } else if (kind === 'heartbeat') {
        const rt = rng.pick(runtimes)
        // What this runtime certainly had to hand out when the batch began.
        const claimable = window.filter(tracked => tracked.runtimeId === rt && tracked.known === 0 && !tracked.reported &&
          now <= tracked.createdAt + timeouts.pendingTimeoutMs)
        count(kind)
        operations++
        work.push(replica.claimPendingModelList(rt).then(claimed => {
          claims.push(() => {
            if (claimed === null) {
              count('empty heartbeats')
              judged.push(() => {
                for (const tracked of claimable) {
                  if (claimedNow.has(tracked.id) || reportedNow.has(tracked.id)) continue
                  check(false, () => `a heartbeat for ${rt} claimed nothing while ${tracked.id} was claimable`)
                }
                checks++
              })
              return
            }
            count('claims')
            const tracked = byId.get(claimed.id)
            if (!check(tracked !== undefined && tracked.runtimeId === rt, () => `a heartbeat for ${rt} claimed ${claimed.id}, not one of its requests`)) return
            const it = tracked as Tracked
            it.claims++
            claimedNow.add(it.id)
            check(it.claims === 1, () => `${it.id} (${rt}) claimed ${it.claims} times`)
            check(now <= it.createdAt + timeouts.pendingTimeoutMs, () => `${it.id} (${rt}) claimed at t+${now - it.createdAt} ms, after its pending deadline`)
            check(it.known === 0 && !it.reported, () => `${it.id} (${rt}) claimed while ${rankName[it.known]}${it.reported ? ' and reported' : ''}`)
            it.claimedAt = now
            it.seen = Math.max(it.seen, 1)
          })
        }))
      } else if (kind === 'report' || kind === 'reportBeforeClaim' || kind === 'lateReport' || kind === 'swappedReport') {
        const target = kind === 'report'
          ? pickWhere(tracked => tracked.known === 1 && tracked.terminal === undefined)
          : kind === 'reportBeforeClaim'
            ? pickWhere(tracked => tracked.known === 0 && !tracked.reported)
            : kind === 'lateReport'
              ? pickWhere(tracked => tracked.known === 2 || tracked.reported)
              : pickWhere(() => true)
        if (target === undefined) continue
        const body = reportBody()
        const swapped = kind === 'swappedReport'
        const rt = swapped ? otherRuntime(target.runtimeId) : target.runtimeId
        if (swapped) {
          // Tagged, so a result that came from it cannot pass for the target's own.
          if (body.status === 'failed') body.error = `swapped ${body.error as string}`
          else body.models = [{ id: `swapped-${++modelSerial}`, label: 'swapped' }]
        } else {
          target.reports.push(body)
          reportedNow.add(target.id)
        }
        const live = target.known < 2 && target.terminal === undefined && now <= deadline(target)
        count(kind)
        work.push(inject(replica, { method: 'POST', url: report(rt, target.id), payload: body }).then(res => {
          judged.push(() => {
            const name = `${kind} on ${target.id} (${target.runtimeId}) as ${rt}`
            if (swapped) {
              check(res.statusCode === 404, () => `${name} answered ${res.statusCode}, not 404: ${res.body}`)
              return
            }
            if (res.statusCode === 404 && possiblyForgotten(target)) return
            if (!check(res.statusCode === 200, () => `${name} answered ${res.statusCode}: ${res.body}`)) return
            if (live) target.settles = true
          })
        }))
      } else if (kind === 'get' || kind === 'swappedGet') {
        const target = pickWhere(() => true)
        if (target === undefined) continue
        const swapped = kind === 'swappedGet'
        const rt = swapped ? otherRuntime(target.runtimeId) : target.runtimeId
        count(kind)
        work.push(inject(replica, { method: 'GET', url: route(rt, target.id) }).then(res => {
          judged.push(() => {
            const name = `GET ${target.id} (${target.runtimeId})${swapped ? ` as ${rt}` : ''}`
            if (swapped) {
              check(res.statusCode === 404, () => `${name} answered ${res.statusCode}, not 404: ${res.body}`)
            } else if (res.statusCode === 404) {
              check(possiblyForgotten(target), () => `${name} answered 404 before its retention passed: request lost`)
            } else if (check(res.statusCode === 200, () => `${name} answered ${res.statusCode}: ${res.body}`)) {
              observe(target, res.json() as Answer, 'GET')
            }
          })
        }))
      } else {
        const rt = rng.pick(runtimes)
        count(kind)
        work.push(inject(replica, { method: 'GET', url: route(rt, randomUUID()) }).then(res => {
          judged.push(() => { check(res.statusCode === 404, () => `GET of an unknown id for ${rt} answered ${res.statusCode}`) })
        }))
      }
    }

    await Promise.all(work)
    for (const judge of [...creates, ...claims]) judge()
    for (const judge of judged) judge()
    for (const id of reportedNow) {
      const tracked = byId.get(id) as Tracked
      tracked.reported = true
    }
    for (const tracked of window) {
      tracked.known = tracked.seen
      if (tracked.settles) tracked.mustSettle = true
    }

    await config.between?.(++batches, queued)
    // Mostly small steps; now and then a jump past a timeout or the retention.
    const roll = rng.next()
    clock.advance(roll < 0.015
      ? timeouts.pendingTimeoutMs + rng.int(1, 1000)
      : roll < 0.025
        ? timeouts.runningTimeoutMs + rng.int(1, 1000)
        : roll < 0.03 ? timeouts.retentionMs : rng.int(0, 2_000))
    // What may be forgotten leaves the pool: nothing more can be asked of it.
    if (rng.chance(0.05)) window = window.filter(tracked => !possiblyForgotten(tracked))
  }

  // Last: every request still within its retention is found, and well.
  for (const tracked of window) {
    if (possiblyForgotten(tracked)) continue
    const res = await inject(rng.pick(replicas), { method: 'GET', url: `/api/runtimes/${tracked.runtimeId}/models/${tracked.id}` })
    if (check(res.statusCode === 200, () => `final GET of ${tracked.id} (${tracked.runtimeId}) answered ${res.statusCode}: request lost`)) {
      observe(tracked, res.json() as Answer, 'final GET')
    }
  }
  counts.requests = byId.size
  return { seed, operations, checks, violations, violationCount, counts }
}
