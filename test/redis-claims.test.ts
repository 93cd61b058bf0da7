import t from 'tap'
import { mockRedis } from './helpers/redis-mock'
import type Redis from 'ioredis'
import type { ModelListRequest } from '../lib/schemas'
import { RedisModelListStore } from '../lib/store/redis'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// popPending under real concurrency (8 claimers on two replicas), and reports
// racing a timeout or each other: exactly one outcome, the same for everyone.

interface Target {
  name: string
  /** A new client to the one server every store of this target shares. */
  client: () => Redis
  setup: () => Promise<{ skip: string | false }>
  requests: number
  iterations: number
}

const targets: Target[] = [
  { name: 'redis', client: connect, setup: needsRedis, requests: 1_000, iterations: 1_000 },
  // ioredis-mock instances with the same host and port share their data. The
  // mock runs each script synchronously in call order, so its races always end
  // the same way: it checks the outcome's shape, not the interleavings.
  { name: 'ioredis-mock', client: () => mockRedis(), setup: async () => ({ skip: false }), requests: 100, iterations: 40 }
]

const runningTimeoutMs = 60_000
const runningTimeoutError = 'daemon did not finish within 60 seconds'
const batch = 25

/** The record's hash as stored: never a result beside an error. */
async function storedFields (raw: Redis, keyPrefix: string, rt: string, id: string): Promise<Record<string, string>> {
  return await raw.hgetall(`${keyPrefix}:{${rt}}:model_list:req:${id}`)
}

/**
 * What is wrong with a final record: not terminal, or a mix (a result beside an
 * error, the wrong error), in its wire shape or in the hash as stored.
 * Problems are collected, not asserted one by one: hundreds of iterations
 * make one assertion each.
 */
function problemsOf (record: ModelListRequest | null, fields: Record<string, string>, label: string): string[] {
  if (record === null) return [`${label}: record missing`]
  const problems: string[] = []
  const expect = (ok: boolean, what: string): void => { if (!ok) problems.push(`${label} (${record.status}): ${what}`) }
  switch (record.status) {
    case 'completed':
      expect(JSON.stringify(record.models) === JSON.stringify(catalog), 'completed carries the models')
      expect(record.error === undefined, 'completed carries no error')
      expect('r' in fields && !('e' in fields), 'stored with a result and no error')
      break
    case 'failed':
      expect(record.error === 'crashed', 'failed carries the error')
      expect(record.models === undefined, 'failed carries no models')
      expect('e' in fields && !('r' in fields), 'stored with an error and no result')
      break
    case 'timeout':
      expect(record.error === runningTimeoutError, 'timeout carries the timeout error')
      expect(record.models === undefined, 'timeout carries no models')
      expect('e' in fields && !('r' in fields), 'stored with an error and no result')
      break
    default:
      expect(false, 'not terminal')
  }
  expect(fields.s === record.status, `stored status ${fields.s}`)
  return problems
}

function same (a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Runs `iterations` of `one`, `batch` at a time, concurrently within a batch. */
async function iterate (iterations: number, one: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < iterations; start += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, iterations - start) }, async (_, k) => { await one(start + k) }))
  }
}

for (const target of targets) {
  t.test(target.name, async t => {
    if (!(await ready(t, target.setup))) return
    const keyPrefix = uniquePrefix(`claims-${target.name}`)
    const [clientA, clientB, raw] = [target.client(), target.client(), target.client()]
    t.teardown(async () => {
      await deleteKeys(raw, keyPrefix)
      for (const client of [clientA, clientB, raw]) client.disconnect()
    })
    const store = (client: Redis, clock: Clock): RedisModelListStore =>
      new RedisModelListStore({ redis: client, keyPrefix, now: clock.now, runningTimeoutMs, pendingTimeoutMs: 30_000, retentionMs: 120_000 })

    t.test(`${target.requests} requests, 8 claimers on two replicas: each request claimed exactly once`, async t => {
      const clock = new Clock()
      const stores = [store(clientA, clock), store(clientB, clock)]
      const rt = `rt-claims-${process.pid}`
      const created = new Set<string>()
      for (let start = 0; start < target.requests; start += 100) {
        const made = await Promise.all(Array.from({ length: Math.min(100, target.requests - start) }, async (_, i) => await stores[i % 2].create(rt)))
        for (const request of made) created.add(request.id)
      }
      t.equal(created.size, target.requests, 'requests created')

      const claimedBy: string[][] = Array.from({ length: 8 }, () => [])
      const started = Date.now()
      await Promise.all(claimedBy.map(async (mine, claimer) => {
        const replica = stores[claimer % 2]
        for (;;) {
          const claimed = await replica.popPending(rt)
          if (claimed === null) return
          if (claimed.status !== 'running') t.fail(`claimer ${claimer} got a ${claimed.status} request`)
          mine.push(claimed.id)
        }
      }))
      const elapsed = Date.now() - started

      const all = claimedBy.flat()
      t.equal(all.length, target.requests, 'as many claims as requests')
      t.equal(new Set(all).size, all.length, 'no request claimed twice')
      t.same(new Set(all), created, 'the claimed set is the created set')
      t.equal(await stores[0].hasPending(rt), false, 'nothing left to claim')
      t.equal(await stores[1].popPending(rt), null)
      t.equal(await raw.zcard(`${keyPrefix}:{${rt}}:model_list:queue`), 0, 'the queue is empty')
      t.comment(`${target.name}: ${target.requests} requests claimed in ${elapsed} ms by 8 claimers: ${claimedBy.map((mine, claimer) =>
        `#${claimer}(${claimer % 2 === 0 ? 'A' : 'B'})=${mine.length}`).join(' ')}`)
    })

    for (const timeoutSide of ['get', 'fail'] as const) {
      t.test(`a completion racing the running timeout (applied by ${timeoutSide}), ${target.iterations} iterations`, async t => {
        const outcomes = { completed: 0, timeout: 0 }
        const problems: string[] = []
        await iterate(target.iterations, async i => {
          // Each iteration has its own clocks: A just past the running deadline, B exactly at it.
          const ahead = new Clock()
          const behind = new Clock()
          const [a, b] = [store(clientA, ahead), store(clientB, behind)]
          const rt = `rt-race-${timeoutSide}-${i}`
          const created = await a.create(rt)
          await a.popPending(rt)
          ahead.advance(runningTimeoutMs + 1)
          behind.advance(runningTimeoutMs)
          const [viaTimeout, viaReport] = await Promise.all([
            timeoutSide === 'get' ? a.get(rt, created.id) : a.fail(rt, created.id, 'crashed'),
            b.complete(rt, created.id, { models: catalog, supported: true })
          ])
          const final = await b.get(rt, created.id)
          const label = `#${i}`
          if (!same(viaTimeout, viaReport)) problems.push(`${label}: the callers got different records`)
          if (!same(final, viaReport)) problems.push(`${label}: the stored record differs from the answers`)
          problems.push(...problemsOf(final, await storedFields(raw, keyPrefix, rt, created.id), label))
          if (final?.status === 'completed') {
            outcomes.completed++
            if (final.updated_at !== new Date(behind.t).toISOString()) problems.push(`${label}: completed, but not at B's time`)
          } else if (final?.status === 'timeout') {
            outcomes.timeout++
            if (final.updated_at !== new Date(ahead.t).toISOString()) problems.push(`${label}: timed out, but not at A's time`)
          }
        })
        t.same(problems, [], 'one terminal state per request, never a mix; both callers and the store agree')
        t.equal(outcomes.completed + outcomes.timeout, target.iterations, 'every iteration ended completed or timeout')
        t.comment(`${target.name}, timeout applied by ${timeoutSide}: ${target.iterations} iterations: completed ${outcomes.completed}, timeout ${outcomes.timeout}`)
      })
    }

    t.test(`complete racing fail on two replicas, ${target.iterations} iterations`, async t => {
      const outcomes = { completed: 0, failed: 0 }
      const problems: string[] = []
      await iterate(target.iterations, async i => {
        const clock = new Clock()
        const [a, b] = [store(clientA, clock), store(clientB, clock)]
        const rt = `rt-reports-${i}`
        const created = await a.create(rt)
        // Half the iterations race on a running request, half on a pending one.
        if (i % 2 === 0) await b.popPending(rt)
        clock.advance(1_000)
        // Swap which replica completes, so neither client is always first.
        const [completer, failer] = i % 4 < 2 ? [a, b] : [b, a]
        const [completed, failed] = await Promise.all([
          completer.complete(rt, created.id, { models: catalog, supported: true }),
          failer.fail(rt, created.id, 'crashed')
        ])
        const final = await a.get(rt, created.id)
        const label = `#${i}`
        if (!same(completed, failed)) problems.push(`${label}: the callers got different records`)
        if (!same(final, completed)) problems.push(`${label}: the stored record differs from the answers`)
        problems.push(...problemsOf(final, await storedFields(raw, keyPrefix, rt, created.id), label))
        if (final?.status === 'completed') outcomes.completed++
        if (final?.status === 'failed') outcomes.failed++
      })
      t.same(problems, [], 'one terminal state per request, never a mix; both callers and the store agree')
      t.equal(outcomes.completed + outcomes.failed, target.iterations, 'every iteration ended completed or failed')
      t.comment(`${target.name}, complete vs fail: ${target.iterations} iterations: completed ${outcomes.completed}, failed ${outcomes.failed}`)
    })
  })
}
