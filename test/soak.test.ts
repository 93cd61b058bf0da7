// The seeded soak (test/helpers/soak.ts) on the memory store with one app and
// on a real Redis shared by two to four replicas; then the same soak against
// broken stores, each of which it must catch. The seed is printed first; the
// same seed replays the same choices:
//   FML_SOAK_SEED=<seed or random> npx tap test/soak.test.ts
// FML_SOAK_OPS=<n> sets the operations per store (a longer run).
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import type Redis from 'ioredis'
import fastifyModelList, { type FastifyModelListOptions, type RedisModelListStore } from '../lib/index'
import type { RedisWorkStore } from '../lib/store/redis/work-store'
import { countCommands } from './helpers/count-commands'
import { Clock } from './helpers/clock'
import { bugs, mutantStore, type Bug } from './helpers/mutants'
import { countFrom, seedFrom } from './helpers/random'
import { waitFor } from './helpers/soak-kinds'
import { until } from './helpers/redis-server'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { soak, type SoakReport, type SoakTimeouts } from './helpers/soak'

const seed = seedFrom('FML_SOAK_SEED', 2718)
const operations = countFrom('FML_SOAK_OPS', 40_000)
// A broken store is caught within a few hundred operations; the soak stops at its fifth violation.
const mutantOperations = 6_000
const timeouts: SoakTimeouts = { pendingTimeoutMs: 30_000, runningTimeoutMs: 60_000, retentionMs: 120_000 }
// Wall-clock bounds are not what the soak is about: a loaded CI machine must not turn into a 503.
const generousBounds = { heartbeatProbeTimeoutMs: 30_000, storeTimeoutMs: 30_000 }

// Sized for about half a minute; a loaded CI machine (or a longer run) gets room.
t.setTimeout(Number(process.env.FML_SOAK_TIMEOUT_MS ?? 240_000))
t.comment(`soak seed ${seed}; replay: FML_SOAK_SEED=${seed} npx tap test/soak.test.ts`)

async function replica (t: Test, options: Partial<FastifyModelListOptions>): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyModelList, {
    prefix: '/api',
    getRuntime: async () => ({ online: true }),
    authorizeDaemon: async () => true,
    ...generousBounds,
    // The soak's model has no catalog cache (a cache answer is a request it
    // never made, a refresh one it never queued): the cache's own rules are
    // checked in test/helpers/picker-contract.ts.
    catalogCache: false,
    ...options
  })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

function summary (name: string, report: SoakReport, ms: number): string {
  const seen = ['completed', 'failed', 'timeout'].map(status => `${report.counts[`seen ${status}`] ?? 0} ${status}`).join(', ')
  return `${name}: ${report.operations} operations, ${report.checks} invariant checks, ${report.violationCount} violations ` +
    `in ${(ms / 1000).toFixed(1)} s (${report.counts.requests} requests, ${report.counts.claims ?? 0} claims, ${report.counts.joined ?? 0} joins; terminal answers seen: ${seen})`
}

/** The soak passed, and it did exercise what it claims to check. */
function assertClean (t: Test, report: SoakReport): void {
  t.equal(report.violationCount, 0, `no invariant broken (seed ${seed}):\n${report.violations.join('\n')}`)
  t.ok(report.operations >= operations, 'every operation was sent')
  for (const what of ['claims', 'seen completed', 'seen failed', 'seen timeout', 'empty heartbeats', 'lateReport', 'reportBeforeClaim', 'swappedReport', 'swappedGet']) {
    t.ok((report.counts[what] ?? 0) > 0, `the mix reached: ${what}`)
  }
}

t.test(`soak: memory store, one app (seed ${seed})`, async t => {
  const clock = new Clock()
  const app = await replica(t, { store: 'memory', ...timeouts, now: clock.now, coalesce: seed % 2 === 0 })
  const started = Date.now()
  const report = await soak({ seed, operations, replicas: [app], clock, timeouts, wallClockRetention: false })
  t.comment(summary('memory', report, Date.now() - started))
  assertClean(t, report)
})

t.test(`soak: Redis shared by ${2 + seed % 3} replicas (seed ${seed})`, async t => {
  if (!(await ready(t, needsRedis))) return
  const keyPrefix = uniquePrefix('soak')
  const clients: Redis[] = []
  t.teardown(async () => {
    await deleteKeys(clients[0], keyPrefix)
    for (const client of clients) client.disconnect()
  })
  const clock = new Clock()
  const replicas: FastifyInstance[] = []
  const connectionName = `fml-soak-${process.pid}`
  // Queued hints each replica heard: one per request queued, on every replica.
  const heard: number[] = []
  for (let i = 0; i < 2 + seed % 3; i++) {
    const redis = connect({ connectionName })
    clients.push(redis)
    heard.push(0)
    // Replicas may disagree on coalescing: the join must stay atomic either way.
    replicas.push(await replica(t, { store: 'redis', redis, keyPrefix, ...timeouts, now: clock.now, coalesce: i % 2 === 0, notifyPendingWork: () => { heard[i]++ } }))
  }
  // Idle heartbeats are answered from each replica's cache (on by default):
  // work queued on one replica is claimable on another once its signal has
  // landed there, so after each batch every replica hears every request
  // queued (a fixed number of loop turns was not enough on a loaded machine:
  // a heartbeat then rightly claimed nothing, and the soak called it a
  // violation). A signal lost while a subscriber was killed is forgiven: the
  // store distrusts what it remembered until its subscriber is back. Every 50
  // batches the replicas' subscribers are killed (CLIENT KILL ID, this soak's
  // connections only: the shared server's other clients stay).
  let kills = 0
  let killedAt = Number.NEGATIVE_INFINITY
  let forgiven = 0
  let late = 0
  const between = async (batch: number, queued: number): Promise<void> => {
    const owed = queued - forgiven
    if (!await waitFor(() => heard.every(count => count >= owed), batch - killedAt <= 1 ? 300 : 3_000)) {
      if (batch - killedAt > 1) late++
      forgiven = queued - Math.min(...heard)
    }
    if (batch % 50 !== 0) return
    const ours = async (): Promise<string[]> => {
      const list = await clients[0].call('CLIENT', 'LIST', 'TYPE', 'pubsub') as string
      return list.split('\n').filter(line => line.includes(`name=${connectionName}`)).map(line => /\bid=(\d+)/.exec(line)?.[1] as string)
    }
    const killed = await ours()
    for (const id of killed) {
      await clients[0].client('KILL', 'ID', id)
      kills++
    }
    // The batches go on once every subscriber is back: what was queued while
    // one was away is forgiven just after (its store trusts nothing it
    // remembered meanwhile), a fixed wait past it would only slow the soak.
    await until('the subscribers are back', async () => (await ours()).filter(id => !killed.includes(id)).length === replicas.length, 10_000, 5)
    killedAt = batch
  }
  const started = Date.now()
  const report = await soak({ seed, operations, replicas, clock, timeouts, wallClockRetention: true, between })
  t.comment(summary(`redis x${replicas.length}`, report, Date.now() - started) + `; idle runtime cache on, subscribers killed ${kills} times; signals later than 3 s: ${late}`)
  assertClean(t, report)
  t.ok(kills > 0, 'subscribers were killed mid-run')
  // The cache was on: once trusted again, an idle runtime's second heartbeat sends nothing.
  const store = (replicas[0].modelListStore as RedisModelListStore).workStore as RedisWorkStore
  await store.idleCacheReady()
  const sent = countCommands(clients[0] as unknown as { sendCommand: (...args: any[]) => unknown })
  await replicas[0].claimPendingModelList('soak-idle-check')
  await replicas[0].claimPendingModelList('soak-idle-check')
  t.equal(sent(), 1, 'the idle runtime cache answered the second idle heartbeat')
})

t.test('the checker fails on broken stores', async t => {
  const started = Date.now()
  let caught = 0
  const runMutant = async (bug: Bug | null): Promise<SoakReport> => {
    const clock = new Clock()
    const store = mutantStore(bug, clock.now, timeouts)
    const app = await replica(t, { store, coalesce: seed % 2 === 0 })
    return await soak({ seed, operations: mutantOperations, replicas: [app], clock, timeouts, wallClockRetention: false, stopAfter: 5 })
  }

  t.test('control: the same store without a bug passes', async t => {
    const report = await runMutant(null)
    t.equal(report.violationCount, 0, report.violations.join('\n'))
  })

  for (const bug of Object.keys(bugs) as Bug[]) {
    t.test(`${bug} (${bugs[bug].does}) is reported`, async t => {
      const report = await runMutant(bug)
      const named = report.violations.find(violation => bugs[bug].caughtBy.test(violation))
      // The violations go in the message only on failure: a pass stays one line.
      t.ok(named !== undefined, `within ${mutantOperations} operations, a violation matching ${String(bugs[bug].caughtBy)} (seed ${seed})` +
        (named === undefined ? `; got:\n${report.violations.join('\n')}` : ''))
      if (named !== undefined) caught++
      t.comment(`${bug}: caught within ${report.operations} operations: ${(named ?? 'NOT CAUGHT').slice(0, 240)}`)
    })
  }

  t.teardown(() => { t.comment(`mutants caught: ${caught} of ${Object.keys(bugs).length} in ${((Date.now() - started) / 1000).toFixed(1)} s`) })
})
