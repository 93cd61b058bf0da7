// app.claimPendingModelList(runtimeId): the host heartbeat's claim. It probes,
// then claims, each bounded, and never throws.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { mockRedis } from './helpers/redis-mock'
import type Redis from 'ioredis'
import fastifyModelList, { MemoryModelListStore, RedisModelListStore, type FastifyModelListOptions, type ModelListStore } from '../lib/index'
import { Clock } from './helpers/clock'
import { buildHost, hang, hostHooks, spyStore, type Host, type LogLine, type SpyStore } from './helpers/host'
import type { RedisWorkStore } from '../lib/store/redis'

type HandBack = NonNullable<ModelListStore['handBack']>

interface Setup extends Host {
  clock: Clock
  inner: MemoryModelListStore
  spy?: SpyStore
  claim: (runtimeId: string) => Promise<{ id: string } | null>
}

/**
 * The plugin on a memory store it builds (the default), or, with `spy`, on a
 * plain store object around one (no built-in fast path).
 */
async function setup (t: Test, { spy, plugin = {} }: { spy?: Parameters<typeof spyStore>[1] | true, plugin?: Partial<FastifyModelListOptions> } = {}): Promise<Setup> {
  const clock = new Clock()
  let inner: MemoryModelListStore
  let spied: SpyStore | undefined
  let host: Host
  if (spy === undefined) {
    host = await buildHost({ now: clock.now, ...plugin })
    inner = host.app.modelListStore as MemoryModelListStore
  } else {
    inner = new MemoryModelListStore({ now: clock.now })
    spied = spyStore(inner, spy === true ? {} : spy)
    host = await buildHost({ store: spied, ...plugin })
    t.teardown(() => inner.close())
  }
  t.teardown(() => host.app.close())
  return { ...host, clock, inner, spy: spied, claim: async (runtimeId) => await host.app.claimPendingModelList(runtimeId) }
}

/** Settles within `bound` ms plus a generous second, or fails the test. */
async function within<T> (t: Test, bound: number, work: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const value = await work()
  const elapsed = performance.now() - started
  t.ok(elapsed < bound + 1000, `answered within ${bound} ms (+1 s): ${Math.round(elapsed)} ms`)
  return value
}

const claimFailures = (s: Host): number => s.log.errors().filter(line => /heartbeat claim/.test(line.msg)).length

for (const kind of ['memory store (built by the plugin)', 'store object (no fast path)'] as const) {
  t.test(kind, async t => {
    const make = async (t: Test): Promise<Setup> => await setup(t, kind.startsWith('memory') ? {} : { spy: true })

    t.test('null with nothing pending', async t => {
      const s = await make(t)
      t.equal(await s.claim('rt-1'), null)
      await s.inner.create('rt-2')
      t.equal(await s.claim('rt-1'), null, "another runtime's request is not this runtime's")
      t.equal(claimFailures(s), 0, 'nothing logged as an error')
    })

    t.test('claims oldest first, answers exactly { id }, and the request is then running', async t => {
      const s = await make(t)
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        ids.push((await s.inner.create('rt-1')).id)
        s.clock.advance(10)
      }
      for (const id of ids) {
        const claimed = await s.claim('rt-1')
        t.strictSame(claimed, { id }, 'exactly { id }, oldest first')
        const stored = await s.inner.get('rt-1', id)
        t.equal(stored?.status, 'running')
        t.equal(stored?.updated_at, new Date(s.clock.t).toISOString(), 'claimed now')
      }
      t.equal(await s.claim('rt-1'), null, 'each request is claimed once')
    })

    t.test('a pending request past pendingTimeoutMs is not claimed', async t => {
      const s = await make(t)
      const stale = await s.inner.create('rt-1')
      s.clock.advance(20_000)
      const fresh = await s.inner.create('rt-1')
      s.clock.advance(10_001)
      t.strictSame(await s.claim('rt-1'), { id: fresh.id }, 'the timed-out head is skipped')
      t.equal((await s.inner.get('rt-1', stale.id))?.status, 'timeout')
    })

    t.test('null for an invalid runtime id: logged, not thrown', async t => {
      const s = await make(t)
      await s.inner.create('rt-1')
      const bad = ['bad id', '', '{rt-1}', 'a'.repeat(101), 'modèle', undefined, 42]
      for (const runtimeId of bad) {
        t.equal(await s.claim(runtimeId as string), null, `${JSON.stringify(runtimeId)} answers null`)
      }
      // One kind of failure: logged once, the repeats counted (see host-logging.test.ts).
      t.equal(claimFailures(s), 1, 'the first one logged at error level')
      t.equal(s.log.errors()[0]?.runtimeId, 'bad id', 'the log line carries the runtime id')
      t.strictSame(await s.claim('rt-1') !== null, true, 'valid runtimes are unaffected')
      t.equal(s.log.errors()[1]?.repeatedSinceLastLine, bad.length - 1, 'the repeats are counted on the next line')
    })
  })
}

t.test('through a plain store object: hasPending, then popPending', async t => {
  t.test('a claim probes with hasPending, then claims with popPending', async t => {
    const s = await setup(t, { spy: true })
    const { id } = await s.inner.create('rt-1')
    t.strictSame(await s.claim('rt-1'), { id })
    t.strictSame(s.spy!.calls.map(call => [call.method, ...call.args]), [['hasPending', 'rt-1'], ['popPending', 'rt-1']])
  })

  t.test('nothing pending: popPending is not called', async t => {
    const s = await setup(t, { spy: true })
    t.equal(await s.claim('rt-1'), null)
    t.strictSame(s.spy!.calls.map(call => call.method), ['hasPending'])
  })

  t.test('a spurious hasPending true, then popPending null, answers null', async t => {
    const s = await setup(t, { spy: { hasPending: async () => true } })
    t.equal(await s.claim('rt-1'), null)
    t.strictSame(s.spy!.calls.map(call => call.method), ['hasPending', 'popPending'])
    t.equal(claimFailures(s), 0, 'not an error')
  })

  t.test('popPending answering a full request: the claim still answers exactly { id }', async t => {
    const s = await setup(t, { spy: { hasPending: async () => true } })
    const { id } = await s.inner.create('rt-1')
    const claimed = await s.claim('rt-1')
    t.strictSame(claimed, { id })
    t.strictSame(Object.keys(claimed ?? {}), ['id'])
  })
})

t.test('a slow or failing store costs the heartbeat its bound and answers null', async t => {
  t.test('hasPending hangs: null within heartbeatProbeTimeoutMs, popPending never called', async t => {
    const s = await setup(t, { spy: { hasPending: hang }, plugin: { heartbeatProbeTimeoutMs: 50, storeTimeoutMs: 5000 } })
    const { id } = await s.inner.create('rt-1')
    const claimed = await within(t, 50, async () => await s.claim('rt-1'))
    t.equal(claimed, null)
    t.equal(s.spy!.count('popPending'), 0, 'popPending never called')
    t.equal(claimFailures(s), 1, 'the time-out is logged')
    t.equal((await s.inner.get('rt-1', id))?.status, 'pending', 'the request is still pending, for the next heartbeat')
  })

  t.test('popPending hangs: null within storeTimeoutMs', async t => {
    const s = await setup(t, { spy: { popPending: hang }, plugin: { heartbeatProbeTimeoutMs: 5000, storeTimeoutMs: 50 } })
    await s.inner.create('rt-1')
    const claimed = await within(t, 50, async () => await s.claim('rt-1'))
    t.equal(claimed, null)
    t.equal(s.spy!.count('hasPending'), 1)
    t.equal(s.spy!.count('popPending'), 1)
    t.equal(claimFailures(s), 1, 'the time-out is logged')
  })

  t.test('a claim abandoned by the time-out that lands later, on a store that cannot hand back, ends as timeout', async t => {
    let land: (() => void) | undefined
    const s = await setup(t, {
      spy: {
        popPending: async (runtimeId: string) => await new Promise(resolve => { land = () => resolve(s.inner.popPending(runtimeId)) })
      },
      plugin: { storeTimeoutMs: 50 }
    })
    const { id } = await s.inner.create('rt-1')
    t.equal(await within(t, 50, async () => await s.claim('rt-1')), null)
    land?.()
    await new Promise(resolve => setImmediate(resolve))
    t.equal((await s.inner.get('rt-1', id))?.status, 'running', 'the claim landed after the heartbeat gave up')
    s.clock.advance(60_001)
    const ended = await s.inner.get('rt-1', id)
    t.equal(ended?.status, 'timeout')
    t.equal(ended?.error, 'daemon did not finish within 60 seconds')
  })

  const failures: Array<[string, Parameters<typeof spyStore>[1]]> = [
    ['hasPending rejects', { hasPending: async () => { throw new Error('ECONNRESET 10.0.0.1:6379') } }],
    ['hasPending throws synchronously', { hasPending: () => { throw new Error('ECONNRESET 10.0.0.1:6379') } }],
    ['popPending rejects', { popPending: async () => { throw new Error('ECONNRESET 10.0.0.1:6379') } }],
    ['popPending throws synchronously', { popPending: () => { throw new Error('ECONNRESET 10.0.0.1:6379') } }]
  ]
  for (const [name, overrides] of failures) {
    t.test(`${name}: null and an error log line`, async t => {
      const s = await setup(t, { spy: overrides })
      await s.inner.create('rt-1')
      t.equal(await s.claim('rt-1'), null)
      const lines = s.log.errors().filter(line => /heartbeat claim/.test(line.msg))
      t.equal(lines.length, 1, 'one error line')
      t.equal(lines[0]?.err?.message, 'ECONNRESET 10.0.0.1:6379', 'with the store error')
      t.equal(lines[0]?.runtimeId, 'rt-1', 'and the runtime id')
    })
  }
})

t.test('regression: a claim that landed after its heartbeat gave up was lost to a timeout', async t => {
  // A store object around a memory store, with its public handBack, whose
  // claims land only when `land` is called: after the heartbeat's bound.
  async function lateStore (t: Test, landing: (inner: MemoryModelListStore, runtimeId: string) => Promise<unknown>, handBack?: HandBack): Promise<Setup & { land: () => Promise<void> }> {
    const clock = new Clock()
    const inner = new MemoryModelListStore({ now: clock.now })
    t.teardown(() => inner.close())
    let land: (() => void) | undefined
    const spied = spyStore(inner, {
      popPending: async (runtimeId: string) => await new Promise((resolve, reject) => {
        land = () => { landing(inner, runtimeId).then(resolve, reject) }
      })
    })
    spied.handBack = handBack ?? inner.handBack.bind(inner)
    const host = await buildHost({ store: spied, storeTimeoutMs: 50 })
    t.teardown(() => host.app.close())
    const turns = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
    }
    return {
      ...host,
      clock,
      inner,
      spy: spied,
      claim: async (runtimeId) => await host.app.claimPendingModelList(runtimeId),
      land: async () => { land?.(); await turns() }
    }
  }
  // The warnings of the heartbeat, not the start-up one about sub-second bounds.
  const warnings = (s: Host): LogLine[] => s.log.lines.filter(line => line.level === 40 && !/durations are in milliseconds/.test(String(line.msg)))

  t.test('handed back: pending again, and the next heartbeat claims it', async t => {
    const s = await lateStore(t, async (inner, runtimeId) => await inner.popPending(runtimeId))
    const { id } = await s.inner.create('rt-1')
    t.equal(await within(t, 50, async () => await s.claim('rt-1')), null, 'the heartbeat gave up')
    await s.land()
    t.equal((await s.inner.get('rt-1', id))?.status, 'pending', 'the late claim was handed back')
    t.match(warnings(s), [{ msg: /landed after its heartbeat gave up: handed back/, runtimeId: 'rt-1', requestId: id, handedBack: true }])
    s.spy!.popPending = async (runtimeId: string) => await s.inner.popPending(runtimeId)
    t.same(await s.claim('rt-1'), { id }, 'claimed by the next heartbeat')
    s.clock.advance(60_001)
    t.equal((await s.inner.get('rt-1', id))?.status, 'timeout', 'and only then runs its running timeout')
  })

  t.test('not handed back when it changed before the hand-back', async t => {
    const s = await lateStore(t, async (inner, runtimeId) => {
      const claimed = await inner.popPending(runtimeId)
      await inner.fail(runtimeId, claimed!.id, 'reported by a daemon that heard of it anyway')
      return claimed
    })
    const { id } = await s.inner.create('rt-1')
    t.equal(await s.claim('rt-1'), null)
    await s.land()
    t.equal((await s.inner.get('rt-1', id))?.status, 'failed', 'left as it is')
    t.match(warnings(s), [{ msg: /changed before it could be handed back/, handedBack: false }])
  })

  t.test('a late claim that found nothing, or failed, hands nothing back', async t => {
    for (const landing of [async () => null, async () => { throw new Error('ECONNRESET') }]) {
      let handBacks = 0
      const s = await lateStore(t, landing, async () => { handBacks++; return true })
      await s.inner.create('rt-1')
      t.equal(await s.claim('rt-1'), null)
      await s.land()
      t.equal(handBacks, 0)
      t.same(warnings(s), [])
      t.equal(claimFailures(s), 1, 'only the time-out is logged')
    }
  })

  t.test('a hand-back that fails is logged; the claim then runs out its timeout', async t => {
    const s = await lateStore(t, async (inner, runtimeId) => await inner.popPending(runtimeId), async () => { throw new Error('ECONNRESET') })
    const { id } = await s.inner.create('rt-1')
    t.equal(await s.claim('rt-1'), null)
    await s.land()
    t.match(s.log.errors(), [{ msg: /heartbeat claim failed/ }, { msg: /handing back a late claim failed/, err: { message: 'ECONNRESET' } }])
    t.equal((await s.inner.get('rt-1', id))?.status, 'running')
  })
})

t.test('on the Redis store (ioredis-mock): the same claim', async t => {
  const client = mockRedis({ port: 50_000 + (process.pid % 10_000) })
  t.teardown(() => client.disconnect())
  const clock = new Clock()
  const host = await buildHost({ redis: client, keyPrefix: 'hb', now: clock.now })
  t.teardown(() => host.app.close())
  const store: ModelListStore = host.app.modelListStore
  t.type(store, RedisModelListStore)
  t.equal(await host.app.claimPendingModelList('rt-1'), null)
  const first = await store.create('rt-1')
  clock.advance(5)
  const second = await store.create('rt-1')
  t.strictSame(await host.app.claimPendingModelList('rt-1'), { id: first.id })
  t.strictSame(await host.app.claimPendingModelList('rt-1'), { id: second.id })
  t.equal(await host.app.claimPendingModelList('rt-1'), null)
  t.equal((await store.get('rt-1', first.id))?.status, 'running')
  t.equal(await host.app.claimPendingModelList('{rt-1}'), null, 'an invalid id answers null')
})

t.test('on the Redis store, a heartbeat with nothing to claim sends one ZCARD and runs no script (bench: the probe script cost Redis twice a GET)', async t => {
  const client = mockRedis({ port: 40_000 + (process.pid % 10_000) })
  t.teardown(() => client.disconnect())
  const clock = new Clock()
  const host = await buildHost({ redis: client, keyPrefix: 'hb-probe', now: clock.now })
  t.teardown(() => host.app.close())
  const store = host.app.modelListStore as RedisModelListStore
  // The plugin runs the built-in store's work store: its probe script and its claim script are what a heartbeat may cost.
  const workStore = store.workStore as RedisWorkStore
  const calls: string[] = []
  const zcard = client.zcard.bind(client)
  client.zcard = (async (key: string) => { calls.push('zcard'); return await zcard(key) }) as typeof client.zcard
  const probe = workStore.probe.bind(workStore)
  workStore.probe = async (runtimeId, kinds) => { calls.push('probe'); return await probe(runtimeId, kinds) }
  const claimScript = workStore.claim.bind(workStore)
  workStore.claim = async (rules, runtimeId, max) => { calls.push('claim'); return await claimScript(rules, runtimeId, max) }
  const claim = async (): Promise<unknown> => await host.app.claimPendingModelList('rt-1')

  t.equal(await claim(), null)
  t.strictSame(calls.splice(0), ['zcard'], 'nothing to claim: one ZCARD, no probe script, no claim')
  const created = await store.create('rt-1')
  t.strictSame(await claim(), { id: created.id })
  t.strictSame(calls.splice(0), ['zcard', 'claim'], 'something to claim: the probe, then the claim')

  // Only an entry past its deadline left: the probe says maybe, the claim says no and takes it out.
  await store.create('rt-1')
  clock.advance(30_001)
  t.equal(await claim(), null)
  t.strictSame(calls.splice(0), ['zcard', 'claim'], 'a spurious maybe costs one claim')
  t.equal(await claim(), null)
  t.strictSame(calls.splice(0), ['zcard'], 'and only once: the queue is empty')

  t.equal(await host.app.claimPendingWork('rt-1'), null, 'claimPendingWork probes the same way')
  t.strictSame(calls.splice(0), ['zcard'])
})

t.test("API.md's host heartbeat route, end to end", async t => {
  const clock = new Clock()
  const { getRuntime, authorizeDaemon } = hostHooks()
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { getRuntime, authorizeDaemon, now: clock.now })
  app.post('/daemon/heartbeat', async () => {
    const pending = await app.claimPendingModelList('rt-1')
    return { status: 'ok', ...(pending !== null && { pending_model_list: pending }) }
  })

  const heartbeat = async (): Promise<unknown> => (await app.inject({ method: 'POST', url: '/daemon/heartbeat' })).json()
  t.strictSame(await heartbeat(), { status: 'ok' }, 'nothing pending')
  const created = (await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
  t.strictSame(await heartbeat(), { status: 'ok', pending_model_list: { id: created.id } })
  t.strictSame(await heartbeat(), { status: 'ok' }, 'claimed once')
  const report = await app.inject({
    method: 'POST',
    url: `/daemon/runtimes/rt-1/models/${created.id as string}/result`,
    payload: { status: 'completed', models: [{ id: 'm', label: 'M' }] }
  })
  t.strictSame(report.json(), { status: 'ok' })
  const polled = (await app.inject({ method: 'GET', url: `/runtimes/rt-1/models/${created.id as string}` })).json()
  t.equal(polled.status, 'completed')
  t.strictSame(polled.models, [{ id: 'm', label: 'M' }])
})

// The heartbeat's hot path: with the memory store and nothing to claim, the
// answer comes from a synchronous look-up, with no timer armed.
t.test('no timer armed when the memory store answers at once', async t => {
  const original = globalThis.setTimeout
  let armed = 0
  const counting = ((...args: Parameters<typeof setTimeout>) => {
    armed++
    return original(...args)
  }) as typeof setTimeout
  const count = async (work: () => Promise<unknown>): Promise<number> => {
    armed = 0
    globalThis.setTimeout = counting
    try {
      await work()
    } finally {
      globalThis.setTimeout = original
    }
    return armed
  }

  const memory = await setup(t)
  t.equal(await count(async () => { for (let i = 0; i < 100; i++) await memory.claim('rt-1') }), 0, 'memory store, nothing pending: no timer in 100 heartbeats')
  await memory.inner.create('rt-1')
  t.equal(await count(async () => await memory.claim('rt-1')), 1, 'something to claim: one timer, bounding popPending')

  const object = await setup(t, { spy: true })
  t.equal(await count(async () => await object.claim('rt-1')), 1, 'a store object without the fast path: the probe is bounded by a timer')
})
