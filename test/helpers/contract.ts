import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { RulesOptions as LifecycleOptions } from '../../lib/rules'
import type { ModelListRequest } from '../../lib/schemas'
import type { ModelListStore } from '../../lib/kinds/model-list-store'
import type { Backend } from './backends'
import { Clock } from './clock'
import { ready } from './redis'

// Superseded by the exported suites (lib/testing: workStoreContract and
// modelListStoreContract, run by test/contract.test.ts); kept until its
// callers switch. `catalog` now comes from the suite's own sample models.
import { models } from '../../lib/testing/model-list-fixture'
export const catalog = models

type HandBack = (runtimeId: string, claim: ModelListRequest) => Promise<boolean>

/** The store's hand-back (the built-in stores have it). */
function handBackOf (store: ModelListStore): HandBack {
  if (store.handBack === undefined) throw new Error('the built-in stores hand claims back')
  return store.handBack.bind(store)
}

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function runtime (): string {
  return `rt-${randomUUID()}`
}

/**
 * The store contract of API.md, written once and run unchanged against every
 * backend: memory, ioredis-mock, a real Redis, a Redis Cluster.
 */
export function storeContract (t: Test, backend: Backend): void {
  t.test(`store contract: ${backend.name}`, async t => {
    if (!(await ready(t, backend.setup))) return
    t.teardown(() => backend.teardown())

    const setup = (options: LifecycleOptions = {}): { clock: Clock, store: ModelListStore, rt: string } => {
      const clock = new Clock()
      return { clock, store: backend.make({ ...options, now: clock.now }), rt: runtime() }
    }

    t.test('create stores a pending request, supported, stamped by the clock', async t => {
      const { clock, store, rt } = setup()
      const created = await store.create(rt)
      const at = new Date(clock.t).toISOString()
      t.same(created, { id: created.id, runtime_id: rt, status: 'pending', supported: true, created_at: at, updated_at: at })
      t.match(created.id, uuidV4)
      t.same(await store.get(rt, created.id), created)
    })

    t.test('request ids are random UUIDs', async t => {
      const { store, rt } = setup()
      const ids = new Set<string>()
      for (let i = 0; i < 50; i++) ids.add((await store.create(rt)).id)
      t.equal(ids.size, 50)
    })

    t.test('get answers null for an unknown id and for another runtime', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      t.equal(await store.get(rt, randomUUID()), null)
      t.equal(await store.get(runtime(), created.id), null)
    })

    t.test('claims are oldest first, each once', async t => {
      const { clock, store, rt } = setup()
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        ids.push((await store.create(rt)).id)
        // Same-millisecond requests still keep their order.
        if (i === 0) clock.advance(1)
      }
      const claimed = []
      for (let i = 0; i < 3; i++) claimed.push((await store.popPending(rt))?.id)
      t.same(claimed, ids)
      t.equal(await store.popPending(rt), null)
    })

    t.test('hasPending: false when empty, true after create, false for another runtime, false after the claim', async t => {
      const { store, rt } = setup()
      t.equal(await store.hasPending(rt), false)
      await store.create(rt)
      t.equal(await store.hasPending(rt), true)
      t.equal(await store.hasPending(runtime()), false)
      await store.popPending(rt)
      t.equal(await store.hasPending(rt), false)
    })

    t.test('popPending moves the request to running and stores it', async t => {
      const { clock, store, rt } = setup()
      const created = await store.create(rt)
      clock.advance(1_000)
      const claimed = await store.popPending(rt)
      const at = new Date(clock.t).toISOString()
      t.same(claimed, { ...created, status: 'running', updated_at: at })
      t.same(await store.get(rt, created.id), claimed)
    })

    t.test('popPending answers null for another runtime and leaves the request', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      t.equal(await store.popPending(runtime()), null)
      t.equal((await store.get(rt, created.id))?.status, 'pending')
    })

    t.test('concurrent claims return each request exactly once', async t => {
      const { store, rt } = setup()
      const ids = new Set<string>()
      for (let i = 0; i < 20; i++) ids.add((await store.create(rt)).id)
      const claims = await Promise.all(Array.from({ length: 40 }, async () => await store.popPending(rt)))
      const claimed = claims.filter(claim => claim !== null).map(claim => claim.id)
      t.equal(claimed.length, 20)
      t.same(new Set(claimed), ids)
    })

    t.test('coalesce joins the oldest claimable pending request; plain create keeps FIFO', async t => {
      const { clock, store, rt } = setup()
      const first = await store.create(rt, { coalesce: true })
      clock.advance(5)
      const second = await store.create(rt)
      t.not(second.id, first.id)
      t.same(await store.create(rt, { coalesce: true }), first)
      await store.popPending(rt)
      // The first is running now: the join moves to the next pending one.
      t.same(await store.create(rt, { coalesce: true }), second)
      await store.popPending(rt)
      const third = await store.create(rt, { coalesce: true })
      t.not(third.id, first.id)
      t.not(third.id, second.id)
      t.equal(third.status, 'pending')
      t.same(await store.create(rt, { coalesce: false }).then(r => r.id === third.id), false)
    })

    t.test('coalesce does not join a request that has timed out', async t => {
      const { clock, store, rt } = setup()
      const stale = await store.create(rt)
      clock.advance(30_001)
      const fresh = await store.create(rt, { coalesce: true })
      t.not(fresh.id, stale.id)
      t.equal((await store.get(rt, stale.id))?.status, 'timeout')
    })

    t.test('pending longer than pendingTimeoutMs becomes timeout, and the transition is stored', async t => {
      const { clock, store, rt } = setup()
      const created = await store.create(rt)
      clock.advance(30_000)
      t.equal((await store.get(rt, created.id))?.status, 'pending', 'exactly the timeout is not longer than it')
      t.equal(await store.hasPending(rt), true)
      clock.advance(1)
      const timedOut = await store.get(rt, created.id)
      t.same(timedOut, {
        ...created,
        status: 'timeout',
        error: 'daemon did not respond within 30 seconds',
        updated_at: new Date(clock.t).toISOString()
      })
      t.equal(await store.hasPending(rt), false)
      t.equal(await store.popPending(rt), null)
      clock.advance(10_000)
      t.same(await store.get(rt, created.id), timedOut, 'read later, the stored transition keeps its time')
    })

    t.test('running longer than runningTimeoutMs since the claim becomes timeout', async t => {
      const { clock, store, rt } = setup()
      const created = await store.create(rt)
      clock.advance(20_000)
      await store.popPending(rt)
      clock.advance(60_000)
      t.equal((await store.get(rt, created.id))?.status, 'running', 'measured from the claim, not the creation')
      clock.advance(1)
      t.same(await store.get(rt, created.id), {
        ...created,
        status: 'timeout',
        error: 'daemon did not finish within 60 seconds',
        updated_at: new Date(clock.t).toISOString()
      })
    })

    t.test('timeout messages follow the configured durations', async t => {
      const durations = { pendingTimeoutMs: 1_500, runningTimeoutMs: 1_000, retentionMs: 5_000 }
      const { clock, store, rt } = setup(durations)
      const unclaimed = await store.create(rt)
      clock.advance(1_501)
      t.equal((await store.get(rt, unclaimed.id))?.error, 'daemon did not respond within 1.5 seconds')
      const claimed = await store.create(rt)
      await store.popPending(rt)
      clock.advance(1_001)
      t.equal((await store.get(rt, claimed.id))?.error, 'daemon did not finish within 1 second')
    })

    t.test('complete stores the models as reported, the default flag included', async t => {
      const { clock, store, rt } = setup()
      const created = await store.create(rt)
      await store.popPending(rt)
      clock.advance(2_000)
      const completed = await store.complete(rt, created.id, { models: catalog, supported: true })
      const expected = { ...created, status: 'completed', models: catalog, updated_at: new Date(clock.t).toISOString() }
      t.same(completed, expected)
      t.same(await store.get(rt, created.id), expected)
      t.equal((await store.get(rt, created.id))?.models?.[0].default, true)
    })

    t.test('complete stores supported: false', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      await store.popPending(rt)
      await store.complete(rt, created.id, { models: [], supported: false })
      t.match(await store.get(rt, created.id), { status: 'completed', supported: false, models: [] })
    })

    t.test('a pending request may be reported too, and is then no longer claimable', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      t.equal((await store.fail(rt, created.id, 'runtime has no models'))?.status, 'failed')
      t.equal(await store.hasPending(rt), false)
      t.equal(await store.popPending(rt), null)
    })

    t.test('fail stores the error and keeps supported', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      await store.popPending(rt)
      t.match(await store.fail(rt, created.id, 'claude: command not found'), {
        status: 'failed', error: 'claude: command not found', supported: true
      })
    })

    t.test('a late report leaves, and returns, the earlier terminal state', async t => {
      const { clock, store, rt } = setup()
      const created = await store.create(rt)
      await store.popPending(rt)
      const completed = await store.complete(rt, created.id, { models: catalog, supported: true })
      clock.advance(1_000)
      t.same(await store.fail(rt, created.id, 'late'), completed)
      t.same(await store.complete(rt, created.id, { models: [], supported: false }), completed)
      t.same(await store.get(rt, created.id), completed)

      const other = await store.create(rt)
      await store.popPending(rt)
      clock.advance(60_001)
      const late = await store.complete(rt, other.id, { models: catalog, supported: true })
      t.match(late, { status: 'timeout', error: 'daemon did not finish within 60 seconds' })
      t.equal(late?.models, undefined)
    })

    t.test('complete and fail answer null for an unknown request or another runtime', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      t.equal(await store.complete(rt, randomUUID(), { models: [], supported: true }), null)
      t.equal(await store.fail(runtime(), created.id, 'x'), null)
      t.equal(await store.complete(runtime(), created.id, { models: [], supported: true }), null)
      t.equal((await store.get(rt, created.id))?.status, 'pending')
    })

    t.test('racing reports end in one terminal state, never a mix', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      await store.popPending(rt)
      const [completed, failed] = await Promise.all([
        store.complete(rt, created.id, { models: catalog, supported: true }),
        store.fail(rt, created.id, 'crashed')
      ])
      t.same(completed, failed, 'both callers see the one stored outcome')
      const stored = await store.get(rt, created.id)
      t.same(stored, completed)
      if (stored?.status === 'completed') t.equal(stored.error, undefined)
      else t.equal(stored?.models, undefined)
    })

    t.test('callers get copies: nothing they hold changes the store', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      created.status = 'completed'
      await store.popPending(rt)
      const completed = await store.complete(rt, created.id, { models: catalog, supported: true })
      completed?.models?.push({ id: 'injected', label: 'x' })
      const read = await store.get(rt, created.id)
      t.equal(read?.models?.length, catalog.length)
      read!.models![0].label = 'changed'
      t.equal((await store.get(rt, created.id))?.models?.[0].label, 'Claude Sonnet')
    })

    t.test('the reported catalog is copied in, not held', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      const models = structuredClone(catalog)
      await store.complete(rt, created.id, { models, supported: true })
      models[0].label = 'changed after the report'
      t.equal((await store.get(rt, created.id))?.models?.[0].label, 'Claude Sonnet')
    })

    t.test('every method rejects a malformed id before using its backend', async t => {
      const { store, rt } = setup()
      const created = await store.create(rt)
      const bad: unknown[] = ['', 'has space', '{tag}', 'a'.repeat(101), 'ünï', 'a/b', 42, undefined]
      for (const id of bad) {
        const code = { code: 'FST_MODEL_LIST_INVALID_ID' }
        const badId = id as string
        await t.rejects(store.create(badId), code)
        await t.rejects(store.get(badId, created.id), code)
        await t.rejects(store.get(rt, badId), code)
        await t.rejects(store.hasPending(badId), code)
        await t.rejects(store.popPending(badId), code)
        await t.rejects(store.complete(badId, created.id, { models: [], supported: true }), code)
        await t.rejects(store.complete(rt, badId, { models: [], supported: true }), code)
        await t.rejects(store.fail(badId, created.id, 'x'), code)
        await t.rejects(store.fail(rt, badId, 'x'), code)
      }
      t.equal((await store.get(rt, created.id))?.status, 'pending')
      t.ok(await store.hasPending(rt))
    })

    t.test('a claim handed back is claimable again, in its place, with the deadline it had', async t => {
      const { clock, store, rt } = setup()
      const handBack = handBackOf(store)
      const first = await store.create(rt)
      clock.advance(1)
      const second = await store.create(rt)
      clock.advance(10_000)
      const claim = await store.popPending(rt) as ModelListRequest
      t.equal(claim.id, first.id)
      clock.advance(2_000)
      t.equal(await handBack(rt, claim), true)
      const at = new Date(clock.t).toISOString()
      t.same(await store.get(rt, first.id), { ...first, updated_at: at }, 'pending again, changed now')
      t.equal(await store.hasPending(rt), true)
      t.equal((await store.create(rt, { coalesce: true })).id, first.id, 'a POST joins it')
      clock.advance(1)
      t.equal((await store.popPending(rt))?.id, first.id, 'claimed first again: it keeps its place')
      t.equal((await store.popPending(rt))?.id, second.id)
      t.equal(await store.popPending(rt), null)
    })

    t.test('a hand-back changes nothing unless the request is still that claim', async t => {
      const { clock, store, rt } = setup()
      const handBack = handBackOf(store)
      const reported = await store.create(rt)
      const reportedClaim = await store.popPending(rt) as ModelListRequest
      const completed = await store.complete(rt, reported.id, { models: catalog, supported: true })
      t.equal(await handBack(rt, reportedClaim), false, 'reported meanwhile')
      t.same(await store.get(rt, reported.id), completed)

      const reclaimed = await store.create(rt)
      const firstClaim = await store.popPending(rt) as ModelListRequest
      clock.advance(1)
      t.equal(await handBack(rt, firstClaim), true)
      clock.advance(1)
      const secondClaim = await store.popPending(rt) as ModelListRequest
      t.equal(await handBack(rt, firstClaim), false, 'claimed anew since')
      t.same(await store.get(rt, reclaimed.id), secondClaim)
      t.equal(await handBack(runtime(), secondClaim), false, 'another runtime\'s')
      t.equal(await handBack(rt, { ...secondClaim, id: randomUUID() }), false, 'an unknown request')

      clock.advance(60_001)
      t.equal(await handBack(rt, secondClaim), false, 'past its running timeout')
      t.match(await store.get(rt, reclaimed.id), { status: 'timeout', error: 'daemon did not finish within 60 seconds' })
      t.equal(await store.hasPending(rt), false)
      await t.rejects(handBack('bad id', secondClaim), { code: 'FST_MODEL_LIST_INVALID_ID' })
    })

    t.test('a claim handed back after its pending deadline times out as never claimed', async t => {
      const { clock, store, rt } = setup()
      const created = await store.create(rt)
      clock.advance(29_000)
      const claim = await store.popPending(rt) as ModelListRequest
      clock.advance(1_001)
      t.equal(await handBackOf(store)(rt, claim), true)
      t.equal(await store.hasPending(rt), false, 'not claimable')
      t.equal(await store.popPending(rt), null)
      t.match(await store.get(rt, created.id), { status: 'timeout', error: 'daemon did not respond within 30 seconds' })
    })

    if (backend.clockRetention) {
      t.test('a record is forgotten retentionMs after its last change', async t => {
        const { clock, store, rt } = setup()
        const created = await store.create(rt)
        clock.advance(25_000)
        await store.popPending(rt)
        clock.advance(119_999)
        t.equal((await store.get(rt, created.id))?.status, 'timeout', 'the timeout is a change too')
        clock.advance(120_000)
        t.equal(await store.get(rt, created.id), null)
        t.equal(await store.complete(rt, created.id, { models: [], supported: true }), null)
      })

      t.test('a forgotten pending request is no longer claimable', async t => {
        const { clock, store, rt } = setup()
        await store.create(rt)
        clock.advance(120_000)
        t.equal(await store.hasPending(rt), false)
        t.equal(await store.popPending(rt), null)
      })
    }

    if (backend.shared) {
      t.test('replicas share one lifecycle', async t => {
        const clock = new Clock()
        const [a, b] = [backend.make({ now: clock.now }), backend.make({ now: clock.now })]
        const rt = runtime()
        const created = await a.create(rt)
        t.equal(await b.hasPending(rt), true)
        t.equal((await b.popPending(rt))?.id, created.id)
        t.equal(await a.popPending(rt), null)
        await a.complete(rt, created.id, { models: catalog, supported: true })
        t.same((await b.get(rt, created.id))?.models, catalog)
      })

      t.test('a timeout stored by one replica is read by another whose clock lags', async t => {
        const ahead = new Clock()
        const behind = new Clock()
        const [a, b] = [backend.make({ now: ahead.now }), backend.make({ now: behind.now })]
        const rt = runtime()
        const created = await a.create(rt)
        ahead.advance(30_001)
        const timedOut = await a.get(rt, created.id)
        t.equal(timedOut?.status, 'timeout')
        t.same(await b.get(rt, created.id), timedOut)
        t.equal(await b.popPending(rt), null)
      })
    }
  })
}
