import { setTimeout as sleep } from 'node:timers/promises'
import type { ModelListRequest } from '../schemas'
import type { ContractTest } from './expect'
import { defaults, iso, models, type ListBench, type ListCheck, type ModelListStoreTarget } from './model-list-fixture'

// Reports, copies, id checks, hand-back, forgetting and replicas.

const expiry = { pendingTimeoutMs: 100, runningTimeoutMs: 100, retentionMs: 400 }
const margin = 150

export async function reportChecks (check: ListCheck, t: ContractTest, target: ModelListStoreTarget): Promise<void> {
  await check('complete stores the models as reported; supported: false too', async b => {
    const created = await b.create()
    await b.pop()
    b.clock.advance(2_000)
    const wanted = b.request(created, { status: 'completed', models, updated_at: iso(b.clock.t) })
    b.e.same('complete answers the completed request, models as reported', await b.store.complete(b.rt, created.id, { models, supported: true }), wanted)
    b.e.same('and stores it so (the default flag included)', await b.store.get(b.rt, created.id), wanted)
    const unsupported = await b.create()
    await b.pop()
    const done = await b.store.complete(b.rt, unsupported.id, { models: [], supported: false })
    b.e.same('supported: false is stored', { status: done?.status, supported: done?.supported, models: done?.models }, { status: 'completed', supported: false, models: [] })
  })

  await check('fail stores the error and keeps supported; a pending request may be reported too', async b => {
    const created = await b.create()
    await b.pop()
    const failed = await b.store.fail(b.rt, created.id, 'claude: command not found')
    b.e.same('fail answers the failed request', failed, b.request(created, { status: 'failed', error: 'claude: command not found', updated_at: iso(b.clock.t) }))
    const pending = await b.create()
    b.e.same('a pending request may fail', (await b.store.fail(b.rt, pending.id, 'runtime has no models'))?.status, 'failed')
    b.e.same('and is then not pending', await b.store.hasPending(b.rt), false)
    b.e.same('nor claimed', await b.store.popPending(b.rt), null)
  })

  await check('a late report leaves, and answers, the earlier terminal state', async b => {
    const created = await b.create()
    await b.pop()
    const completed = await b.store.complete(b.rt, created.id, { models, supported: true })
    b.clock.advance(1_000)
    b.e.same('a late fail answers the completed request unchanged', await b.store.fail(b.rt, created.id, 'late'), completed)
    b.e.same('a late complete answers it unchanged', await b.store.complete(b.rt, created.id, { models: [], supported: false }), completed)
    b.e.same('and the store keeps it', await b.store.get(b.rt, created.id), completed)
    const other = await b.create()
    await b.pop()
    b.clock.advance(defaults.runningTimeoutMs + 1)
    const late = await b.store.complete(b.rt, other.id, { models, supported: true })
    b.e.same('a report after the running timeout answers the timeout, without models', { status: late?.status, error: late?.error, models: late?.models },
      { status: 'timeout', error: 'daemon did not finish within 60 seconds', models: undefined })
  })

  await check('complete and fail answer null for an unknown request or another runtime\'s', async b => {
    const created = await b.create()
    b.e.same('complete, unknown id: null', await b.store.complete(b.rt, 'no-such-request', { models: [], supported: true }), null)
    b.e.same('fail, another runtime: null', await b.store.fail(b.runtime(), created.id, 'x'), null)
    b.e.same('complete, another runtime: null', await b.store.complete(b.runtime(), created.id, { models: [], supported: true }), null)
    b.e.same('and the request is left pending', (await b.store.get(b.rt, created.id))?.status, 'pending')
  })

  await check('racing reports end in one terminal state, never a mix', async b => {
    const created = await b.create()
    await b.pop()
    const [completed, failed] = await Promise.all([
      b.store.complete(b.rt, created.id, { models, supported: true }),
      b.store.fail(b.rt, created.id, 'crashed')
    ])
    const stored = await b.store.get(b.rt, created.id)
    b.e.that('both callers see the one stored outcome', JSON.stringify(completed) === JSON.stringify(stored) && JSON.stringify(failed) === JSON.stringify(stored), { completed, failed, stored })
    b.e.that('the outcome is one report, not a mix', stored?.status === 'completed' ? stored.error === undefined : stored?.models === undefined, stored)
  })

  await check('callers get copies: nothing they hold, or reported, changes the store', async b => {
    const created = await b.create()
    created.status = 'completed'
    b.e.same('changing what create answered changes nothing', (await b.store.get(b.rt, created.id))?.status, 'pending')
    await b.pop()
    const reported = structuredClone(models)
    const completed = await b.store.complete(b.rt, created.id, { models: reported, supported: true })
    reported[0].label = 'changed after the report'
    completed?.models?.push({ id: 'injected', label: 'x' })
    const read = await b.store.get(b.rt, created.id)
    b.e.same('the reported models are copied in, and answered as copies', read?.models, models)
    if (read?.models !== undefined) read.models[0].label = 'changed'
    b.e.same('changing what get answered changes nothing', (await b.store.get(b.rt, created.id))?.models, models)
  })

  await check('every method rejects a malformed id before using its backend', async b => {
    const created = await b.create()
    const bad: unknown[] = ['', 'has space', '{tag}', 'a'.repeat(101), 'ünï', 'a/b', 42, undefined]
    for (const value of bad) {
      const id = value as string
      const shown = b.labels.show(value)
      await b.e.rejects(`create rejects runtime id ${shown}`, async () => await b.store.create(id))
      await b.e.rejects(`get rejects runtime id ${shown}`, async () => await b.store.get(id, created.id))
      await b.e.rejects(`get rejects request id ${shown}`, async () => await b.store.get(b.rt, id))
      await b.e.rejects(`hasPending rejects runtime id ${shown}`, async () => await b.store.hasPending(id))
      await b.e.rejects(`popPending rejects runtime id ${shown}`, async () => await b.store.popPending(id))
      await b.e.rejects(`complete rejects runtime id ${shown}`, async () => await b.store.complete(id, created.id, { models: [], supported: true }))
      await b.e.rejects(`complete rejects request id ${shown}`, async () => await b.store.complete(b.rt, id, { models: [], supported: true }))
      await b.e.rejects(`fail rejects runtime id ${shown}`, async () => await b.store.fail(id, created.id, 'x'))
      await b.e.rejects(`fail rejects request id ${shown}`, async () => await b.store.fail(b.rt, id, 'x'))
      if (b.store.handBack !== undefined) await b.e.rejects(`handBack rejects runtime id ${shown}`, async () => await b.store.handBack?.(id, created))
    }
    b.e.same('and the request is untouched', (await b.store.get(b.rt, created.id))?.status, 'pending')
  })

  await handBackChecks(check)
  if ((target.forgets ?? 'clock') === 'clock') await forgetsByClock(check)
  else await forgetsByExpiry(check)
  if (target.shared === true) await replicaChecks(check)
  else t.ok(true, 'replicas: skipped, this target does not share one store between `make` calls')
}

async function handBackChecks (check: ListCheck): Promise<void> {
  const handBack = (b: ListBench): ((rt: string, claim: ModelListRequest) => Promise<boolean>) | undefined => b.store.handBack?.bind(b.store)

  await check('handBack (optional): a claim goes back in its place, with the deadline it had', async b => {
    const back = handBack(b)
    if (back === undefined) return void b.e.that('this store does not hand back: such a claim ends as timeout', true)
    const first = await b.create()
    b.clock.advance(1)
    const second = await b.create()
    b.clock.advance(10_000)
    const claim = await b.pop() as ModelListRequest
    b.clock.advance(2_000)
    b.e.same('handed back while still that claim: true', await back(b.rt, claim), true)
    b.e.same('pending again, changed now', await b.store.get(b.rt, first.id), b.request(first, { updated_at: iso(b.clock.t) }))
    b.e.same('a POST joins it', (await b.create({ coalesce: true })).id, first.id)
    b.e.ids('claimed first again: it keeps its old place', [await b.pop(), await b.pop()], [first.id, second.id])
  })

  await check('handBack (optional): nothing changes unless the request is still that claim', async b => {
    const back = handBack(b)
    if (back === undefined) return void b.e.that('this store does not hand back', true)
    const reported = await b.create()
    const reportedClaim = await b.pop() as ModelListRequest
    const completed = await b.store.complete(b.rt, reported.id, { models, supported: true })
    b.e.same('reported meanwhile: false', await back(b.rt, reportedClaim), false)
    b.e.same('and left as reported', await b.store.get(b.rt, reported.id), completed)
    const reclaimed = await b.create()
    const firstClaim = await b.pop() as ModelListRequest
    b.clock.advance(1)
    await back(b.rt, firstClaim)
    b.clock.advance(1)
    const secondClaim = await b.pop() as ModelListRequest
    b.e.same('claimed anew since: false', await back(b.rt, firstClaim), false)
    b.e.same('and the new claim stands', await b.store.get(b.rt, reclaimed.id), secondClaim)
    b.e.same('another runtime\'s: false', await back(b.runtime(), secondClaim), false)
    b.clock.advance(defaults.runningTimeoutMs + 1)
    b.e.same('past its running timeout: false', await back(b.rt, secondClaim), false)
    b.e.same('and it times out as running', (await b.store.get(b.rt, reclaimed.id))?.error, 'daemon did not finish within 60 seconds')
  })

  await check('handBack (optional): after its pending deadline it times out as never claimed', async b => {
    const back = handBack(b)
    if (back === undefined) return void b.e.that('this store does not hand back', true)
    const created = await b.create()
    b.clock.advance(defaults.pendingTimeoutMs - 1_000)
    const claim = await b.pop() as ModelListRequest
    b.clock.advance(1_001)
    await back(b.rt, claim)
    b.e.same('not pending', await b.store.hasPending(b.rt), false)
    b.e.same('not claimed', await b.store.popPending(b.rt), null)
    const read = await b.store.get(b.rt, created.id)
    b.e.same('a timeout with the pending words', { status: read?.status, error: read?.error }, { status: 'timeout', error: 'daemon did not respond within 30 seconds' })
  })
}

async function forgetsByClock (check: ListCheck): Promise<void> {
  await check('a record is forgotten retentionMs after its last change; a forgotten pending one is not claimable', async b => {
    const created = await b.create()
    b.clock.advance(25_000)
    await b.pop()
    b.clock.advance(defaults.retentionMs - 1)
    b.e.same('the timeout is a change too: kept', (await b.store.get(b.rt, created.id))?.status, 'timeout')
    b.clock.advance(defaults.retentionMs)
    b.e.same('forgotten: get answers null', await b.store.get(b.rt, created.id), null)
    b.e.same('forgotten: complete answers null', await b.store.complete(b.rt, created.id, { models: [], supported: true }), null)
    await b.create()
    b.clock.advance(defaults.retentionMs)
    b.e.same('a forgotten pending request: hasPending false', await b.store.hasPending(b.rt), false)
    b.e.same('a forgotten pending request: popPending null', await b.store.popPending(b.rt), null)
  })
}

async function forgetsByExpiry (check: ListCheck): Promise<void> {
  await check('a record is forgotten retentionMs after its last change (by key expiry, real time)', async b => {
    const created = await b.create()
    await sleep(expiry.retentionMs - margin)
    await b.pop()
    await sleep(2 * margin)
    b.e.same('kept until retentionMs after its last change (the claim)', (await b.store.get(b.rt, created.id))?.status, 'running')
    await sleep(expiry.retentionMs)
    b.e.same('forgotten: get answers null', await b.store.get(b.rt, created.id), null)
    await b.create()
    await sleep(expiry.retentionMs + margin)
    b.e.same('a forgotten pending request: hasPending false', await b.store.hasPending(b.rt), false)
    b.e.same('a forgotten pending request: popPending null', await b.store.popPending(b.rt), null)
  }, expiry)
}

async function replicaChecks (check: ListCheck): Promise<void> {
  await check('replicas share one lifecycle', async b => {
    const other = await b.make()
    const created = await b.create()
    b.e.same('created on one, pending on the other', await other.hasPending(b.rt), true)
    b.e.ids('claimed on the other', [await b.pop(other)], [created.id])
    b.e.same('not again on the first', await b.store.popPending(b.rt), null)
    await b.store.complete(b.rt, created.id, { models, supported: true })
    b.e.same('reported on one, read on the other', (await other.get(b.rt, created.id))?.models, models)
  })

  await check('replicas: a timeout stored by one is read by another whose clock lags', async b => {
    const behind = b.clock.t
    const lagging = await b.make({ now: () => behind })
    const created = await b.create()
    b.clock.advance(defaults.pendingTimeoutMs + 1)
    const timedOut = await b.store.get(b.rt, created.id)
    b.e.same('a replica ahead reads timeout', timedOut?.status, 'timeout')
    b.e.same('the lagging one reads the stored timeout', await lagging.get(b.rt, created.id), timedOut)
    b.e.same('and claims nothing', await lagging.popPending(b.rt), null)
  })
}
