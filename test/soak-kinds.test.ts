// The seeded soak of every kind at once (test/helpers/soak-kinds.ts): the
// model list, a kind with params and claimBatch 3, and an exclusive kind,
// across three replicas, on one memory store object they share and on one
// Redis (the idle runtime cache on; subscriber connections killed mid-run). The seed is printed
// first; the same seed replays the same choices:
//   FML_SOAK_SEED=<seed or random> npx tap test/soak-kinds.test.ts   (FML_SOAK_OPS=<n> for a longer run)
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import Redis from 'ioredis'
import fastifyModelList, { type FastifyModelListOptions, type WorkStore } from '../lib/index'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { RedisWorkStore } from '../lib/store/redis/work-store'
import { Clock } from './helpers/clock'
import { countFrom, seedFrom } from './helpers/random'
import { deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { soakKinds, soakTimeouts, soakWork, type KindsSoakConfig, type KindsSoakReport } from './helpers/soak-kinds'

const seed = seedFrom('FML_SOAK_SEED', 31415)
const operations = countFrom('FML_SOAK_OPS', 5_000)
const replicaCount = 3
// Wall-clock bounds are not what the soak is about: a loaded CI machine must not turn into a 503.
const generousBounds = { heartbeatProbeTimeoutMs: 30_000, storeTimeoutMs: 30_000 }

t.setTimeout(Number(process.env.FML_SOAK_TIMEOUT_MS ?? 240_000))
t.comment(`soak seed ${seed}; replay: FML_SOAK_SEED=${seed} npx tap test/soak-kinds.test.ts`)

/** Three replicas of one deployment, each counting the queued hints it hears. */
async function replicas (t: Test, options: (i: number) => Partial<FastifyModelListOptions>): Promise<{ apps: FastifyInstance[], hintsHeard: () => number[] }> {
  const heard = Array.from({ length: replicaCount }, () => 0)
  const apps: FastifyInstance[] = []
  for (let i = 0; i < replicaCount; i++) {
    const app = Fastify()
    await app.register(fastifyModelList, {
      prefix: '/api',
      getRuntime: async () => ({ online: true }),
      authorizeDaemon: async () => true,
      work: soakWork,
      ...soakTimeouts,
      ...generousBounds,
      // A cache answer is a request the soak never made, a refresh one it never
      // queued: the cache's own rules are checked in test/helpers/picker-contract.ts.
      catalogCache: false,
      // Replicas may disagree on coalescing the model list: the join stays atomic either way.
      coalesce: i % 2 === 0,
      notifyPendingWork: () => { heard[i]++ },
      ...options(i)
    })
    await app.ready()
    t.teardown(() => app.close())
    apps.push(app)
  }
  return { apps, hintsHeard: () => heard }
}

function summary (name: string, report: KindsSoakReport, ms: number): string {
  const c = report.counts
  return `${name}: ${report.operations} operations, ${report.checks} invariant checks, ${c.kinds} kinds, ${report.violationCount} violations in ${(ms / 1000).toFixed(1)} s ` +
    `(${c.requests} requests; claims: ${c['claims model_list'] ?? 0} model_list, ${c['claims soak_batch'] ?? 0} soak_batch (${c['batch claims of more than one'] ?? 0} of 2-3), ${c['claims soak_exclusive'] ?? 0} soak_exclusive; ` +
    `${c['exclusive busy'] ?? 0} exclusive 409s, ${c.joined ?? 0} joins, ${c['params checks'] ?? 0} params byte checks, ${c['subscriber kills'] ?? 0} subscriber kills, ` +
    `${c['signals lost to a kill'] ?? 0} signals lost to a kill, ${c['signals late'] ?? 0} late)`
}

/** The soak passed, and it did exercise what it claims to check. */
function assertClean (t: Test, report: KindsSoakReport): void {
  t.equal(report.violationCount, 0, `no invariant broken (seed ${seed}):\n${report.violations.join('\n')}`)
  t.ok(report.operations >= operations, 'every operation was sent')
  for (const what of ['claims model_list', 'claims soak_batch', 'batch claims of more than one', 'claims soak_exclusive', 'exclusive busy', 'exclusive checks',
    'joined', 'params checks', 'seen completed', 'seen failed', 'seen timeout', 'empty heartbeats', 'lateReport', 'reportBeforeClaim', 'swappedReport', 'swappedGet']) {
    t.ok((report.counts[what] ?? 0) > 0, `the mix reached: ${what}`)
  }
  t.equal(report.counts['signals late'] ?? 0, 0, 'every queued signal reached every replica (none late without a kill)')
}

async function run (t: Test, name: string, config: Omit<KindsSoakConfig, 'seed' | 'operations'>): Promise<KindsSoakReport> {
  const started = Date.now()
  const report = await soakKinds({ seed, operations, ...config })
  t.comment(summary(name, report, Date.now() - started))
  return report
}

t.test(`soak every kind: one memory store object shared by ${replicaCount} replicas (seed ${seed})`, async t => {
  const clock = new Clock()
  const store: WorkStore = new MemoryWorkStore({ now: clock.now })
  t.teardown(() => store.close())
  const { apps, hintsHeard } = await replicas(t, () => ({ store }))
  assertClean(t, await run(t, `memory x${replicaCount}`, { replicas: apps, clock, hintsHeard, wallClockRetention: false }))
})

/**
 * Counts heartbeats the Redis store answers at once, from what its replica
 * remembers of idle runtimes (no command sent). Patched on the prototype
 * before any store is built: the plugin finds a store's methods once.
 */
function countIdleAnswers (): () => number {
  const prototype = RedisWorkStore.prototype as unknown as { probeNow?: (...args: unknown[]) => boolean[] | undefined }
  const original = prototype.probeNow as NonNullable<typeof prototype.probeNow>
  let answered = 0
  prototype.probeNow = function (this: unknown, ...args: unknown[]) {
    const answer = original.apply(this, args)
    if (answer !== undefined) answered++
    return answer
  }
  t.teardown(() => { prototype.probeNow = original })
  return () => answered
}

t.test(`soak every kind: Redis shared by ${replicaCount} replicas, subscribers killed mid-run (seed ${seed})`, async t => {
  if (!(await ready(t, needsRedis))) return
  const keyPrefix = uniquePrefix('soak-kinds')
  // Each replica's client is named, and its subscriber (a duplicate) with it: the kills reach ours only.
  const names = Array.from({ length: replicaCount }, (_, i) => `${keyPrefix}-r${i}`)
  const clients = names.map(connectionName => new Redis({ host: '127.0.0.1', port: 6379, connectionName }))
  const admin = new Redis({ host: '127.0.0.1', port: 6379 })
  t.teardown(async () => {
    await deleteKeys(admin, keyPrefix)
    for (const client of [...clients, admin]) client.disconnect()
  })
  const clock = new Clock()
  const idleAnswers = countIdleAnswers()
  // The idle runtime cache on (its default), said explicitly, and smaller than
  // the soak's six runtimes, so replicas also forget runtimes to make room.
  const { apps, hintsHeard } = await replicas(t, i => ({ store: 'redis', redis: clients[i], keyPrefix, now: clock.now, idleRuntimeCache: { maxRuntimes: 4 } }))

  const subscribers = async (): Promise<Array<{ id: string, name: string }>> => String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n')
    .map(line => ({ id: /(?:^| )id=(\d+)/.exec(line)?.[1] ?? '', name: /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '', subscribed: Number(/(?:^| )sub=(\d+)/.exec(line)?.[1] ?? 0) > 0 }))
    .filter(client => names.includes(client.name) && client.subscribed)
  let kills = 0
  const killSubscribers = async (): Promise<void> => {
    for (const { id } of await subscribers()) {
      await admin.call('CLIENT', 'KILL', 'ID', id, 'TYPE', 'pubsub')
      kills++
    }
    // Back: every replica's subscriber connected and subscribed again.
    const deadline = Date.now() + 10_000
    while ((await subscribers()).length < replicaCount) {
      if (Date.now() > deadline) throw new Error('the subscribers did not come back within 10 s')
      await new Promise(resolve => setTimeout(resolve, 5))
    }
  }
  t.equal((await subscribers()).length, replicaCount, 'each replica has its subscriber before the run')

  const report = await run(t, `redis x${replicaCount}`, { replicas: apps, clock, hintsHeard, wallClockRetention: true, killSubscribers })
  assertClean(t, report)
  t.ok(kills > 0, `subscriber connections killed mid-run: ${kills}`)
  const heartbeats = report.counts.heartbeat ?? 0
  t.comment(`redis: ${idleAnswers()} of ${heartbeats} heartbeats answered from the idle runtime cache, without a command`)
  t.ok(idleAnswers() > 0, 'the idle runtime cache answered some heartbeats')
})
