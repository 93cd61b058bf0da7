import type { ModelListRequest } from '../schemas'
import type { ContractTest } from './expect'
import { defaults, iso, listChecker, type ListCheck, type ModelListStoreTarget } from './model-list-fixture'
import { reportChecks } from './model-list-reports'

// The ModelListStore contract (API.md, "The store contract"), for authors of
// a store object the plugin drives through its public methods; the built-in
// MemoryModelListStore and RedisModelListStore pass it unchanged.

/** Runs the ModelListStore contract against `target`. */
export function modelListStoreContract (t: ContractTest, target: ModelListStoreTarget): void {
  void t.test(`ModelListStore contract: ${target.name}`, async (t: ContractTest) => {
    const check = listChecker(t, target)
    await queueChecks(check)
    await timeoutChecks(check)
    await reportChecks(check, t, target)
  })
}

// At least 122 random bits, URL-safe: 21 characters of [A-Za-z0-9_-] or more (a UUID qualifies).
const randomId = /^[A-Za-z0-9_-]{21,100}$/

async function queueChecks (check: ListCheck): Promise<void> {
  await check('create stores a pending request, supported, stamped by the clock', async b => {
    b.clock.advance(1_000)
    const created = await b.create()
    const at = iso(b.clock.t)
    b.e.same('create answers a pending, supported request stamped now', created, { id: created.id, runtime_id: b.rt, status: 'pending', supported: true, created_at: at, updated_at: at })
    b.e.same('get answers it as stored', await b.store.get(b.rt, created.id), created)
  })

  await check('request ids are random and URL-safe (122 bits or more)', async b => {
    const ids = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const { id } = await b.create()
      ids.add(id)
      if (i === 0) b.e.that('an id is 21 to 100 characters of [A-Za-z0-9_-]', randomId.test(id), id)
    }
    b.e.same('50 requests get 50 different ids', ids.size, 50)
  })

  await check('get answers null for an unknown id and for another runtime\'s request', async b => {
    const created = await b.create()
    b.e.same('unknown id: null', await b.store.get(b.rt, 'no-such-request'), null)
    b.e.same('another runtime\'s request: null', await b.store.get(b.runtime(), created.id), null)
  })

  await check('hasPending: false when empty, true after create, false for another runtime, false after the claim', async b => {
    b.e.same('empty: false', await b.store.hasPending(b.rt), false)
    await b.create()
    b.e.same('after create: true', await b.store.hasPending(b.rt), true)
    b.e.same('another runtime: false', await b.store.hasPending(b.runtime()), false)
    await b.pop()
    b.e.same('after the claim: false', await b.store.hasPending(b.rt), false)
  })

  await check('popPending claims oldest first (same-millisecond order kept), each once', async b => {
    const ids: string[] = []
    for (let i = 0; i < 4; i++) {
      ids.push((await b.create()).id)
      if (i === 1) b.clock.advance(1)
    }
    const claimed = []
    for (let i = 0; i < 4; i++) claimed.push(await b.pop())
    b.e.ids('claims are oldest first', claimed, ids)
    b.e.same('then nothing is left', await b.pop(), null)
  })

  await check('popPending moves the request to running and stores it; another runtime\'s claim leaves it', async b => {
    const created = await b.create()
    b.e.same('another runtime claims nothing', await b.store.popPending(b.runtime()), null)
    b.clock.advance(1_000)
    const claimed = await b.pop()
    b.e.same('the claim answers it running, changed now', claimed, b.request(created, { status: 'running', updated_at: iso(b.clock.t) }))
    b.e.same('and stores it so', await b.store.get(b.rt, created.id), claimed)
  })

  await check('concurrent claims answer each request exactly once', async b => {
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push((await b.create()).id)
    const claims = await Promise.all(Array.from({ length: 40 }, async () => await b.pop()))
    const claimed = claims.filter((claim): claim is ModelListRequest => claim !== null).map(claim => claim.id)
    b.e.ids('40 concurrent claims over 20 requests: each claimed exactly once', claimed.sort((x, y) => ids.indexOf(x) - ids.indexOf(y)), ids)
  })

  await check('coalesce joins the oldest claimable pending request; plain create keeps FIFO', async b => {
    const first = await b.create({ coalesce: true })
    b.clock.advance(5)
    const second = await b.create()
    b.e.not('plain create queues another', second.id, first.id)
    b.e.same('coalesce answers the oldest pending one', await b.create({ coalesce: true }), first)
    await b.pop()
    b.e.same('the oldest is running: the join moves to the next pending one', await b.create({ coalesce: true }), second)
    await b.pop()
    const third = await b.create({ coalesce: true })
    b.e.that('none pending: coalesce queues a new one', third.id !== first.id && third.id !== second.id && third.status === 'pending', third)
    b.e.not('coalesce: false queues another', (await b.create({ coalesce: false })).id, third.id)
  })

  await check('coalesce does not join a request that has timed out', async b => {
    const stale = await b.create()
    b.clock.advance(defaults.pendingTimeoutMs + 1)
    b.e.not('a timed-out request is not joined', (await b.create({ coalesce: true })).id, stale.id)
    b.e.same('it reads as timeout', (await b.store.get(b.rt, stale.id))?.status, 'timeout')
  })
}

async function timeoutChecks (check: ListCheck): Promise<void> {
  await check('pending longer than pendingTimeoutMs becomes timeout, never claimed, and the transition is stored', async b => {
    const created = await b.create()
    b.clock.advance(defaults.pendingTimeoutMs)
    b.e.same('at exactly the timeout: still claimable', await b.store.hasPending(b.rt), true)
    b.clock.advance(1)
    b.e.same('past it: hasPending answers false', await b.store.hasPending(b.rt), false)
    b.e.same('past it: popPending answers null', await b.store.popPending(b.rt), null)
    const timedOut = b.request(created, { status: 'timeout', error: 'daemon did not respond within 30 seconds', updated_at: iso(b.clock.t) })
    b.e.same('it reads as timeout, "daemon did not respond within 30 seconds"', await b.store.get(b.rt, created.id), timedOut)
    b.clock.advance(10_000)
    b.e.same('read later, the stored transition keeps its time', await b.store.get(b.rt, created.id), timedOut)
  })

  await check('running longer than runningTimeoutMs since the claim becomes timeout', async b => {
    const created = await b.create()
    b.clock.advance(20_000)
    await b.pop()
    b.clock.advance(defaults.runningTimeoutMs)
    b.e.same('measured from the claim, not the creation', (await b.store.get(b.rt, created.id))?.status, 'running')
    b.clock.advance(1)
    b.e.same('past it: timeout, "daemon did not finish within 60 seconds"', await b.store.get(b.rt, created.id),
      b.request(created, { status: 'timeout', error: 'daemon did not finish within 60 seconds', updated_at: iso(b.clock.t) }))
  })

  await check('timeout messages follow the configured durations', async b => {
    const unclaimed = await b.create()
    b.clock.advance(1_501)
    b.e.same('pendingTimeoutMs 1500: "1.5 seconds"', (await b.store.get(b.rt, unclaimed.id))?.error, 'daemon did not respond within 1.5 seconds')
    const claimed = await b.create()
    await b.pop()
    b.clock.advance(1_001)
    b.e.same('runningTimeoutMs 1000: "1 second"', (await b.store.get(b.rt, claimed.id))?.error, 'daemon did not finish within 1 second')
  }, { pendingTimeoutMs: 1_500, runningTimeoutMs: 1_000, retentionMs: 5_000 })
}
