// The seeded soak of every kind at once: the model list and two declared kinds
// (one with params and `claimBatch` 3, one `exclusive`), driven through their
// routes and `claimPendingWork` on random replicas that share one store, in
// small concurrent batches on one injected clock. Each answer is checked
// against the lifecycle (as test/helpers/soak.ts does for the model list) and
// against what the kinds promise:
//  - an exclusive kind never has two requests in flight for a runtime;
//  - claims are oldest first within a runtime: a batch keeps creation order,
//    and no claim takes a request while an older claimable one is left;
//  - params come back byte-equal (as JSON text) to what was POSTed, in every
//    answer: the create, each GET, the heartbeat's claim.
// A violation is a sentence naming the request and the seed.
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { daemonWork } from '../../lib/index'
import type { Clock } from './clock'
import { random, type Random } from './random'

// Property names in sorted order, as params are stored (sorted keys) and
// answered (schema order): the bytes a client POSTs are the bytes it reads back.
export const batchKind = daemonWork({
  name: 'soak_batch',
  params: Type.Object({
    name: Type.String({ maxLength: 64 }),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })),
    version: Type.Optional(Type.Integer({ minimum: 1 }))
  }),
  result: Type.Object({ ok: Type.Boolean(), note: Type.Optional(Type.String({ maxLength: 64 })) }),
  pendingTimeoutMs: 45_000,
  claimBatch: 3
})
export const exclusiveKind = daemonWork({
  name: 'soak_exclusive',
  result: Type.Object({ version: Type.String({ maxLength: 64 }) }),
  exclusive: true,
  pendingTimeoutMs: 20_000,
  runningTimeoutMs: 40_000
})
export const soakWork = [batchKind, exclusiveKind] as const

/** The plugin's own timeouts (the model list's, and the base of the kinds'). */
export const soakTimeouts = { pendingTimeoutMs: 30_000, runningTimeoutMs: 60_000, retentionMs: 120_000 }

interface Rules { pendingTimeoutMs: number, runningTimeoutMs: number, retentionMs: number }
interface KindSpec {
  name: string
  path: string
  key: string
  rules: Rules
  claimBatch: number
  exclusive: boolean
  params: boolean
}
// Each kind's rules as the plugin resolves them (a kind's retention outlives twice its longest timeout).
const kindSpecs: KindSpec[] = [
  { name: 'model_list', path: 'models', key: 'pending_model_list', rules: soakTimeouts, claimBatch: 1, exclusive: false, params: false },
  { name: batchKind.name, path: batchKind.path, key: `pending_${batchKind.name}`, rules: { ...soakTimeouts, pendingTimeoutMs: 45_000 }, claimBatch: 3, exclusive: false, params: true },
  { name: exclusiveKind.name, path: exclusiveKind.path, key: `pending_${exclusiveKind.name}`, rules: { pendingTimeoutMs: 20_000, runningTimeoutMs: 40_000, retentionMs: 120_000 }, claimBatch: 1, exclusive: true, params: false }
]
const longestTimeout = Math.max(...kindSpecs.flatMap(kind => [kind.rules.pendingTimeoutMs, kind.rules.runningTimeoutMs]))
const retentionMs = soakTimeouts.retentionMs

export interface KindsSoakConfig {
  seed: number
  /** How many operations (HTTP calls and heartbeats) to send. */
  operations: number
  /** Replicas sharing one store, each with the plugin under /api, `work: soakWork`, and soakTimeouts. */
  replicas: FastifyInstance[]
  clock: Clock
  /** The store also forgets by the wall clock (Redis key expiry). */
  wallClockRetention: boolean
  /** How many queued hints each replica has heard so far (its notifyPendingWork calls). */
  hintsHeard: () => number[]
  /** Kills the replicas' subscriber connections and resolves once they are subscribed again. */
  killSubscribers?: () => Promise<void>
  runtimes?: number
  /** Stop once this many violations are found (a broken store needs one). */
  stopAfter?: number
}

export interface KindsSoakReport {
  seed: number
  operations: number
  checks: number
  violations: string[]
  violationCount: number
  /** Operations by name, and what the mix reached. */
  counts: Record<string, number>
}

type Sent = { status: 'completed' | 'failed', error?: string, result?: unknown, models?: unknown[], supported?: boolean }
interface Answer {
  id: string
  runtime_id: string
  status: string
  params?: unknown
  result?: unknown
  models?: unknown[]
  supported?: boolean
  error?: string
  created_at: string
  updated_at: string
}

interface Tracked {
  id: string
  kind: KindSpec
  runtimeId: string
  createdAt: number
  /** The batch it was created in: creation order across batches. */
  batch: number
  /** Its params as POSTed (JSON text), for a kind with params. */
  params?: string
  /** Highest status rank seen before the current batch (0 pending, 1 running, 2 terminal). */
  known: number
  seen: number
  claims: number
  claimedAt?: number
  terminal?: Answer
  /** Reports sent under its own runtime id: a result must be one of them. */
  reports: Sent[]
  reported: boolean
  mustSettle: boolean
  settles: boolean
  lastChange: number
}

const rankOf: Record<string, number> = { pending: 0, running: 1, completed: 2, failed: 2, timeout: 2 }
const rankName = ['pending', 'running', 'terminal']
const maxBatch = 8
const keptViolations = 40
// A signal that has not arrived by then was lost (a subscriber was killed): forgiven.
const signalCeilingMs = 3_000
const afterKillCeilingMs = 300

const weights = {
  create: 20,
  heartbeat: 18,
  report: 13,
  reportBeforeClaim: 4,
  lateReport: 5,
  swappedReport: 3,
  get: 24,
  swappedGet: 4,
  unknownGet: 2
} as const
type Op = keyof typeof weights
const ops = Object.keys(weights) as Op[]
const totalWeight = ops.reduce((sum, op) => sum + weights[op], 0)
// Creates lean to the batch kind, so a runtime often has several queued for one claim.
const createShares: Array<[KindSpec, number]> = [[kindSpecs[0], 0.3], [kindSpecs[1], 0.45], [kindSpecs[2], 0.25]]

function chooseOp (rng: Random): Op {
  let roll = rng.next() * totalWeight
  for (const op of ops) {
    roll -= weights[op]
    if (roll < 0) return op
  }
  return 'get'
}

// Characters JSON writes in every way it can: plain, multi-byte, astral, escaped, lone surrogates, combining.
const characters = ['a', 'Z', '7', ' ', 'é', 'e\u0301', '😀', '"', '\\', '/', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff', '<', '\t']
function oddText (rng: Random, max: number): string {
  let text = ''
  for (let i = rng.int(0, max); i > 0; i--) text += rng.pick(characters)
  return text
}

/** Params as the client POSTs them: JSON text with keys in sorted order. */
function paramsText (rng: Random): string {
  const params: { name: string, tags?: string[], version?: number } = { name: oddText(rng, 12) }
  if (rng.chance(0.5)) params.tags = Array.from({ length: rng.int(0, 3) }, () => oddText(rng, 6))
  if (rng.chance(0.5)) params.version = rng.int(1, 2 ** 31)
  return JSON.stringify(params)
}

function printable (text: string): string {
  return text.replace(/[^\x20-\x7e]/g, unit => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Polls `check` each millisecond until it holds (true) or `ms` pass (false). */
export async function waitFor (check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise(resolve => setTimeout(resolve, 1))
  }
  return true
}

export async function soakKinds (config: KindsSoakConfig): Promise<KindsSoakReport> {
  const { seed, replicas, clock, wallClockRetention } = config
  const rng = random(seed)
  const runtimes = Array.from({ length: config.runtimes ?? 6 }, (_, i) => `soakk-${seed}-rt${i}`)
  // A few params asked again and again: the batch kind coalesces equal ones.
  const paramsPool = Array.from({ length: 6 }, () => paramsText(rng))
  const byId = new Map<string, Tracked>()
  let window: Tracked[] = []
  const wallAt = new Map<number, number>()
  const counts: Record<string, number> = {}
  const violations: string[] = []
  let violationCount = 0
  let checks = 0
  let operations = 0
  let serial = 0
  let batchNo = 0
  // Queued hints each replica should have heard: one per request queued.
  let owed = 0
  const startedAt = clock.t

  const replay = `replay: FML_SOAK_SEED=${seed} npx tap test/soak-kinds.test.ts`
  const check = (ok: boolean, message: () => string): boolean => {
    checks++
    if (!ok) {
      violationCount++
      // Params hold what a TAP line cannot: written as escapes.
      if (violations.length < keptViolations) violations.push(printable(`${message()} (batch ${batchNo}, t+${clock.t - startedAt} ms; ${replay})`))
    }
    return ok
  }
  const count = (name: string, by = 1): void => { counts[name] = (counts[name] ?? 0) + by }

  const possiblyForgotten = (tracked: Tracked): boolean => {
    if (clock.t >= tracked.lastChange + tracked.kind.rules.retentionMs) return true
    if (!wallClockRetention) return false
    const wall = wallAt.get(tracked.lastChange)
    return wall === undefined || Date.now() >= wall + tracked.kind.rules.retentionMs
  }
  const deadline = (tracked: Tracked): number => tracked.known === 0
    ? tracked.createdAt + tracked.kind.rules.pendingTimeoutMs
    : (tracked.claimedAt as number) + tracked.kind.rules.runningTimeoutMs
  /** Claimable for certain when the batch began: pending, unreported, within its deadline. */
  const certainlyClaimable = (tracked: Tracked, now: number): boolean =>
    tracked.known === 0 && !tracked.reported && now <= tracked.createdAt + tracked.kind.rules.pendingTimeoutMs
  /** In flight for certain when the batch began: pending or running, unreported, within its deadline. */
  const certainlyInFlight = (tracked: Tracked, now: number): boolean =>
    tracked.known < 2 && tracked.terminal === undefined && !tracked.reported && now <= deadline(tracked)
  const name = (tracked: Tracked): string => `${tracked.kind.name} ${tracked.id} (${tracked.runtimeId})`

  const inject = async (replica: FastifyInstance, options: { method: 'GET' | 'POST', url: string, payload?: string | object, headers?: Record<string, string> }): Promise<LightMyRequestResponse> => {
    operations++
    return await replica.inject(options as any)
  }
  const createUrl = (kind: KindSpec, rt: string): string => `/api/runtimes/${rt}/${kind.path}`
  const getUrl = (kind: KindSpec, rt: string, id: string): string => `/api/runtimes/${rt}/${kind.path}/${id}`
  const reportUrl = (kind: KindSpec, rt: string, id: string): string => `/api/daemon/runtimes/${rt}/${kind.path}/${id}/result`

  const reportBody = (kind: KindSpec): Sent => {
    if (rng.chance(0.3)) return { status: 'failed', error: `soak failure ${++serial}` }
    if (kind.name === 'model_list') {
      const models = Array.from({ length: rng.int(0, 3) }, () => ({ id: `m-${++serial}`, label: `Model ${serial}` }))
      return rng.chance(0.2) ? { status: 'completed', models, supported: rng.chance(0.5) } : { status: 'completed', models }
    }
    if (kind.exclusive) return { status: 'completed', result: { version: `v${++serial}` } }
    return { status: 'completed', result: rng.chance(0.5) ? { ok: rng.chance(0.5), note: `n${++serial}` } : { ok: true } }
  }
  const wireReport = (kind: KindSpec, sent: Sent): object => kind.name === 'model_list' || sent.status === 'failed'
    ? sent
    : { status: 'completed', result: sent.result }
  const matchesReport = (tracked: Tracked, answer: Answer): boolean => tracked.reports.some(sent => {
    if (sent.status !== answer.status) return false
    if (sent.status === 'failed') return sent.error === answer.error
    if (tracked.kind.name === 'model_list') return isDeepStrictEqual(answer.models, sent.models ?? []) && answer.supported === (sent.supported ?? true)
    return isDeepStrictEqual(answer.result, sent.result)
  })

  /** Params in an answer (parsed) and, where there is one, in its body's bytes: as POSTed. */
  const checkParams = (tracked: Tracked, params: unknown, body: string | undefined, via: string): void => {
    if (!tracked.kind.params) {
      check(params === undefined, () => `${name(tracked)} answered params ${JSON.stringify(params)} via ${via}, though its kind has none`)
      return
    }
    count('params checks')
    check(JSON.stringify(params) === tracked.params, () => `params of ${name(tracked)} via ${via} are ${JSON.stringify(params)}, POSTed ${tracked.params as string}`)
    if (body !== undefined) check(body.includes(`"params":${tracked.params as string}`), () => `${name(tracked)}: the bytes of ${via} do not hold the params as POSTed (${tracked.params as string}): ${body.slice(0, 300)}`)
  }

  /** Every 200 answer about a tracked request goes through here. */
  const observe = (tracked: Tracked, answer: Answer, body: string, via: string): void => {
    const who = `${name(tracked)}, ${via}`
    check(answer.id === tracked.id && answer.runtime_id === tracked.runtimeId, () => `wrong request answered for ${who}: ${answer.id} of ${answer.runtime_id}`)
    checkParams(tracked, answer.params, body, via)
    const rank = rankOf[answer.status]
    if (!check(rank !== undefined, () => `unknown status ${answer.status} for ${who}`)) return
    check(rank >= tracked.known, () => `status went backwards for ${who}: ${rankName[tracked.known]} before this batch, now ${answer.status}`)
    check(Date.parse(answer.created_at) === tracked.createdAt, () => `created_at changed for ${who}: ${answer.created_at}`)
    const updated = Date.parse(answer.updated_at)
    check(updated >= tracked.createdAt && updated <= clock.t, () => `updated_at ${answer.updated_at} outside [created_at, now] for ${who}`)
    if (updated > tracked.lastChange) tracked.lastChange = updated
    tracked.seen = Math.max(tracked.seen, rank)
    if (rank === 1) check(tracked.claims > 0, () => `${who} is running but no heartbeat claimed it`)
    if (rank < 2) {
      check(!tracked.mustSettle, () => `${who} is still ${answer.status} after a report was accepted while it was live`)
      return
    }
    count(`seen ${answer.status}`)
    if (tracked.terminal !== undefined) {
      check(isDeepStrictEqual(answer, tracked.terminal), () => `terminal state changed for ${who}: first ${JSON.stringify(tracked.terminal)}, now ${JSON.stringify(answer)}`)
      return
    }
    tracked.terminal = answer
    if (answer.status === 'timeout') {
      check(!tracked.mustSettle, () => `${who} timed out after a report was accepted while it was live`)
      const due = tracked.claims === 0 ? tracked.createdAt + tracked.kind.rules.pendingTimeoutMs : (tracked.claimedAt as number) + tracked.kind.rules.runningTimeoutMs
      check(updated > due, () => `${who} timed out ${tracked.claims === 0 ? 'pending' : 'running'} at ${answer.updated_at}, before its deadline`)
    } else {
      check(matchesReport(tracked, answer), () => `${who} ended ${answer.status} with a result no report of its runtime sent: ${JSON.stringify(answer)}`)
    }
  }

  const pickWhere = (test: (tracked: Tracked) => boolean): Tracked | undefined => {
    const candidates = window.filter(test)
    return candidates.length === 0 ? undefined : rng.pick(candidates)
  }
  const otherRuntime = (runtimeId: string): string => rng.pick(runtimes.filter(id => id !== runtimeId))
  const chooseCreateKind = (): KindSpec => {
    let roll = rng.next()
    for (const [kind, share] of createShares) {
      roll -= share
      if (roll < 0) return kind
    }
    return kindSpecs[0]
  }

  while (operations < config.operations && violationCount < (config.stopAfter ?? Infinity)) {
    batchNo++
    const now = clock.t
    if (!wallAt.has(now)) wallAt.set(now, Date.now())
    // Ops run concurrently; each is judged after its batch: creates, then claims, then the rest.
    const creates: Array<() => void> = []
    const claims: Array<() => void> = []
    const afterClaims: Array<() => void> = []
    const judged: Array<() => void> = []
    const claimedNow = new Set<string>()
    const reportedNow = new Set<string>()
    /** Exclusive creates of this batch, by runtime: the ids answered 200 and the ids named by a 409. */
    const exclusiveOpened = new Map<string, { accepted: string[], busy: string[] }>()
    const work: Array<Promise<void>> = []
    let killed = false

    if (config.killSubscribers !== undefined && rng.chance(0.006)) {
      killed = true
      count('subscriber kills')
      work.push(config.killSubscribers())
    }

    for (let n = rng.int(1, maxBatch); n > 0; n--) {
      const op = chooseOp(rng)
      const replica = rng.pick(replicas)

      if (op === 'create') {
        const kind = chooseCreateKind()
        const rt = rng.pick(runtimes)
        const posted = kind.params ? (rng.chance(0.5) ? rng.pick(paramsPool) : paramsText(rng)) : undefined
        const payload = posted ?? (rng.chance(0.5) ? (kind.name === 'model_list' && rng.chance(0.5) ? '{"force":true}' : '{}') : undefined)
        count(`create ${kind.name}`)
        work.push(inject(replica, { method: 'POST', url: createUrl(kind, rt), ...(payload !== undefined && { payload, headers: { 'content-type': 'application/json' } }) }).then(res => {
          creates.push(() => {
            const what = `create of ${kind.name} for ${rt}`
            if (kind.exclusive && res.statusCode === 409) {
              count('exclusive busy')
              const named = /[0-9a-f-]{36}/.exec(res.json<{ message: string }>().message)?.[0]
              const opened = exclusiveOpened.get(rt) ?? { accepted: [], busy: [] }
              exclusiveOpened.set(rt, opened)
              if (check(named !== undefined, () => `${what} answered 409 naming no request: ${res.body}`)) opened.busy.push(named as string)
              return
            }
            if (!check(res.statusCode === 200, () => `${what} answered ${res.statusCode}: ${res.body}`)) return
            const answer = res.json<Answer>()
            check(answer.status === 'pending' && answer.runtime_id === rt, () => `${what} answered ${JSON.stringify(answer)}`)
            if (kind.exclusive) {
              const opened = exclusiveOpened.get(rt) ?? { accepted: [], busy: [] }
              exclusiveOpened.set(rt, opened)
              opened.accepted.push(answer.id)
            }
            const joined = byId.get(answer.id)
            if (joined !== undefined) {
              count('joined')
              check(joined.runtimeId === rt && joined.kind === kind, () => `${what} joined ${answer.id}, ${joined.kind.name} of ${joined.runtimeId}`)
              check(certainlyClaimable(joined, now),
                () => `${what} joined ${answer.id}, which was not claimable (${rankName[joined.known]}${joined.reported ? ', reported' : ''})`)
              if (kind.params) {
                check(posted === joined.params, () => `${what} with params ${posted as string} joined ${answer.id}, which asks ${joined.params as string}`)
                checkParams(joined, answer.params, res.body, 'a joining create')
              }
              return
            }
            check(Date.parse(answer.created_at) === now && answer.updated_at === answer.created_at, () => `new request ${answer.id} stamped ${answer.created_at}/${answer.updated_at}, not the clock`)
            const tracked: Tracked = {
              id: answer.id, kind, runtimeId: rt, createdAt: now, batch: batchNo, known: 0, seen: 0, claims: 0, reports: [],
              reported: false, mustSettle: false, settles: false, lastChange: now, ...(posted !== undefined && { params: posted })
            }
            checkParams(tracked, answer.params, res.body, 'create')
            byId.set(tracked.id, tracked)
            window.push(tracked)
            owed++
          })
        }))
      } else if (op === 'heartbeat') {
        const rt = rng.pick(runtimes)
        // What this runtime certainly had to hand out, per kind, when the batch began.
        const claimable = new Map(kindSpecs.map(kind => [kind, window.filter(tracked => tracked.kind === kind && tracked.runtimeId === rt && certainlyClaimable(tracked, now))]))
        count('heartbeat')
        operations++
        work.push(replica.claimPendingWork(rt).then(answer => {
          claims.push(() => {
            if (answer === null) count('empty heartbeats')
            for (const kind of kindSpecs) {
              const value = (answer as Record<string, unknown> | null)?.[kind.key]
              const items = (value === undefined ? [] : kind.claimBatch > 1 ? value : [value]) as Array<{ id: string, params?: unknown }>
              if (!check(Array.isArray(items) && items.length <= kind.claimBatch, () => `a heartbeat for ${rt} answered ${JSON.stringify(value)} for ${kind.name}: more than its claimBatch (${kind.claimBatch})`)) continue
              if (items.length > 0) count(`claims ${kind.name}`)
              if (items.length > 1) count('batch claims of more than one')
              const claimed: Tracked[] = []
              for (const item of items) {
                const tracked = byId.get(item.id)
                if (!check(tracked !== undefined && tracked.runtimeId === rt && tracked.kind === kind, () => `a heartbeat for ${rt} claimed ${kind.name} ${item.id}, not one of its requests`)) continue
                const it = tracked as Tracked
                claimed.push(it)
                it.claims++
                claimedNow.add(it.id)
                checkParams(it, item.params, undefined, 'the heartbeat')
                check(it.claims === 1, () => `${name(it)} claimed ${it.claims} times`)
                check(now <= it.createdAt + kind.rules.pendingTimeoutMs, () => `${name(it)} claimed at t+${now - it.createdAt} ms, after its pending deadline`)
                check(it.known === 0 && !it.reported, () => `${name(it)} claimed while ${rankName[it.known]}${it.reported ? ' and reported' : ''}`)
                it.claimedAt = now
                it.seen = Math.max(it.seen, 1)
              }
              for (let i = 1; i < claimed.length; i++) {
                check(claimed[i - 1].batch <= claimed[i].batch, () => `a batch of ${kind.name} for ${rt} out of creation order: ${claimed.map(it => `${it.id} (batch ${it.batch})`).join(', ')}`)
              }
              afterClaims.push(() => {
                // Oldest first: nothing older than what it took is left, and a short batch left nothing at all.
                const newest = Math.max(...claimed.map(it => it.batch))
                for (const older of claimable.get(kind) as Tracked[]) {
                  if (claimedNow.has(older.id) || reportedNow.has(older.id)) continue
                  checks++
                  if (claimed.length < kind.claimBatch) {
                    check(false, () => `a heartbeat for ${rt} claimed ${claimed.length} of ${kind.name} (claimBatch ${kind.claimBatch}) while ${older.id} (batch ${older.batch}) was claimable`)
                  } else if (older.batch < newest) {
                    check(false, () => `claims are not oldest first: a heartbeat for ${rt} took ${kind.name} ${claimed.map(it => `${it.id} (batch ${it.batch})`).join(', ')} and left the older ${older.id} (batch ${older.batch})`)
                  }
                }
              })
              if (kind.exclusive) {
                for (const it of claimed) {
                  for (const other of window) {
                    if (other === it || other.kind !== kind || other.runtimeId !== rt || other.known !== 1 || reportedNow.has(other.id)) continue
                    check(!certainlyInFlight(other, now), () => `exclusive ${kind.name}: ${it.id} claimed for ${rt} while ${other.id} was running`)
                  }
                }
              }
            }
          })
        }))
      } else if (op === 'report' || op === 'reportBeforeClaim' || op === 'lateReport' || op === 'swappedReport') {
        const target = op === 'report'
          ? pickWhere(tracked => tracked.known === 1 && tracked.terminal === undefined)
          : op === 'reportBeforeClaim'
            ? pickWhere(tracked => tracked.known === 0 && !tracked.reported)
            : op === 'lateReport'
              ? pickWhere(tracked => tracked.known === 2 || tracked.reported)
              : pickWhere(() => true)
        if (target === undefined) continue
        const sent = reportBody(target.kind)
        const swapped = op === 'swappedReport'
        const rt = swapped ? otherRuntime(target.runtimeId) : target.runtimeId
        if (swapped) {
          // Tagged, so a result that came from it cannot pass for the target's own.
          if (sent.status === 'failed') sent.error = `swapped ${sent.error as string}`
          else if (target.kind.name === 'model_list') sent.models = [{ id: `swapped-${++serial}`, label: 'swapped' }]
          else sent.result = target.kind.exclusive ? { version: `swapped-${++serial}` } : { ok: false, note: `swapped-${++serial}` }
        } else {
          target.reports.push(sent)
          reportedNow.add(target.id)
        }
        const live = target.known < 2 && target.terminal === undefined && now <= deadline(target)
        count(op)
        work.push(inject(replica, { method: 'POST', url: reportUrl(target.kind, rt, target.id), payload: wireReport(target.kind, sent) }).then(res => {
          judged.push(() => {
            const what = `${op} on ${name(target)} as ${rt}`
            if (swapped) {
              check(res.statusCode === 404, () => `${what} answered ${res.statusCode}, not 404: ${res.body}`)
              return
            }
            if (res.statusCode === 404 && possiblyForgotten(target)) return
            if (!check(res.statusCode === 200, () => `${what} answered ${res.statusCode}: ${res.body}`)) return
            if (live) target.settles = true
          })
        }))
      } else if (op === 'get' || op === 'swappedGet') {
        const target = pickWhere(() => true)
        if (target === undefined) continue
        const swapped = op === 'swappedGet'
        const rt = swapped ? otherRuntime(target.runtimeId) : target.runtimeId
        count(op)
        work.push(inject(replica, { method: 'GET', url: getUrl(target.kind, rt, target.id) }).then(res => {
          judged.push(() => {
            const what = `GET ${name(target)}${swapped ? ` as ${rt}` : ''}`
            if (swapped) {
              check(res.statusCode === 404, () => `${what} answered ${res.statusCode}, not 404: ${res.body}`)
            } else if (res.statusCode === 404) {
              check(possiblyForgotten(target), () => `${what} answered 404 before its retention passed: request lost`)
            } else if (check(res.statusCode === 200, () => `${what} answered ${res.statusCode}: ${res.body}`)) {
              observe(target, res.json<Answer>(), res.body, 'GET')
            }
          })
        }))
      } else {
        const kind = rng.pick(kindSpecs)
        const rt = rng.pick(runtimes)
        count(op)
        work.push(inject(replica, { method: 'GET', url: getUrl(kind, rt, randomUUID()) }).then(res => {
          judged.push(() => { check(res.statusCode === 404, () => `GET of an unknown ${kind.name} id for ${rt} answered ${res.statusCode}`) })
        }))
      }
    }

    await Promise.all(work)
    // In turn: claims push the checks that need every claim of the batch.
    for (const judges of [creates, claims, afterClaims, judged]) for (const judge of judges) judge()

    // Exclusive: a create accepted while another request of the runtime was in
    // flight, two accepted in one batch, or a 409 naming what was not in flight.
    for (const [rt, { accepted, busy }] of exclusiveOpened) {
      const kind = kindSpecs.find(spec => spec.exclusive) as KindSpec
      const fresh = [...new Set(accepted)]
      count('exclusive checks')
      check(fresh.length <= 1, () => `exclusive ${kind.name}: ${fresh.join(' and ')} accepted for ${rt} in one batch: two in flight`)
      for (const id of fresh) {
        for (const other of window) {
          if (other.kind !== kind || other.runtimeId !== rt || other.batch === batchNo || reportedNow.has(other.id)) continue
          check(!certainlyInFlight(other, now), () => `exclusive ${kind.name}: ${id} accepted for ${rt} while ${other.id} was ${rankName[other.known]}: two in flight`)
        }
      }
      for (const id of busy) {
        const named = byId.get(id)
        check(named !== undefined && named.kind === kind && named.runtimeId === rt && (named.batch === batchNo || (named.known < 2 && !named.mustSettle && now <= deadline(named))),
          () => `exclusive ${kind.name}: a create for ${rt} answered 409 naming ${id}, which was not in flight (${named === undefined ? 'unknown' : `${rankName[named.known]}, ${named.runtimeId}`})`)
      }
    }

    for (const id of reportedNow) (byId.get(id) as Tracked).reported = true
    for (const tracked of window) {
      tracked.known = tracked.seen
      if (tracked.settles) tracked.mustSettle = true
    }

    // Every replica hears what was queued before the next batch: a replica
    // that remembers a runtime as idle forgets it on that signal. A signal a
    // killed subscriber lost is forgiven (the store distrusts what it
    // remembered while disconnected).
    const heard = await waitFor(() => config.hintsHeard().every(count => count >= owed), killed ? afterKillCeilingMs : signalCeilingMs)
    if (!heard) {
      count(killed ? 'signals lost to a kill' : 'signals late')
      owed = Math.min(...config.hintsHeard())
    }

    // Mostly small steps; now and then a jump past a timeout or the retention.
    const roll = rng.next()
    clock.advance(roll < 0.015
      ? rng.pick(kindSpecs).rules.pendingTimeoutMs + rng.int(1, 1000)
      : roll < 0.025
        ? longestTimeout + rng.int(1, 1000)
        : roll < 0.03 ? retentionMs : rng.int(0, 2_000))
    if (rng.chance(0.05)) window = window.filter(tracked => !possiblyForgotten(tracked))
  }

  // Last: every request still within its retention is found, and well.
  for (const tracked of window) {
    if (possiblyForgotten(tracked)) continue
    const res = await inject(rng.pick(replicas), { method: 'GET', url: getUrl(tracked.kind, tracked.runtimeId, tracked.id) })
    if (check(res.statusCode === 200, () => `final GET of ${name(tracked)} answered ${res.statusCode}: request lost`)) {
      observe(tracked, res.json<Answer>(), res.body, 'final GET')
    }
  }
  counts.requests = byId.size
  counts.kinds = kindSpecs.length
  return { seed, operations, checks, violations, violationCount, counts }
}
