import type { RecordChange, WorkRecord } from '../store/contract'
import { completed, durations, failed, kindName, params, start, type Bench, type Check } from './work-fixture'

// Reports, timeouts and copies: the transitions the rules allow, as a store
// applies and stores them.

export async function lifecycleChecks (check: Check): Promise<void> {
  await check('settle applies to a live request; a late report changes nothing and answers the terminal record', async b => {
    const id = await b.queue({ skill: 'a' })
    await b.claim(1)
    b.clock.advance(500)
    const done = await b.store.settle(b.rules, b.rt, id, completed({ imported: true }), 'keep')
    const wanted = b.record(id, { status: 'completed', updatedAt: b.clock.t, deadline: done?.deadline, params: params({ skill: 'a' }), result: params({ imported: true }) })
    b.e.same('an accepted report stores the result, stamped by the clock', done, wanted)
    b.clock.advance(500)
    b.e.same('a late failure answers the terminal record unchanged', await b.store.settle(b.rules, b.rt, id, failed('late'), 'keep'), wanted)
    b.e.same('a late completion answers it unchanged too', await b.store.settle(b.rules, b.rt, id, completed({ other: 1 }), 'keep'), wanted)
    b.e.same('and the store keeps the first outcome', await b.store.get(b.rules, b.rt, id), wanted)
  })

  await check('a pending request may be settled, and is then no longer claimable', async b => {
    const id = await b.queue({ skill: 'b' })
    const settled = await b.store.settle(b.rules, b.rt, id, failed('no such skill'), 'keep')
    b.e.same('settling a pending request stores it', { status: settled?.status, error: settled?.error }, { status: 'failed', error: 'no such skill' })
    b.e.same('no longer probed', await b.store.probe(b.rt, [kindName]), [false])
    b.e.ids('no longer claimed', await b.claim(1), [])
  })

  await check('settle answers null for an unknown id, another runtime\'s and another kind\'s', async b => {
    const id = await b.queue({ skill: 'a' })
    b.e.same('unknown id: null', await b.store.settle(b.rules, b.rt, 'no-such-request', completed({}), 'keep'), null)
    b.e.same('another runtime\'s: null', await b.store.settle(b.rules, b.runtime(), id, completed({}), 'keep'), null)
    b.e.same('another kind\'s: null', await b.store.settle(b.other, b.rt, id, completed({}), 'keep'), null)
    b.e.same('and the request is left pending', (await b.store.get(b.rules, b.rt, id))?.status, 'pending')
  })

  await check('racing reports end in one terminal state, never a mix', async b => {
    for (let round = 0; round < 5; round++) {
      const id = await b.queue({ round })
      await b.claim(1)
      // Each round sends its reports in another order: a completion or a failure first.
      const reports = [completed({ round }), failed('crashed'), completed({ round: -1 })]
      const answers = await Promise.all([...reports.slice(round % 3), ...reports.slice(0, round % 3)]
        .map(async report => await b.store.settle(b.rules, b.rt, id, report, 'keep')))
      const stored = await b.store.get(b.rules, b.rt, id)
      b.e.that('every racing caller sees the one stored outcome', answers.every(answer => answer !== null && sameOutcome(answer, stored)), { answers, stored })
      b.e.that('the stored outcome is one report, not a mix', stored?.status === 'completed' ? stored.error === undefined : stored?.result === undefined, stored)
    }
  })

  await check('a pending request past its deadline is never claimed nor probed, before any read', async b => {
    const id = await b.queue({ skill: 'a' })
    b.clock.advance(durations.pendingTimeoutMs)
    b.e.same('at exactly its deadline it is still claimable', await b.store.probe(b.rt, [kindName]), [true])
    b.clock.advance(1)
    b.e.same('past its deadline the probe answers false', await b.store.probe(b.rt, [kindName]), [false])
    b.e.ids('past its deadline a claim answers nothing', await b.claim(5), [])
    b.e.same('it reads as timed out with the kind\'s words, stored at the claim\'s time', await b.store.get(b.rules, b.rt, id),
      b.record(id, { status: 'timeout', updatedAt: b.clock.t, params: params({ skill: 'a' }), error: b.rules.pendingTimeoutError }))
  })

  await check('a timed-out head does not hide the requests behind it', async b => {
    const stale = await b.queue({ skill: 'a' })
    b.clock.advance(durations.pendingTimeoutMs - 10)
    const fresh = await b.queue({ skill: 'b' })
    b.clock.advance(11)
    b.e.same('the probe sees the live one', await b.store.probe(b.rt, [kindName]), [true])
    b.e.ids('a claim skips the timed-out head', await b.claim(5), [fresh])
    b.e.same('the head reads as timed out', (await b.store.get(b.rules, b.rt, stale))?.status, 'timeout')
  })

  await check('timeouts are applied when read, with the kind\'s words, and stored', async b => {
    const pending = await b.queue({ skill: 'a' })
    b.clock.advance(durations.pendingTimeoutMs)
    b.e.same('pending at exactly its deadline: still pending', (await b.store.get(b.rules, b.rt, pending))?.status, 'pending')
    b.clock.advance(1)
    const timedOut = b.record(pending, { status: 'timeout', updatedAt: b.clock.t, params: params({ skill: 'a' }), error: b.rules.pendingTimeoutError })
    b.e.same('pending past its deadline reads as timeout, with the pending words', await b.store.get(b.rules, b.rt, pending), timedOut)
    b.clock.advance(10_000)
    b.e.same('read later, the stored transition keeps its time', await b.store.get(b.rules, b.rt, pending), timedOut)
    b.e.same('a report after the timeout answers the timeout', await b.store.settle(b.rules, b.rt, pending, completed({}), 'keep'), timedOut)
  })

  await check('running longer than runningTimeoutMs since the claim becomes timeout', async b => {
    const id = await b.queue({ skill: 'b' })
    b.clock.advance(20_000)
    const [claim] = await b.claim(1)
    b.clock.advance(durations.runningTimeoutMs)
    b.e.same('measured from the claim, not the creation', (await b.store.get(b.rules, b.rt, id))?.status, 'running')
    b.clock.advance(1)
    const wanted = b.record(id, { status: 'timeout', updatedAt: b.clock.t, deadline: claim?.deadline, params: params({ skill: 'b' }), error: b.rules.runningTimeoutError })
    b.e.same('running past its deadline reads as timeout, with the running words', await b.store.get(b.rules, b.rt, id), wanted)
    b.e.same('a late report answers the timeout', await b.store.settle(b.rules, b.rt, id, completed({}), 'keep'), wanted)
  })

  await check('callers get copies: changing an answered record changes nothing stored', async b => {
    const opened = await b.open({ skill: 'a' })
    const id = 'record' in opened ? opened.record.id : ''
    const wanted = b.record(id, { params: params({ skill: 'a' }) })
    if ('record' in opened) vandalize(opened.record)
    const read = await b.store.get(b.rules, b.rt, id)
    b.e.same('changing what open answered changes nothing', read, wanted)
    if (read !== null) vandalize(read)
    b.e.same('changing what get answered changes nothing', await b.store.get(b.rules, b.rt, id), wanted)
    const [claim] = await b.claim(1)
    const running = await b.store.get(b.rules, b.rt, id)
    if (claim !== undefined) vandalize(claim)
    b.e.same('changing what claim answered changes nothing', await b.store.get(b.rules, b.rt, id), running)
    const done = await b.store.settle(b.rules, b.rt, id, completed({ ok: true }), 'keep')
    const stored = await b.store.get(b.rules, b.rt, id)
    if (done !== null) vandalize(done)
    b.e.same('changing what settle answered changes nothing', await b.store.get(b.rules, b.rt, id), stored)
    b.e.same('the store started at t0', stored?.createdAt, start)
  })

  await check('what a call changed, when the store tells it (the diagnostics read it), is what the call did', async b => {
    const id = await b.queue({ skill: 'a' })
    b.clock.advance(100)
    const [claim] = await b.claim(1)
    b.clock.advance(200)
    told(b, 'a report that landed: settled, with when it was claimed', await b.store.settle(b.rules, b.rt, id, completed({ imported: true }), 'keep'), { settled: true, claimedAt: claim?.updatedAt })
    told(b, 'a late report: not settled', await b.store.settle(b.rules, b.rt, id, failed('late'), 'keep'), { settled: false })
    const early = await b.queue({ skill: 'b' })
    told(b, 'a report before any claim: settled, never claimed', await b.store.settle(b.rules, b.rt, early, failed('cancelled'), 'keep'), { settled: true })
    const never = await b.queue({ skill: 'c' })
    b.clock.advance(durations.pendingTimeoutMs + 1)
    told(b, 'the read that applies a pending timeout tells it', await b.store.get(b.rules, b.rt, never), { timedOut: 'pending' })
    const next = { ...(await b.store.get(b.rules, b.rt, never)) }
    b.e.same('the next read applies nothing', { status: next.status, timedOut: { ...next.change }.timedOut }, { status: 'timeout', timedOut: undefined })
    const lost = await b.queue({ skill: 'd' })
    await b.claim(1)
    b.clock.advance(durations.runningTimeoutMs + 1)
    told(b, 'a report that applies a running timeout tells it, and lands nowhere', await b.store.settle(b.rules, b.rt, lost, completed({}), 'keep'), { timedOut: 'running', settled: false })
  })
}

/** A record's `change` is `wanted`, when the store tells what its calls change (optional: one that does not passes). */
function told (b: Bench, rule: string, found: WorkRecord | null, wanted: RecordChange): void {
  if (found?.change !== undefined) b.e.same(rule, found.change, wanted)
}

// Both answers are the one outcome (the deadline aside, which a settle may not touch).
function sameOutcome (a: WorkRecord | null, b: WorkRecord | null): boolean {
  return a !== null && b !== null && a.status === b.status && a.result === b.result && a.error === b.error && a.updatedAt === b.updatedAt
}

function vandalize (record: WorkRecord): void {
  record.status = 'failed'
  record.params = 'changed'
  record.result = 'changed'
  record.createdAt = 0
  record.deadline = 0
}
