import type { CatalogAction, OpenedWork } from '../store/contract'
import type { WorkRules } from '../rules'
import { durations, kindName, windows, type Bench, type Check, type WorkStoreTarget } from './work-fixture'

// The runtime's cached result (the model list's catalog): what `open(...,
// { useCache: true })` answers and what an accepted `settle` does to it. The
// windows are the ones the suite gives `make` (work-fixture.ts).

const first = JSON.stringify({ models: ['first'] })
const second = JSON.stringify({ models: ['second'] })
const useCache = { useCache: true, coalesce: true }

/** Queues, claims and completes one request with `action`; answers when it landed. */
async function report (b: Bench, result: string, action: CatalogAction, rules: WorkRules = b.rules): Promise<number> {
  const id = await b.queue(undefined, {}, rules)
  await b.claim(10, rules)
  await b.store.settle(rules, b.rt, id, { status: 'completed', result }, action)
  return b.clock.t
}

/** What an open with the cache answered, in a shape a failure shows well. */
function answer (opened: OpenedWork): unknown {
  if ('cached' in opened) return { cached: opened.cached.result, storedAt: opened.cached.storedAt, queued: opened.queued }
  if ('record' in opened) return { record: opened.record.status, queued: opened.queued }
  return opened
}

export async function catalogChecks (check: Check, target: WorkStoreTarget): Promise<void> {
  if (target.cache === false) {
    await check('catalog: skipped, this store keeps no cached result', async b => { b.e.that('declared by the target', true) })
    return
  }

  await check('catalog: \'store\' stores what an accepted report carries; open with useCache answers it', async b => {
    b.e.same('nothing stored: a miss queues a request', answer(await b.open(undefined, useCache)), { record: 'pending', queued: true })
    await b.claim(1)
    b.clock.advance(1_000)
    const at = await report(b, first, 'store')
    b.clock.advance(5_000)
    b.e.same('a young catalog is answered as stored, with when, queueing nothing', answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: false })
    b.e.same('nothing was queued', await b.store.probe(b.rt, [kindName]), [false])
    b.e.same('useCache false never answers from it', answer(await b.open(undefined, { useCache: false })), { record: 'pending', queued: true })
    const elsewhere = b.runtime()
    const opened = await b.store.open(b.rules, elsewhere, { coalesce: false, exclusive: false, useCache: true })
    b.e.that('another runtime has no catalog', 'record' in opened, answer(opened))
  })

  await check('catalog: \'keep\' keeps it, \'drop\' drops it', async b => {
    const at = await report(b, first, 'store')
    b.clock.advance(1_000)
    await report(b, second, 'keep')
    b.e.same('\'keep\' leaves the stored catalog as it was', answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: false })
    const failed = await b.queue(undefined)
    await b.claim(1)
    await b.store.settle(b.rules, b.rt, failed, { status: 'failed', error: 'crashed' }, 'keep')
    b.e.same('a failure with \'keep\' leaves it too', answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: false })
    b.clock.advance(1_000)
    const renewed = await report(b, second, 'store')
    b.e.same('\'store\' replaces it', answer(await b.open(undefined, useCache)), { cached: second, storedAt: renewed, queued: false })
    await report(b, first, 'drop')
    b.e.same('\'drop\' drops it: a miss queues a request', answer(await b.open(undefined, useCache)), { record: 'pending', queued: true })
  })

  await check('catalog: only an accepted report touches it; a late one, stored or dropped, does not', async b => {
    const late = await b.queue(undefined)
    await b.claim(1)
    b.clock.advance(durations.runningTimeoutMs + 1)
    b.e.same('a report after the running timeout answers the timeout', (await b.store.settle(b.rules, b.rt, late, { status: 'completed', result: second }, 'store'))?.status, 'timeout')
    b.e.same('and stores no catalog', answer(await b.open(undefined, useCache)), { record: 'pending', queued: true })
    const at = await report(b, first, 'store')
    const done = await b.queue(undefined)
    await b.claim(1)
    await b.store.settle(b.rules, b.rt, done, { status: 'failed', error: 'x' }, 'keep')
    await b.store.settle(b.rules, b.rt, done, { status: 'completed', result: second }, 'store')
    b.e.same('a report after a failure does not store', answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: false })
    await b.store.settle(b.rules, b.rt, late, { status: 'completed', result: '' }, 'drop')
    b.e.same('a late report does not drop', answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: false })
  })

  await check('catalog: regression: an older report overwrote a newer catalog (newest discovery wins)', async b => {
    const settle = async (id: string, result: string, action: CatalogAction): Promise<unknown> =>
      (await b.store.settle(b.rules, b.rt, id, { status: 'completed', result }, action))?.status
    // Request A is claimed; a forced request B is claimed and reports; then A reports.
    const older = await b.queue(undefined)
    await b.claim(1)
    b.clock.advance(1_000)
    const newer = await b.queue(undefined)
    await b.claim(1)
    b.clock.advance(1_000)
    b.e.same('the newer request\'s report is accepted', await settle(newer, second, 'store'), 'completed')
    const at = b.clock.t
    b.clock.advance(1_000)
    b.e.same('the older request\'s report is accepted too (it was still running)', await settle(older, first, 'store'), 'completed')
    b.e.same('the cache keeps the newer request\'s catalog', answer(await b.open(undefined, useCache)), { cached: second, storedAt: at, queued: false })

    const olderDrop = await b.queue(undefined)
    await b.claim(1)
    const newerDrop = await b.queue(undefined)
    await b.claim(1)
    b.clock.advance(1_000)
    await settle(newerDrop, first, 'store')
    const renewed = b.clock.t
    await settle(olderDrop, '', 'drop')
    b.e.same('an older request\'s drop leaves a newer catalog', answer(await b.open(undefined, useCache)), { cached: first, storedAt: renewed, queued: false })

    const slow = await b.queue(undefined)
    await b.claim(1)
    const empty = await b.queue(undefined)
    await b.claim(1)
    await settle(empty, '', 'drop')
    await settle(slow, second, 'store')
    b.e.same('an older request cannot store what a newer one dropped: a miss', answer(await b.open(undefined, useCache)), { record: 'pending', queued: true })
    await b.claim(1)
    b.clock.advance(1_000)
    const latest = await report(b, second, 'store')
    b.e.same('a request newer than all of them stores again', answer(await b.open(undefined, useCache)), { cached: second, storedAt: latest, queued: false })
  })

  await check('catalog: answered while younger than serveWindowMs, a miss from then on', async b => {
    const at = await report(b, first, 'store')
    b.clock.advance(windows.serveWindowMs - 1)
    const young = await b.open(undefined, { useCache: true })
    b.e.same('1 ms before the window closes: answered (and, stale, a refresh queued)', answer(young), { cached: first, storedAt: at, queued: true })
    await b.claim(1)
    b.clock.advance(1)
    b.e.same(`at serveWindowMs (${windows.serveWindowMs}, the catalogCache given to make): a miss asks the daemon`, answer(await b.open(undefined, useCache)), { record: 'pending', queued: true })
  })

  await check('catalog: past revalidateAfterMs one refresh is queued, and none while one is pending or running', async b => {
    const at = await report(b, first, 'store')
    b.clock.advance(windows.revalidateAfterMs)
    b.e.same(`at revalidateAfterMs (${windows.revalidateAfterMs}, the catalogCache given to make): answered, no refresh`, answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: false })
    b.e.same('nothing queued', await b.store.probe(b.rt, [kindName]), [false])
    b.clock.advance(1)
    b.e.same('past it: answered, and one refresh queued', answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: true })
    b.e.same('the refresh is claimable', await b.store.probe(b.rt, [kindName]), [true])
    b.e.same('no second refresh while one is pending', answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: false })
    b.e.same('nor without coalescing', answer(await b.open(undefined, { useCache: true })), { cached: first, storedAt: at, queued: false })
    const refresh = await b.claim(5)
    b.e.that('exactly one refresh was queued', refresh.length === 1, refresh.map(record => record.id))
    b.e.same('no refresh while one is running', answer(await b.open(undefined, useCache)), { cached: first, storedAt: at, queued: false })
    b.clock.advance(2_000)
    await b.store.settle(b.rules, b.rt, refresh[0]?.id, { status: 'completed', result: second }, 'store')
    b.e.same('the refresh renews the catalog', answer(await b.open(undefined, useCache)), { cached: second, storedAt: b.clock.t, queued: false })
  })

  await check('catalog: a refresh whose claim timed out no longer holds up the next', async b => {
    await report(b, first, 'store')
    b.clock.advance(windows.revalidateAfterMs + 1)
    b.e.same('a refresh is queued', (await b.open(undefined, useCache) as { queued: boolean }).queued, true)
    await b.claim(1)
    b.clock.advance(durations.runningTimeoutMs + 1)
    b.e.same('its claim timed out: another refresh is queued', (await b.open(undefined, useCache) as { queued: boolean }).queued, true)
  })
}
