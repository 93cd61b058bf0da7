import { mock } from 'node:test'
import t, { type Test } from 'tap'
import { MemoryModelListStore } from '../lib/store/memory'
import { Clock } from './helpers/clock'

// What the memory store promises beyond the shared contract: costs that do not
// grow with what other runtimes store, and memory returned without new traffic.

interface Internals {
  byKind: Map<string, { records: Map<string, unknown> }>
  lanes: { queues: Map<string, Map<string, { size: number }>> }
  sweeper: { sweepingOn?: NodeJS.Immediate }
  creationOrder: Map<unknown, number>
}

// The model list's records, the runtimes' queues (keyed by lane) and the sweep under way.
function internals (store: MemoryModelListStore): { records: Map<string, unknown>, queues: Map<string, { size: number }>, sweepingOn?: NodeJS.Immediate } {
  const work = store.workStore as unknown as Internals
  return {
    get records () { return work.byKind.get('model_list')?.records ?? new Map<string, unknown>() },
    // Every lane's queue, keyed '<runtimeId> <kind>'.
    get queues () { return new Map([...work.lanes.queues].flatMap(([kind, byRuntime]) => [...byRuntime].map(([rt, queue]) => [`${rt} ${kind}`, queue] as const))) },
    get sweepingOn () { return work.sweeper.sweepingOn }
  }
}

/** The key of a runtime's model list queue. */
function lane (runtimeId: string): string {
  return `${runtimeId} model_list`
}

// Counts the record look-ups a call makes, the unit of its cost.
function countLookups (store: MemoryModelListStore): { readonly count: number } {
  const { records } = internals(store)
  const counter = { count: 0 }
  const get = records.get.bind(records)
  records.get = (key: string) => {
    counter.count++
    return get(key)
  }
  return counter
}

t.test('hasPending and popPending look at one runtime only, whatever the others hold', async t => {
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  for (let i = 0; i < 5_000; i++) await store.create(`other-${i % 500}`)
  await store.create('mine')
  const lookups = countLookups(store)
  t.equal(await store.hasPending('idle'), false)
  t.equal(lookups.count, 0, 'a runtime with no queue costs no look-up')
  t.equal(await store.hasPending('mine'), true)
  t.ok(await store.popPending('mine'))
  t.equal(await store.hasPending('mine'), false)
  t.ok(lookups.count <= 2, `2 look-ups at most for 5,001 stored requests (made ${lookups.count})`)
})

t.test('forgetting visits what is due, not all that is stored', async t => {
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  for (let i = 0; i < 10; i++) await store.create(`old-${i}`)
  clock.advance(60_000)
  for (let i = 0; i < 5_000; i++) await store.create(`new-${i}`)
  clock.advance(60_000)
  const { records } = internals(store)
  let visited = 0
  const values = records.values.bind(records)
  records.values = () => {
    const iterator = values()
    return {
      [Symbol.iterator] () { return this },
      next () {
        const step = iterator.next()
        if (step.done !== true) visited++
        return step
      }
    } as ReturnType<typeof values>
  }
  await store.create('trigger')
  t.equal(records.size, 5_001, 'the 10 due records are gone')
  t.equal(visited, 11, 'the sweep stopped at the first record not due')
  t.equal(internals(store).queues.has(lane('old-0')), false, 'their queues are gone too')
})

t.test('memory is returned on a timer, without new requests', async t => {
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => mock.timers.reset())
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now, pendingTimeoutMs: 1_000, runningTimeoutMs: 1_000, retentionMs: 5_000 })
  t.teardown(() => store.close())
  const request = await store.create('rt')
  await store.create('rt2')
  await store.popPending('rt2')
  clock.advance(5_000)
  const { records } = internals(store)
  t.equal(records.size, 2, 'nothing is forgotten before the timer fires')
  mock.timers.tick(5_000)
  t.equal(records.size, 0)
  t.equal(internals(store).queues.size, 0)
  t.equal(await store.get('rt', request.id), null)
})

t.test('regression: each record\'s creation order outlived it (a WeakMap kept its table at its peak size: 4 MB after 100,000 requests)', async t => {
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => mock.timers.reset())
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now, pendingTimeoutMs: 1_000, runningTimeoutMs: 1_000, retentionMs: 5_000 })
  t.teardown(() => store.close())
  const order = (store.workStore as unknown as Internals).creationOrder
  const read = await store.create('rt')
  await store.create('rt')
  const completed = await store.create('rt2')
  await store.popPending('rt2')
  await store.complete('rt2', completed.id, { models: [{ id: 'm', label: 'M' }], supported: true })
  t.equal(order.size, 3, 'one entry per stored request')
  clock.advance(5_000)
  t.equal(await store.get('rt', read.id), null, 'forgotten by a read')
  t.equal(order.size, 2, 'its creation order with it')
  mock.timers.tick(5_000)
  t.same([internals(store).records.size, order.size], [0, 0], 'and the sweep forgets the rest, with theirs')
})

t.test('the sweep runs at least every 10 seconds, and close() stops it', async t => {
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => mock.timers.reset())
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now, retentionMs: 3_600_000, pendingTimeoutMs: 1_000, runningTimeoutMs: 1_000 })
  await store.create('rt')
  clock.advance(3_600_000)
  mock.timers.tick(10_000)
  t.equal(internals(store).records.size, 0)
  await store.create('rt')
  await store.close()
  clock.advance(3_600_000)
  mock.timers.tick(10_000)
  t.equal(internals(store).records.size, 1, 'a closed store no longer sweeps')
})

t.test('a timeout renews retention: records leave in order of their last change', async t => {
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  const first = await store.create('rt')
  clock.advance(10)
  const second = await store.create('rt')
  clock.advance(100_000)
  t.equal((await store.get('rt', first.id))?.status, 'timeout')
  clock.advance(20_000)
  await store.create('other')
  t.equal(await store.get('rt', second.id), null, 'unchanged since creation: forgotten')
  t.equal((await store.get('rt', first.id))?.status, 'timeout', 'changed by its timeout: kept')
})

// Counts the array slots that shift, slice and splice move on large arrays
// (the store's queues), the unit of what a claim or a trim copies.
function countCopies (t: Test): { readonly moved: number } {
  const counter = { moved: 0 }
  const { shift, slice, splice } = Array.prototype
  Array.prototype.shift = function (this: unknown[]) {
    if (this.length >= 1_000) counter.moved += this.length - 1
    return shift.call(this)
  }
  Array.prototype.slice = function (this: unknown[], start?: number, end?: number) {
    const copy = slice.call(this, start, end)
    if (this.length >= 1_000) counter.moved += copy.length
    return copy
  }
  Array.prototype.splice = function (this: unknown[], ...args: [number, number, ...unknown[]]) {
    if (this.length >= 1_000) counter.moved += this.length
    return splice.apply(this, args)
  } as typeof splice
  t.teardown(() => Object.assign(Array.prototype, { shift, slice, splice }))
  return counter
}

t.test('regression: the memory queue copied itself on every claim and trim', async t => {
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  const queued = 20_000
  for (let i = 0; i < queued; i++) await store.create('rt')
  const copies = countCopies(t)
  let claimed = 0
  for (let i = 0; i < queued / 2; i++) if (await store.popPending('rt') !== null) claimed++
  t.equal(claimed, queued / 2)
  clock.advance(30_001)
  t.equal(await store.hasPending('rt'), false, 'the other half timed out')
  t.equal(internals(store).queues.has(lane('rt')), false, 'and left the queue')
  t.ok(copies.moved <= queued, `${queued} entries claimed or trimmed moved ${copies.moved} slots (at most one each)`)
})

t.test('regression: 50,000 timed-out requests made the next probe and an unrelated POST block the event loop', async t => {
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => mock.timers.reset())
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  const queued = 50_000
  for (let i = 0; i < queued; i++) await store.create('crowded')
  await store.create('other')
  clock.advance(30_001)
  const lookups = countLookups(store)
  t.equal(await store.hasPending('crowded'), false)
  t.equal(lookups.count, 0, 'the probe drops the timed-out entries without reading their records')

  // Never heartbeating again, they are forgotten by sweeps that each do a bounded slice.
  clock.advance(90_000)
  const { records } = internals(store)
  await store.create('unrelated')
  t.equal(records.size, queued + 2 - 1_000, 'a POST forgets 1,000 records at most')
  mock.timers.tick(10_000)
  t.equal(records.size, queued + 2 - 2_000, 'so does each turn of the timer sweep')
  let turns = 0
  while (records.size > 1 && turns < 100) {
    await new Promise(resolve => setImmediate(resolve))
    turns++
  }
  t.equal(records.size, 1, 'the timer sweep goes on, turn by turn, until nothing is due')
  t.ok(turns >= 48, `over ${turns} turns of the event loop`)
  t.equal(internals(store).queues.size, 1, 'only the unrelated runtime keeps a queue')
})

t.test('regression: an idle server forgot two slices of records per sweep interval, not all that were due', async t => {
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => mock.timers.reset())
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  for (let i = 0; i < 3_500; i++) await store.create(`rt-${i % 7}`)
  clock.advance(120_000)
  mock.timers.tick(10_000)
  // Node runs an unref'd immediate only while a ref'd one is queued: on an idle
  // server (nothing but timers and sockets) the sweep stopped after two slices.
  // The next slice must keep the event loop turning until nothing is due.
  t.equal(internals(store).sweepingOn?.hasRef(), true, 'the next slice is queued, and ref\'d')
  while (internals(store).sweepingOn !== undefined) await new Promise(resolve => setImmediate(resolve))
  t.equal(internals(store).records.size, 0, 'and the sweep goes on until everything due is forgotten')
})

t.test('a sweep under way stops when the store closes, and an interval that fires meanwhile does not start a second one', async t => {
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => mock.timers.reset())
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  for (let i = 0; i < 3_500; i++) await store.create(`rt-${i % 7}`)
  clock.advance(120_000)
  const { records } = internals(store)
  mock.timers.tick(10_000)
  mock.timers.tick(10_000)
  t.equal(records.size, 1_500, 'each interval forgets its slice')
  await new Promise(resolve => setImmediate(resolve))
  t.equal(records.size, 500, 'one sweep went on at the next turn, not two')
  await store.close()
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(records.size, 500, 'a closed store sweeps no more')
})

t.test('regression: a record forgotten by a read left its id in its runtime\'s queue', async t => {
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  const read = await store.create('read-late')
  const reported = await store.create('reported-late')
  clock.advance(120_000)
  t.equal(await store.get('read-late', read.id), null)
  t.equal(await store.fail('reported-late', reported.id, 'late'), null)
  t.same([...internals(store).queues.keys()], [], 'no queue is left behind for the sweep to miss')
  t.equal(internals(store).records.size, 0)
})

t.test('a clock that steps back keeps claims oldest first and drops the entry it shortened', async t => {
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  const first = await store.create('rt')
  clock.advance(-10_000)
  const second = await store.create('rt')
  clock.advance(35_000)
  t.equal((await store.popPending('rt'))?.id, first.id, 'the older request first, still claimable')
  t.equal(await store.hasPending('rt'), false, 'the second one, filed under a later deadline, is read and found timed out')
  t.equal((await store.get('rt', second.id))?.status, 'timeout')
})

t.test('a claim handed back after the clock stepped back goes behind what was queued since', async t => {
  const clock = new Clock()
  const store = new MemoryModelListStore({ now: clock.now })
  t.teardown(() => store.close())
  const first = await store.create('rt')
  const claim = await store.popPending('rt')
  clock.advance(-10_000)
  const second = await store.create('rt')
  t.equal(await store.handBack('rt', claim!), true)
  t.equal((await store.popPending('rt'))?.id, second.id, 'its deadline is later than the newer one\'s')
  t.equal((await store.popPending('rt'))?.id, first.id, 'but it is claimable again')
  clock.advance(30_001)
  t.equal(await store.hasPending('rt'), false)
})

t.test('constructor options are checked, naming the option', async t => {
  t.throws(() => new MemoryModelListStore({ pendingTimeoutMs: 0 }), /pendingTimeoutMs must be a positive integer/)
  t.throws(() => new MemoryModelListStore({ runningTimeoutMs: 1.5 }), /runningTimeoutMs/)
  t.throws(() => new MemoryModelListStore({ retentionMs: 2 ** 31 }), /retentionMs/)
  t.throws(() => new MemoryModelListStore({ retentionMs: 60_000 }), /retentionMs \(60000\) must be greater than/)
  t.throws(() => new MemoryModelListStore({ now: 5 as unknown as () => number }), /now must be a function/)
})
