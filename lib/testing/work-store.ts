import type { ContractTest } from './expect'
import { checker, durations, kindName, otherKindName, params, type Check, type WorkStoreTarget } from './work-fixture'
import { lifecycleChecks } from './work-lifecycle'
import { retentionChecks } from './work-retention'
import { catalogChecks } from './work-catalog'

// The work store contract (lib/store/contract.ts), written once and run
// unchanged against every backend: the built-in ones run exactly this in the
// package's tests, and a custom store's author runs it against theirs
// (`fastify-model-list/testing`). It takes any tap-like test object, so it
// imports no test framework.

/** Runs the work store contract against `target`. */
export function workStoreContract (t: ContractTest, target: WorkStoreTarget): void {
  void t.test(`work store contract: ${target.name}`, async (t: ContractTest) => {
    const check = checker(t, target)
    await queueChecks(check)
    await lifecycleChecks(check)
    await retentionChecks(check, t, target)
    await catalogChecks(check, target)
  })
}

/** Opening, reading, probing, claiming, coalescing, exclusivity. */
async function queueChecks (check: Check): Promise<void> {
  await check('open queues a pending request with its params, stamped by the clock', async b => {
    b.clock.advance(1_000)
    const opened = await b.open({ skill: 'search' })
    b.e.same('a new request is queued', 'record' in opened && opened.queued, true)
    if (!('record' in opened)) return
    const wanted = b.record(opened.record.id, { createdAt: b.clock.t, updatedAt: b.clock.t, deadline: b.clock.t + durations.pendingTimeoutMs, params: params({ skill: 'search' }) })
    b.e.same('open answers the pending record, stamped by the clock, deadline = created + pendingTimeoutMs', opened.record, wanted)
    b.e.same('get answers it as stored', await b.store.get(b.rules, b.rt, opened.record.id), wanted)
    const bare = await b.queue(undefined, {}, b.other)
    b.e.same('a kind without params stores none', (await b.store.get(b.other, b.rt, bare))?.params, undefined)
  })

  await check('get answers null for an unknown id, another runtime\'s and another kind\'s', async b => {
    const id = await b.queue({ skill: 'a' })
    b.e.same('unknown id: null', await b.store.get(b.rules, b.rt, 'no-such-request'), null)
    b.e.same('another runtime\'s request: null', await b.store.get(b.rules, b.runtime(), id), null)
    b.e.same('another kind\'s request: null', await b.store.get(b.other, b.rt, id), null)
  })

  await check('probe answers every kind asked about, in the order asked, per runtime', async b => {
    b.e.same('nothing queued: false for each kind', await b.store.probe(b.rt, [kindName, otherKindName]), [false, false])
    await b.queue({ skill: 'a' })
    b.e.same('one kind queued: [true, false]', await b.store.probe(b.rt, [kindName, otherKindName]), [true, false])
    b.e.same('answers follow the order asked', await b.store.probe(b.rt, [otherKindName, kindName]), [false, true])
    b.e.same('another runtime has nothing', await b.store.probe(b.runtime(), [kindName]), [false])
    await b.claim(1)
    b.e.same('claimed: nothing left to claim', await b.store.probe(b.rt, [kindName, otherKindName]), [false, false])
  })

  await check('claims are oldest first (same-millisecond order kept), at most `max`, each once', async b => {
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      ids.push(await b.queue({ skill: `s${i}` }))
      if (i === 2) b.clock.advance(1)
    }
    b.clock.advance(1_000)
    const first = await b.claim(3)
    b.e.ids('claims are oldest first, at most max, a batch in creation order', first, ids.slice(0, 3))
    b.e.same('a claimed record is running, with its params, deadline = claim + runningTimeoutMs', first[0],
      b.record(ids[0], { status: 'running', updatedAt: b.clock.t, deadline: b.clock.t + durations.runningTimeoutMs, params: params({ skill: 's0' }) }))
    b.e.same('and stored so', await b.store.get(b.rules, b.rt, ids[0]), first[0])
    b.e.ids('the next claim takes the rest, oldest first', await b.claim(3), ids.slice(3))
    b.e.ids('then nothing is left', await b.claim(3), [])
    const more = [await b.queue({ skill: 'x' }), await b.queue({ skill: 'y' })]
    b.e.ids('claims one at a time are oldest first', [...await b.claim(1), ...await b.claim(1)], more)
  })

  await check('kinds are kept apart: a claim takes its own kind only', async b => {
    const mine = await b.queue({ skill: 'a' })
    const theirs = await b.queue(undefined, {}, b.other)
    b.e.ids('a claim for the other kind takes its request only', await b.claim(10, b.other), [theirs])
    b.e.ids('a claim for this kind takes its request only', await b.claim(10), [mine])
  })

  await check('concurrent claims answer each request exactly once', async b => {
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push(await b.queue({ skill: `s${i}` }))
    const claims = await Promise.all(Array.from({ length: 30 }, async () => await b.claim(2)))
    const claimed = claims.flat().map(record => record.id).sort((x, y) => ids.indexOf(x) - ids.indexOf(y))
    b.e.ids('30 concurrent claims of 2 over 20 requests: each claimed exactly once', claimed, ids)
    b.e.that('no claim answers more than max', claims.every(claim => claim.length <= 2), claims.map(claim => claim.length))
  })

  await check('coalesce joins the oldest claimable pending request with equal params only', async b => {
    const a = await b.queue({ skill: 'a' })
    const bId = await b.queue({ skill: 'b' })
    b.e.same('coalesce joins past a head that asks something else', await b.queue({ skill: 'b' }, { coalesce: true }), bId)
    b.e.same('coalesce joins the request with equal params', await b.queue({ skill: 'a' }, { coalesce: true }), a)
    const joined = await b.open({ skill: 'a' }, { coalesce: true })
    b.e.same('a join queues nothing', 'record' in joined && joined.queued, false)
    b.e.not('without coalesce a new request is queued', await b.queue({ skill: 'a' }), a)
    b.e.not('params nobody asked for: a new request', await b.queue({ skill: 'z' }, { coalesce: true }), a)
    const done = await b.queue({ skill: 'c' })
    await b.store.settle(b.rules, b.rt, done, { status: 'failed', error: 'cancelled' }, 'keep')
    b.e.not('a request no longer pending is not joined', await b.queue({ skill: 'c' }, { coalesce: true }), done)
    await b.claim(1)
    b.e.not('a running request is not joined', await b.queue({ skill: 'a' }, { coalesce: true }), a)
  })

  await check('coalesce does not join a request past its pending deadline', async b => {
    const stale = await b.queue({ skill: 'a' })
    b.clock.advance(durations.pendingTimeoutMs + 1)
    const fresh = await b.queue({ skill: 'a' }, { coalesce: true })
    b.e.not('a timed-out request is not joined', fresh, stale)
    b.e.same('the timed-out one reads as timeout', (await b.store.get(b.rules, b.rt, stale))?.status, 'timeout')
    b.e.ids('the new one is what a claim takes', await b.claim(5), [fresh])
  })

  await check('exclusive refuses while one is pending or running, naming it; accepts once it is terminal', async b => {
    const exclusive = { exclusive: true }
    const id = await b.queue(undefined, exclusive)
    b.e.same('busy while pending, naming the request in flight', await b.open(undefined, exclusive), { busy: id })
    await b.claim(1)
    b.e.same('busy while running, naming it', await b.open(undefined, exclusive), { busy: id })
    b.e.same('a refused open queues nothing', await b.store.probe(b.rt, [kindName]), [false])
    await b.store.settle(b.rules, b.rt, id, { status: 'completed', result: '{}' }, 'keep')
    const next = await b.open(undefined, exclusive)
    b.e.that('terminal: a new request is queued', 'record' in next && next.record.id !== id && next.queued, next)
    b.e.that('another kind is not held up', 'record' in await b.open(undefined, exclusive, b.other))
    b.clock.advance(durations.pendingTimeoutMs + 1)
    b.e.that('timed out: a new request is queued', 'record' in await b.open(undefined, exclusive))
  })
}
