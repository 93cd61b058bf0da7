// The kinds soak and the work store contract have teeth for what the kinds
// promise: each broken store of test/helpers/kind-mutants.ts (exclusivity,
// claim order, batches, params as POSTed, coalescing on equal params) is run
// through the soak, three replicas sharing it, and through the exported
// contract suite; each must be caught, naming the rule, by the one (or both)
// its entry says. A mutant neither catches fails here. The same store without
// a bug is the control.
//   FML_SOAK_SEED=<seed or random> npx tap test/kinds-mutants.test.ts
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyModelList from '../lib/index'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { RedisWorkStore } from '../lib/store/redis/work-store'
import type { WorkStore } from '../lib/store/contract'
import { workStoreContract } from '../lib/testing/index'
import { Clock } from './helpers/clock'
import { kindMutants } from './helpers/kind-mutants'
import { seedFrom } from './helpers/random'
import { failuresOf } from './helpers/recorder'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { soakKinds, soakTimeouts, soakWork, type KindsSoakReport } from './helpers/soak-kinds'

const seed = seedFrom('FML_SOAK_SEED', 4177)
// A broken store is caught within a few hundred operations; the soak stops at its tenth violation.
const operations = 3_000
const stopAfter = 10

t.setTimeout(Number(process.env.FML_SOAK_TIMEOUT_MS ?? 240_000))
t.comment(`soak seed ${seed}; replay: FML_SOAK_SEED=${seed} npx tap test/kinds-mutants.test.ts`)

/** The kinds soak on three replicas; `make` gives each its store (one shared object, or one per replica on a shared backend). */
async function soakOn (t: Test, make: (now: () => number, replica: number) => WorkStore): Promise<KindsSoakReport> {
  const clock = new Clock()
  const stores = new Map<number, WorkStore>()
  const heard = [0, 0, 0]
  const replicas: FastifyInstance[] = []
  for (let i = 0; i < heard.length; i++) {
    const app = Fastify()
    const store = make(clock.now, i)
    stores.set(i, store)
    await app.register(fastifyModelList, {
      prefix: '/api',
      store,
      work: soakWork,
      ...soakTimeouts,
      catalogCache: false,
      coalesce: i % 2 === 0,
      getRuntime: async () => ({ online: true }),
      authorizeDaemon: async () => true,
      notifyPendingWork: () => { heard[i]++ }
    })
    await app.ready()
    t.teardown(() => app.close())
    replicas.push(app)
  }
  t.teardown(async () => { for (const store of new Set(stores.values())) await store.close() })
  return await soakKinds({ seed, operations, replicas, clock, hintsHeard: () => heard, wallClockRetention: false, stopAfter })
}

t.test('control: the memory store without a bug passes the kinds soak', async t => {
  let store: WorkStore | undefined
  const report = await soakOn(t, now => (store ??= new MemoryWorkStore({ now })))
  t.equal(report.violationCount, 0, report.violations.join('\n'))
})

const started = Date.now()
let caught = 0
for (const [bug, mutant] of Object.entries(kindMutants)) {
  t.test(`mutant "${bug}" (${mutant.does}) is caught`, async t => {
    t.ok(mutant.soak !== undefined || mutant.contract !== undefined, 'something is expected to catch it')
    let named = 0
    if (mutant.soak !== undefined) {
      let store: WorkStore | undefined
      const report = await soakOn(t, now => (store ??= mutant.make({ now })))
      const naming = report.violations.find(violation => (mutant.soak as RegExp).test(violation))
      t.ok(naming !== undefined, naming !== undefined
        ? `the soak names it within ${report.operations} operations: ${naming.slice(0, 240)}`
        : `the soak: no violation matches ${String(mutant.soak)} (seed ${seed}); its violations:\n${report.violations.join('\n')}`)
      if (naming !== undefined) named++
    }
    if (mutant.contract !== undefined) {
      const failures = await failuresOf(t => workStoreContract(t, { name: bug, make: (now, { catalogCache }) => mutant.make({ now, catalogCache }) }))
      const naming = failures.find(failure => (mutant.contract as RegExp).test(failure))
      t.ok(naming !== undefined, naming !== undefined
        ? `the contract suite names it: ${naming.slice(0, 240)}`
        : `the contract suite: no failure matches ${String(mutant.contract)}; its failures:\n${failures.join('\n')}`)
      if (naming !== undefined) named++
    }
    if (named > 0 && named === Number(mutant.soak !== undefined) + Number(mutant.contract !== undefined)) caught++
  })
}

// The Redis mutant below counts too when Redis is there.
let total = Object.keys(kindMutants).length
t.teardown(() => { t.comment(`kind mutants caught: ${caught} of ${total} in ${((Date.now() - started) / 1000).toFixed(1)} s`) })

// The idle runtime cache of the Redis store, broken: a replica that remembers
// a runtime as idle never forgets it (signals of queued work ignored). The
// soak's heartbeats on other replicas then leave claimable work behind.
t.test('mutant "idle runtime cache never forgets" (a runtime once idle stays idle) is caught by the soak', async t => {
  if (!(await ready(t, needsRedis))) return
  total++
  const keyPrefix = uniquePrefix('kinds-mutant-idle')
  const clients = [connect(), connect(), connect()]
  t.teardown(async () => {
    await deleteKeys(clients[0], keyPrefix)
    for (const client of clients) client.disconnect()
  })
  class NeverForgets extends RedisWorkStore {
    private readonly idleForever = new Set<string>()
    probeNow (runtimeId: string, kinds: readonly string[]): boolean[] | undefined {
      return this.idleForever.has(`${runtimeId} ${kinds.join()}`) ? kinds.map(() => false) : super.probeNow(runtimeId, kinds)
    }

    async mayHavePending (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
      const pending = await super.mayHavePending(runtimeId, kinds)
      if (!pending.includes(true)) this.idleForever.add(`${runtimeId} ${kinds.join()}`)
      return pending
    }
  }
  const report = await soakOn(t, (now, i) => new NeverForgets({ redis: clients[i], keyPrefix, now }))
  const naming = report.violations.find(violation => /while .* was claimable/.test(violation))
  t.ok(naming !== undefined, naming !== undefined
    ? `the soak names it within ${report.operations} operations: ${naming.slice(0, 240)}`
    : `no violation matches /while .* was claimable/ (seed ${seed}); its violations:\n${report.violations.join('\n')}`)
  if (naming !== undefined) caught++
})
