import { setTimeout as sleep } from 'node:timers/promises'
import { WorkRules } from '../rules'
import type { ContractTest } from './expect'
import { completed, durations, kindName, params, type Bench, type Check, type WorkStoreTarget } from './work-fixture'

// Forgetting, hand-back and replicas.

// A store that forgets by key expiry does so on its server's real clock: these
// short durations keep the wait under a second and a half, with margins wide
// enough for a busy machine.
const expiry = { pendingTimeoutMs: 100, runningTimeoutMs: 100, retentionMs: 400 }
const margin = 150

export async function retentionChecks (check: Check, t: ContractTest, target: WorkStoreTarget): Promise<void> {
  if ((target.forgets ?? 'clock') === 'clock') await forgetsByClock(check)
  else await forgetsByExpiry(check)
  await handBackChecks(check)
  if (target.shared === true) await replicaChecks(check)
  else t.ok(true, 'replicas: skipped, this target does not share one store between `make` calls')
}

async function forgetsByClock (check: Check): Promise<void> {
  await check('a record is forgotten retentionMs after its last change (by the clock)', async b => {
    const id = await b.queue({ skill: 'a' })
    b.clock.advance(25_000)
    await b.claim(1)
    b.clock.advance(durations.runningTimeoutMs + 1)
    b.e.same('the running timeout is a change too', (await b.store.get(b.rules, b.rt, id))?.status, 'timeout')
    b.clock.advance(durations.retentionMs - 1)
    b.e.same('kept until retentionMs after its last change', (await b.store.get(b.rules, b.rt, id))?.status, 'timeout')
    b.clock.advance(1)
    b.e.same('forgotten retentionMs after its last change: get answers null (a store that forgets by key expiry declares forgets: \'expiry\')', await b.store.get(b.rules, b.rt, id), null)
    b.e.same('and settle answers null', await b.store.settle(b.rules, b.rt, id, completed({}), 'keep'), null)
  })

  await check('a forgotten pending request is no longer claimable, nor its queue entry probed', async b => {
    await b.queue({ skill: 'a' })
    b.clock.advance(durations.retentionMs)
    b.e.same('probe answers false', await b.store.probe(b.rt, [kindName]), [false])
    b.e.ids('claim answers nothing', await b.claim(5), [])
    const next = await b.queue({ skill: 'b' })
    b.e.ids('a request queued after it is claimed alone', await b.claim(5), [next])
  })
}

async function forgetsByExpiry (check: Check): Promise<void> {
  await check('a record is forgotten retentionMs after its last change (by key expiry, real time)', async b => {
    const rules = new WorkRules(expiry, kindName)
    const id = await b.queue({ skill: 'a' }, {}, rules)
    await sleep(expiry.retentionMs - margin)
    b.e.ids('claimed before it is forgotten', await b.claim(1, rules), [id])
    await sleep(2 * margin)
    b.e.same('kept until retentionMs after its last change (the claim)', (await b.store.get(rules, b.rt, id))?.status, 'running')
    await sleep(expiry.retentionMs)
    b.e.same('forgotten retentionMs after its last change: get answers null', await b.store.get(rules, b.rt, id), null)
    b.e.same('and settle answers null', await b.store.settle(rules, b.rt, id, completed({}), 'keep'), null)
  })

  await check('a forgotten pending request is no longer claimable, nor its queue entry probed (by key expiry)', async b => {
    const rules = new WorkRules(expiry, kindName)
    const forgotten = await b.queue({ skill: 'a' }, {}, rules)
    await sleep(expiry.retentionMs + margin)
    b.e.same('probe answers false', await b.store.probe(b.rt, [kindName]), [false])
    b.e.ids('claim answers nothing', await b.claim(5, rules), [])
    const older = await b.queue({ skill: 'b' }, {}, rules)
    await sleep(expiry.retentionMs - margin)
    const newer = await b.queue({ skill: 'c' }, {}, rules)
    await sleep(2 * margin)
    b.e.same('the older one is forgotten', await b.store.get(rules, b.rt, older), null)
    b.e.ids('its queue entry is gone: the claim answers the newer one', await b.claim(5, rules), [newer])
    b.e.same('the first stays forgotten', await b.store.get(rules, b.rt, forgotten), null)
  })
}

async function handBackChecks (check: Check): Promise<void> {
  const handBack = (b: Bench): NonNullable<Bench['store']['handBack']> | undefined => b.store.handBack?.bind(b.store)

  await check('handBack (optional): a claim goes back in its old place, with the deadline it had', async b => {
    const back = handBack(b)
    if (back === undefined) return void b.e.that('this store does not hand back: such a claim ends as timeout', true)
    const ids = [await b.queue({ skill: 'a' }), await b.queue({ skill: 'b' })]
    b.clock.advance(1_000)
    const [claim] = await b.claim(1)
    b.clock.advance(1_000)
    const returned = await back(b.rules, b.rt, ids[0], claim.updatedAt)
    const wanted = b.record(ids[0], { updatedAt: b.clock.t, params: params({ skill: 'a' }) })
    b.e.same('pending again, changed now, with its pending deadline', returned, wanted)
    b.e.same('and stored so', await b.store.get(b.rules, b.rt, ids[0]), wanted)
    b.e.same('a join finds it', await b.queue({ skill: 'a' }, { coalesce: true }), ids[0])
    b.e.ids('claimed first again: it keeps its old place', await b.claim(1), [ids[0]])
    b.e.ids('then the one behind it', await b.claim(1), [ids[1]])
  })

  await check('handBack (optional): a batch handed back keeps its order', async b => {
    const back = handBack(b)
    if (back === undefined) return void b.e.that('this store does not hand back', true)
    const ids = [await b.queue({ skill: 'a' }), await b.queue({ skill: 'b' }), await b.queue({ skill: 'c' })]
    const claimed = await b.claim(2)
    b.clock.advance(1)
    for (const record of [...claimed].reverse()) await back(b.rules, b.rt, record.id, record.updatedAt)
    b.e.ids('claimed again in creation order', await b.claim(3), ids)
  })

  await check('handBack (optional): nothing changes unless the request is still that claim', async b => {
    const back = handBack(b)
    if (back === undefined) return void b.e.that('this store does not hand back', true)
    const id = await b.queue({ skill: 'a' })
    b.e.same('a pending request is not a claim: null', await back(b.rules, b.rt, id, b.clock.t), null)
    const [first] = await b.claim(1)
    b.e.same('another kind\'s request is not found', await back(b.other, b.rt, id, first.updatedAt), null)
    b.e.same('another runtime\'s request is not found', await back(b.rules, b.runtime(), id, first.updatedAt), null)
    b.e.same('an unknown request is not found', await back(b.rules, b.rt, 'no-such-request', first.updatedAt), null)
    b.clock.advance(1)
    await back(b.rules, b.rt, id, first.updatedAt)
    b.clock.advance(1)
    const [second] = await b.claim(1)
    b.e.same('claimed anew since: the old claim is not handed back', await back(b.rules, b.rt, id, first.updatedAt), null)
    b.e.same('and the new claim stands', await b.store.get(b.rules, b.rt, id), second)
    await b.store.settle(b.rules, b.rt, id, completed({}), 'keep')
    b.e.same('reported: left as it is', await back(b.rules, b.rt, id, second.updatedAt), null)
    b.e.same('still completed', (await b.store.get(b.rules, b.rt, id))?.status, 'completed')
    const late = await b.queue({ skill: 'b' })
    const [claim] = await b.claim(1)
    b.clock.advance(durations.runningTimeoutMs + 1)
    b.e.same('past its running timeout: not handed back', await back(b.rules, b.rt, late, claim.updatedAt), null)
    b.e.same('it reads as timed out with the running words', (await b.store.get(b.rules, b.rt, late))?.error, b.rules.runningTimeoutError)
  })

  await check('handBack (optional): after its pending deadline it times out as never claimed', async b => {
    const back = handBack(b)
    if (back === undefined) return void b.e.that('this store does not hand back', true)
    const id = await b.queue({ skill: 'a' })
    b.clock.advance(durations.pendingTimeoutMs - 1_000)
    const [claim] = await b.claim(1)
    b.clock.advance(1_001)
    await back(b.rules, b.rt, id, claim.updatedAt)
    b.e.same('not probed', await b.store.probe(b.rt, [kindName]), [false])
    b.e.ids('not claimed', await b.claim(1), [])
    const read = await b.store.get(b.rules, b.rt, id)
    b.e.same('a timeout with the pending words', { status: read?.status, error: read?.error }, { status: 'timeout', error: b.rules.pendingTimeoutError })
  })
}

async function replicaChecks (check: Check): Promise<void> {
  await check('replicas share one lifecycle: what one does, the other sees', async b => {
    const other = await b.make()
    const id = await b.queue({ skill: 'a' })
    b.e.same('queued on one, probed on the other', await other.probe(b.rt, [kindName]), [true])
    b.e.ids('claimed on the other', await b.claim(1, b.rules, other), [id])
    b.e.ids('so not claimed again on the first', await b.claim(1), [])
    await b.store.settle(b.rules, b.rt, id, completed({ ok: true }), 'keep')
    b.e.same('settled on one, read on the other', (await other.get(b.rules, b.rt, id))?.result, params({ ok: true }))
  })

  await check('replicas: a timeout stored by one is read by another whose clock lags', async b => {
    let behind = b.clock.t
    const lagging = await b.make(() => behind)
    const id = await b.queue({ skill: 'a' })
    b.clock.advance(durations.pendingTimeoutMs + 1)
    const timedOut = await b.store.get(b.rules, b.rt, id)
    b.e.same('timed out on the replica ahead', timedOut?.status, 'timeout')
    behind += 1
    b.e.same('the lagging replica reads the stored timeout', await lagging.get(b.rules, b.rt, id), timedOut)
    b.e.ids('and claims nothing', await b.claim(1, b.rules, lagging), [])
  })
}
