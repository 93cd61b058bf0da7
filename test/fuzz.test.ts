// A seeded fuzz of hostile requests on every route (test/helpers/fuzz.ts), on
// the memory store and on a real Redis: no 5xx, bodies past 1 MiB answer 413,
// what is certainly malformed is a 4xx that reaches no store, the store is the
// same after as before, and nothing leaks onto the built-in prototypes.
//   FML_FUZZ_SEED=<seed or random> npx tap test/fuzz.test.ts   (FML_FUZZ_CASES=<n> for more)
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import type Redis from 'ioredis'
import fastifyModelList, { MemoryModelListStore, RedisModelListStore, type ModelListRequest, type ModelListStore } from '../lib/index'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'
import { fuzzCase, type FuzzTargets, type Route } from './helpers/fuzz'
import { countFrom, random, seedFrom } from './helpers/random'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { dumpKeys } from './helpers/redis-dump'

const seed = seedFrom('FML_FUZZ_SEED', 1931)
const memoryCases = countFrom('FML_FUZZ_CASES', 3_000)
// Redis answers slower; a third of the cases is enough to show it agrees.
const redisCases = Math.ceil(memoryCases / 3)
const routes: Route[] = ['create', 'get', 'report']
// One case in this many is past the body limit (a create or a report).
const oversizeEvery = 97
const runtimeA = 'fuzz-rt-a'
const runtimeB = 'fuzz-rt-b'

// Sized for about half a minute; a loaded CI machine (or a longer run) gets room.
t.setTimeout(Number(process.env.FML_FUZZ_TIMEOUT_MS ?? 240_000))
t.comment(`fuzz seed ${seed}; replay: FML_FUZZ_SEED=${seed} npx tap test/fuzz.test.ts`)

type Method = 'create' | 'get' | 'hasPending' | 'popPending' | 'complete' | 'fail'
const methods: Method[] = ['create', 'get', 'hasPending', 'popPending', 'complete', 'fail']

/** Counts every call the plugin makes, and every id a create answers. */
function counting (inner: ModelListStore): { store: ModelListStore, calls: () => number, created: Set<string> } {
  let calls = 0
  const created = new Set<string>()
  const store = { close: async () => {} } as unknown as ModelListStore
  for (const method of methods) {
    (store as any)[method] = async (...args: unknown[]) => {
      calls++
      const answer = await (inner[method] as (...a: unknown[]) => Promise<unknown>).apply(inner, args)
      if (method === 'create') created.add((answer as ModelListRequest).id)
      return answer
    }
  }
  return { store, calls: () => calls, created }
}

/** A request in each state: pending on both runtimes, running, completed, failed, timed out. */
async function seedRequests (store: ModelListStore, clock: Clock): Promise<{ targets: FuzzTargets, ids: Array<[string, string]> }> {
  const timedOut = await store.create(runtimeA)
  clock.advance(30_001)
  await store.get(runtimeA, timedOut.id)
  const running = await store.create(runtimeA)
  await store.popPending(runtimeA)
  const completed = await store.create(runtimeA)
  await store.popPending(runtimeA)
  await store.complete(runtimeA, completed.id, { models: catalog, supported: true })
  const failed = await store.create(runtimeB)
  await store.popPending(runtimeB)
  await store.fail(runtimeB, failed.id, 'discovery failed')
  const pendingA = await store.create(runtimeA)
  const pendingB = await store.create(runtimeB)
  return {
    targets: { runtimes: [runtimeA, runtimeB], live: [pendingA.id, pendingB.id, running.id], settled: [timedOut.id, completed.id, failed.id] },
    ids: [[runtimeA, timedOut.id], [runtimeA, running.id], [runtimeA, completed.id], [runtimeB, failed.id], [runtimeA, pendingA.id], [runtimeB, pendingB.id]]
  }
}

/** What the store holds, as its own reads (and for Redis, every key) tell. */
async function snapshot (store: ModelListStore, ids: Array<[string, string]>, redis?: { client: Redis, prefix: string }): Promise<unknown> {
  const records = await Promise.all(ids.map(async ([rt, id]) => await store.get(rt, id)))
  const pending = [await store.hasPending(runtimeA), await store.hasPending(runtimeB)]
  if (redis === undefined) return { records, pending }
  return { records, pending, keys: await dumpKeys(redis.client, redis.prefix) }
}

const prototypes = [Object.prototype, Array.prototype, Function.prototype, String.prototype]
const prototypeNames = (): string[][] => prototypes.map(proto => Object.getOwnPropertyNames(proto).sort())

async function fuzz (t: Test, name: string, inner: ModelListStore, clock: Clock, cases: number, redis?: { client: Redis, prefix: string }): Promise<void> {
  const { targets, ids } = await seedRequests(inner, clock)
  const { store, calls, created } = counting(inner)
  const daemons = new Set(targets.runtimes)
  const app = Fastify()
  await app.register(fastifyModelList, {
    prefix: '/api',
    store,
    getRuntime: async (_request, runtimeId) => daemons.has(runtimeId) ? { online: true } : null,
    authorizeDaemon: async (_request, runtimeId) => daemons.has(runtimeId)
  })
  await app.ready()
  t.teardown(() => app.close())

  const before = await snapshot(inner, ids, redis)
  const namesBefore = prototypeNames()
  const rng = random(seed)
  const failures: string[] = []
  const statuses: Record<number, number> = {}
  const byRoute: Record<string, number> = {}
  let tooLarge = 0
  const started = Date.now()

  for (let n = 0; n < cases; n++) {
    const route = routes[n % routes.length]
    const fuzzed = fuzzCase(rng, route, targets, n % oversizeEvery === 1)
    const callsBefore = calls()
    const res = await app.inject({ method: fuzzed.method as 'POST', url: fuzzed.url, headers: fuzzed.headers, payload: fuzzed.payload })
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
    byRoute[route] = (byRoute[route] ?? 0) + 1
    const where = `case ${n} (${fuzzed.label}): ${fuzzed.method} ${fuzzed.url.slice(0, 120)} answered ${res.statusCode} ${res.body.slice(0, 200)}`
    if (res.statusCode >= 500) failures.push(`5xx: ${where}`)
    if (fuzzed.tooLarge) {
      tooLarge++
      if (res.statusCode !== 413) failures.push(`not 413 past the body limit: ${where}`)
    }
    if (fuzzed.refused && (res.statusCode < 400 || res.statusCode >= 500)) failures.push(`accepted though malformed: ${where}`)
    if (fuzzed.refused && calls() !== callsBefore) failures.push(`reached the store though malformed: ${where}`)
  }
  const ms = Date.now() - started

  t.same(failures, [], `every case answered as it must (seed ${seed})`)
  const pendingIds = new Set(targets.live.slice(0, 2))
  t.same([...created].filter(id => !pendingIds.has(id)), [], 'every create joined a pending request: nothing new was queued')
  t.same(await snapshot(inner, ids, redis), before, 'the store holds exactly what it held before')
  t.same(prototypeNames(), namesBefore, 'no property appeared on a built-in prototype')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no polluted property on plain objects')
  t.ok(tooLarge > 0, 'some bodies were past the 1 MiB limit')
  t.comment(`${name}: ${cases} fuzz cases (${Object.entries(byRoute).map(([r, c]) => `${c} ${r}`).join(', ')}; ${tooLarge} past 1 MiB) in ${(ms / 1000).toFixed(1)} s; answers: ${JSON.stringify(statuses)}`)
}

t.test(`fuzz: memory store (seed ${seed})`, async t => {
  const clock = new Clock()
  const inner = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => inner.close())
  await fuzz(t, 'memory', inner, clock, memoryCases)
})

t.test(`fuzz: Redis (seed ${seed})`, async t => {
  if (!(await ready(t, needsRedis))) return
  const client = connect()
  const prefix = uniquePrefix('fuzz')
  t.teardown(async () => {
    await deleteKeys(client, prefix)
    client.disconnect()
  })
  const clock = new Clock()
  const inner = new RedisModelListStore({ redis: client, keyPrefix: prefix, now: clock.now })
  await fuzz(t, 'redis', inner, clock, redisCases, { client, prefix })
})
