import { mock } from 'node:test'
import t, { type Test } from 'tap'
import { mockRedis } from './helpers/redis-mock'
import type Redis from 'ioredis'
import { RedisModelListStore } from '../lib/store/redis'
import type { ModelListRequest } from '../lib/schemas'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { pickerOf } from './helpers/picker-contract'

// "The Redis store given no `now` takes its time from the Redis server inside
// each script, so replicas whose clocks disagree still agree on every deadline
// (and `updated_at` never precedes `created_at`)." The host's clock is set
// minutes off (mocked Date) to show it is never read; the server's TIME,
// read before and after each call, brackets what the store stamps.
// ioredis-mock's server lives in this process, so its clock is the host's (a
// skew moves both, so there it is 0) and the store is given that clock as its
// `now`: the mock's TIME's milliseconds are not in step with its seconds.

interface Client {
  name: string
  make: () => Redis
  setup: () => Promise<{ skip: string | false }>
  /** How far the host's clock is moved: 0 where the server shares it. */
  skew: number
  /** The server's clock. */
  time: (redis: Redis) => Promise<number>
  /** The store's `now`: none on a real server (its TIME is the clock); the host's on the mock, whose TIME is noise. */
  now: (() => number) | undefined
}

const clients: Client[] = [
  { name: 'ioredis-mock', make: () => mockRedis(), setup: async () => ({ skip: false }), skew: 0, time: async () => Date.now(), now: () => Date.now() },
  { name: 'redis', make: connect, setup: needsRedis, skew: 1, time: redisTime, now: undefined }
]

async function redisTime (redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time()
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}

// The host's clock, moved by hand: a replica whose clock runs ahead or behind.
function skewHostClock (t: Test): (offsetMs: number) => void {
  const real = Date.now()
  mock.timers.enable({ apis: ['Date'], now: real })
  t.teardown(() => mock.timers.reset())
  return offsetMs => mock.timers.setTime(real + offsetMs)
}

for (const client of clients) {
  t.test(`server clock: ${client.name}`, async t => {
    if (!(await ready(t, client.setup))) return
    const redis = client.make()
    const keyPrefix = uniquePrefix('server-clock')
    t.teardown(async () => {
      await deleteKeys(redis, keyPrefix)
      redis.disconnect()
    })
    const replica = (): RedisModelListStore => new RedisModelListStore({ redis, keyPrefix, now: client.now, pendingTimeoutMs: 30_000, runningTimeoutMs: 60_000 })
    const recordKey = (rt: string, id: string): string => `${keyPrefix}:{${rt}}:model_list:req:${id}`

    t.test('replicas whose clocks disagree stamp and time out by the server', async t => {
      const setHostClock = skewHostClock(t)
      const [ahead, behind] = [replica(), replica()]
      const rt = 'rt-skew'

      const { skew } = client
      const serverTime = client.time
      const within = (stamp: number, from: number, to: number): boolean => stamp >= from && stamp <= to
      setHostClock(skew * 5 * 60_000)
      const before = await serverTime(redis)
      const created = await ahead.create(rt)
      const between = await serverTime(redis)
      const createdAt = Date.parse(created.created_at)
      t.ok(within(createdAt, before, between), 'created_at is the server\'s time, not the host\'s 5 minutes ahead')
      t.equal(Number(await redis.hget(recordKey(rt, created.id), 'd')), createdAt + 30_000, 'the pending deadline counts from it')

      setHostClock(skew * -5 * 60_000)
      t.equal(await behind.hasPending(rt), true, 'a replica 5 minutes behind sees it claimable')
      const claimed = await behind.popPending(rt)
      const after = await serverTime(redis)
      const claimedAt = Date.parse(claimed?.updated_at as string)
      t.ok(within(claimedAt, between, after), 'the claim is stamped by the server too')
      t.ok(claimedAt >= createdAt, 'updated_at never precedes created_at')
      t.equal(Number(await redis.hget(recordKey(rt, created.id), 'd')), claimedAt + 60_000, 'the running deadline counts from the claim, by the server')
      t.equal(await ahead.hasPending(rt), false)

      setHostClock(skew * 10 * 60_000)
      t.same(await ahead.get(rt, created.id), claimed, 'a replica 10 minutes ahead does not time it out')
      const reported = await ahead.complete(rt, created.id, { models: [], supported: true })
      t.equal(reported?.status, 'completed')
      t.ok(Date.parse(reported?.updated_at as string) >= claimedAt)
    })

    t.test('a held poll timed its deadline by the host clock while the store stamps by the server\'s', async t => {
      const setHostClock = skewHostClock(t)
      const store = replica()
      const picker = pickerOf(store)
      const rt = 'rt-held-skew'
      for (const minutes of [10, -10]) {
        setHostClock(client.skew * minutes * 60_000)
        const created = await store.create(rt, { coalesce: false })
        const read = await store.get(rt, created.id) as ModelListRequest
        const left = await picker.msUntilDeadline(read)
        t.ok(left > 29_000 && left <= 30_000, `host clock ${minutes} minutes off: ${left} ms left of the 30 s pending timeout, by the server`)
      }
    })

    t.test('a deadline passed by the server\'s clock is passed for every replica', async t => {
      skewHostClock(t)(client.skew * -60 * 60_000)
      const store = replica()
      const rt = 'rt-past'
      const created = await store.create(rt)
      // Move the deadline into the server's past, as time would.
      const past = String(await client.time(redis) - 1_000)
      await redis.hset(recordKey(rt, created.id), 'd', past)
      await redis.zadd(`${keyPrefix}:{${rt}}:model_list:queue`, past, await redis.hget(recordKey(rt, created.id), 'm') as string)
      t.equal(await store.hasPending(rt), false, 'not claimable, though the host\'s clock is an hour behind')
      t.equal(await store.popPending(rt), null)
      t.match(await store.get(rt, created.id), { status: 'timeout', error: 'daemon did not respond within 30 seconds' })
    })
  })
}
