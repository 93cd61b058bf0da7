// Wake bursts (issue 15): thousands of polls held on one request wake with
// no store read (the settle's signal carries the record) or, for a record too
// large to carry, one; they are answered a slice at a time; time a poll
// spends waiting for the event loop is not charged to its store budget.
import { mock } from 'node:test'
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import fastifyModelList, { type WorkRecord, type WorkRules, type WorkStore } from '../lib/index'
import type { ModelListOnWorkStore } from '../lib/kinds/model-list-store'
import { MemoryWorkStore } from '../lib/store/memory'
import { HeldPolls } from '../lib/routes/held-polls'
import type { Face } from '../lib/kinds/face'
import { catalog, largeCatalog } from './helpers/contract'
import { carriedBytes } from '../lib/store/redis/keys'
import { hooks, hostApp, routes } from './helpers/apps'
import { eventually, listening } from './helpers/picker-contract'
import { pluginBackends, type PluginBackend } from './helpers/backends'

const turn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
const held = (rt: string, id: string, waitMs = 30_000): { method: 'GET', url: string } => ({ method: 'GET', url: `${routes.get(rt, id).url}?wait_ms=${waitMs}` })

/** The plugin's work store, its reads and watches counted. */
function counted (app: FastifyInstance): { gets: () => number, inFlight: () => number, watches: () => number, store: WorkStore } {
  const store = (app.modelListStore as ModelListOnWorkStore).workStore
  let gets = 0
  let inFlight = 0
  let watches = 0
  const get = store.get.bind(store)
  store.get = async (...args) => {
    gets++
    inFlight++
    try {
      return await get(...args)
    } finally {
      inFlight--
    }
  }
  const watch = (store.watchSettled as NonNullable<WorkStore['watchSettled']>).bind(store)
  store.watchSettled = async (...args) => {
    const stop = await watch(...args)
    watches++
    return stop
  }
  return { gets: () => gets, inFlight: () => inFlight, watches: () => watches, store }
}

/** `polls` polls held on one claimed request, all asleep: their answers, and the store's counters. */
async function holdMany (t: Test, app: FastifyInstance, rt: string, polls: number): Promise<{ id: string, answers: Array<Promise<LightMyRequestResponse>>, counts: ReturnType<typeof counted> }> {
  const counts = counted(app)
  const { id } = (await app.inject(routes.create(rt))).json<{ id: string }>()
  t.same(await app.claimPendingModelList(rt), { id })
  const answers = Array.from({ length: polls }, async () => await app.inject(held(rt, id)))
  await eventually('every poll watching', () => counts.watches() === polls, 60_000)
  // Each has read once (some share a read) and sleeps.
  await eventually('every first read answered', () => counts.inFlight() === 0, 60_000)
  for (let i = 0; i < polls / 16; i++) await turn()
  return { id, answers, counts }
}

const backends = pluginBackends('burst')

async function replica (t: Test, backend: PluginBackend): Promise<FastifyInstance | null> {
  const store = await backend.setup(t)
  if (store === null) return null
  // Reads are counted here, not bounded: a loaded machine's 5,000 arrivals must not answer 503.
  const app = await hostApp(async app => { await app.register(fastifyModelList, { ...hooks, prefix: '/api', storeTimeoutMs: 30_000, ...store.options }) })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  await listening(app.modelListStore)
  return app
}

for (const backend of backends) {
  t.test(`${backend.name}: regression: 5,000 polls on one request each read the store`, async t => {
    const app = await replica(t, backend)
    if (app === null) return
    // ioredis-mock answers every command on this process's event loop, slowly: 1,000 polls there.
    const polls = backend.name === 'ioredis-mock' ? 1_000 : 5_000
    const { id, answers, counts } = await holdMany(t, app, 'rt-1', polls)
    const before = counts.gets()
    t.equal((await app.inject(routes.report('rt-1', id, { status: 'completed', models: catalog, supported: true }))).statusCode, 200)
    const answered = await Promise.all(answers)
    const codes = answered.map(res => res.statusCode).filter(code => code !== 200)
    t.equal(answered.filter(res => res.statusCode === 200 && res.json().status === 'completed').length, polls, `every poll answered the report (others: ${codes.join(' ')})`)
    t.equal(counts.gets() - before, 0, `the report's signal carried what ${polls} polls answered: no store read`)
    t.same(answered[polls - 1].json().models, catalog, 'the catalog reported')
  })
}

// The memory store's signal carries every record; Redis's those of at most carriedBytes.
for (const backend of backends.slice(1)) {
  t.test(`${backend.name}: a catalog larger than a signal carries: one store read wakes 1,000 polls`, async t => {
    const app = await replica(t, backend)
    if (app === null) return
    t.ok(JSON.stringify(largeCatalog).length > carriedBytes, 'larger than a signal carries')
    const polls = 1_000
    const { id, answers, counts } = await holdMany(t, app, 'rt-1', polls)
    const before = counts.gets()
    t.equal((await app.inject(routes.report('rt-1', id, { status: 'completed', models: largeCatalog, supported: true }))).statusCode, 200)
    const answered = await Promise.all(answers)
    t.equal(answered.filter(res => res.statusCode === 200 && res.json().status === 'completed').length, polls, 'every poll answered the report')
    t.equal(counts.gets() - before, 1, `one store read woke ${polls} polls`)
    t.same(answered[polls - 1].json().models, largeCatalog, 'the catalog reported')
  })
}

t.test('the answers of a burst come a slice at a time, a turn of the event loop between slices', async t => {
  const app = await replica(t, backends[0])
  if (app === null) return
  const polls = 500
  const { id, answers } = await holdMany(t, app, 'rt-1', polls)
  let answered = 0
  for (const answer of answers) void answer.then(() => { answered++ })
  await app.inject(routes.report('rt-1', id, { status: 'failed', error: 'no daemon binary' }))
  t.ok(answered < polls, `when the report is answered, ${answered} of ${polls} polls are`)
  const perTurn: number[] = []
  while (answered < polls) {
    const before = answered
    await turn()
    perTurn.push(answered - before)
  }
  t.ok(perTurn.filter(n => n > 0).length >= 2, `answered over ${perTurn.filter(n => n > 0).length} turns of the event loop`)
  t.ok(Math.max(...perTurn) < polls / 2, `at most ${Math.max(...perTurn)} in one turn`)
  t.equal((await Promise.all(answers)).filter(res => res.json().status === 'failed').length, polls, 'each answered the report')
})

t.test('HeldPolls, with a store double', async t => {
  /** A face whose store answers `records()` at once, whose watches the test fires. */
  function double (records: () => WorkRecord | null): { face: Face, wake: (carried?: WorkRecord) => void, gets: () => number } {
    const wakes = new Set<(carried?: WorkRecord) => void>()
    let gets = 0
    const face = {
      kind: { key: 'pending_test' },
      engine: {
        watchSettled: async (_rt: string, _id: string, wake: (carried?: WorkRecord) => void) => {
          wakes.add(wake)
          return () => { wakes.delete(wake) }
        }
      },
      get: async () => { gets++; return records() },
      msUntilDeadline: () => 60_000
    } as unknown as Face
    return { face, wake: carried => { for (const wake of [...wakes]) wake(carried) }, gets: () => gets }
  }
  const log = { warn: () => {} } as unknown as Parameters<HeldPolls['hold']>[0]['log']
  const record = (status: WorkRecord['status']): WorkRecord => ({ id: 'r-1', status, createdAt: 0, updatedAt: 0, deadline: 60_000 } as unknown as WorkRecord)

  /**
   * Twenty polls held on one request of `store` with a slice of 4, all asleep,
   * then `wake()`: how many were answered in each turn after it, and what.
   */
  async function wakeTwenty (store: ReturnType<typeof double>, wake: () => void): Promise<{ perTurn: number[], found: Array<WorkRecord | null> }> {
    const polls = new HeldPolls(1_000, 4)
    let answered = 0
    const holds = Array.from({ length: 20 }, async () => {
      const found = await polls.hold({ face: store.face, runtimeId: 'rt', requestId: 'r-1', waitMs: 30_000, read: async (_ms, get) => await get(), log })
      answered++
      return found
    })
    for (let i = 0; i < 20; i++) await turn()
    if (answered !== 0) throw new Error(`${answered} of 20 polls answered before the wake-up`)
    wake()
    const perTurn: number[] = []
    while (answered < 20) {
      const was = answered
      await turn()
      perTurn.push(answered - was)
    }
    return { perTurn, found: await Promise.all(holds) }
  }

  t.test('at most a slice of polls goes on per turn of the event loop', async t => {
    let status: WorkRecord['status'] = 'pending'
    const store = double(() => record(status))
    let before = 0
    const { perTurn, found } = await wakeTwenty(store, () => {
      before = store.gets()
      status = 'completed'
      store.wake()
    })
    t.ok(perTurn.every(n => n <= 4), `never more than the slice (4) in one turn: ${perTurn.join(' ')}`)
    t.equal(store.gets() - before, 1, 'one read for the 20')
    for (const record of found) t.equal(record?.status, 'completed')
  })

  t.test('regression: the polls of a wake-up were answered only once all of them were woken', async t => {
    // Each poll back from its read waited behind every poll still to wake: with
    // 5,000 woken, what each held until its answer outlived the young generation.
    let status: WorkRecord['status'] = 'pending'
    const store = double(() => record(status))
    const { perTurn } = await wakeTwenty(store, () => {
      status = 'completed'
      store.wake()
    })
    // Before: 0 0 0 0 0 4 4 4 4 4 (all 20 woken, then answered).
    t.ok(perTurn.findIndex(n => n > 0) <= 1, `the first slice woken is answered in the turn after it (answers per turn: ${perTurn.join(' ')})`)
    t.ok(perTurn.every(n => n <= 4), 'never more than the slice in one turn')
  })

  t.test('regression: a wake-up carrying the record took two turns per slice (its turn, then one more)', async t => {
    // The wake-up is the poll's turn; with no read, nothing else is left to pace.
    const store = double(() => record('pending'))
    let before = 0
    const { perTurn, found } = await wakeTwenty(store, () => {
      before = store.gets()
      store.wake(record('completed'))
    })
    // Before: 0 4 0 4 0 4 0 4 0 4.
    t.same(perTurn, [4, 4, 4, 4, 4], `a slice answered per turn (answers per turn: ${perTurn.join(' ')})`)
    t.equal(store.gets(), before, 'no read')
    for (const record of found) t.equal(record?.status, 'completed')
  })

  t.test('polls of different requests do not wait for one another\'s slice', async t => {
    let status: WorkRecord['status'] = 'pending'
    const store = double(() => record(status))
    const polls = new HeldPolls(1_000, 1)
    const answered = { same: 0, different: 0 }
    const hold = async (requestId: string, counter: 'same' | 'different'): Promise<void> => {
      await polls.hold({ face: store.face, runtimeId: 'rt', requestId, waitMs: 30_000, read: async (_ms, get) => await get(), log })
      answered[counter]++
    }
    const holds = [
      ...['r-1', 'r-2', 'r-3'].map(async id => await hold(id, 'different')),
      ...[1, 2, 3].map(async () => await hold('r-4', 'same'))
    ]
    for (let i = 0; i < 10; i++) await turn()
    status = 'completed'
    store.wake()
    await turn()
    t.equal(answered.different, 3, 'three requests woken at once: all answered in the first turn')
    t.ok(answered.same <= 1, `three polls of one request, a slice of one: ${answered.same} answered in the first turn`)
    await Promise.all(holds)
    t.equal(answered.same, 3)
  })

  t.test('a read that began before the wake-up is not shared: the woken polls read again', async t => {
    let status: WorkRecord['status'] = 'pending'
    let release: (() => void) | undefined
    let slow = false
    const wakes = new Set<() => void>()
    let gets = 0
    const face = {
      kind: { key: 'pending_test' },
      engine: { watchSettled: async (_rt: string, _id: string, wake: () => void) => { wakes.add(wake); return () => { wakes.delete(wake) } } },
      // A read that, when slow, saw the state before the report and answers after it.
      get: async () => {
        gets++
        const seen = record(status)
        if (slow) await new Promise<void>(resolve => { release = resolve })
        return seen
      },
      msUntilDeadline: () => 60_000
    } as unknown as Face
    const polls = new HeldPolls(1_000)
    const hold = async (): Promise<WorkRecord | null> => await polls.hold({ face, runtimeId: 'rt', requestId: 'r-1', waitMs: 30_000, read: async (_ms, get) => await get(), log })
    const first = hold()
    for (let i = 0; i < 5; i++) await turn()
    // A second poll arrives: its first read is slow and saw 'pending'.
    slow = true
    const second = hold()
    for (let i = 0; i < 5; i++) await turn()
    slow = false
    t.equal(gets, 2)
    // The report lands, its signal wakes both; the old read answers only now.
    status = 'completed'
    for (const wake of [...wakes]) wake()
    release?.()
    t.equal((await first)?.status, 'completed', 'the first poll read after the signal')
    t.equal((await second)?.status, 'completed', 'the second too: woken while reading, it read again')
    t.equal(gets, 3, 'one read after the signal, shared')
  })
})

t.test('regression: a burst answered 503 with Redis healthy', async t => {
  t.beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1) }) })
  t.afterEach(() => { mock.timers.reset() })

  t.test('a store answer that waited for a busy event loop is not charged to the poll', async t => {
    // A store that answers each read 10 ms after it is asked; storeTimeoutMs 1 s.
    class TenMs extends MemoryWorkStore {
      async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
        const record = await super.get(rules, runtimeId, id)
        return await new Promise(resolve => setTimeout(() => resolve(record), 10))
      }
    }
    const store = new TenMs({ now: () => Date.now() })
    const app = await hostApp(async app => { await app.register(fastifyModelList, { ...hooks, prefix: '/api', store, storeTimeoutMs: 1_000 }) })
    t.teardown(async () => { await app.close(); await store.close() })
    const { id } = (await app.inject(routes.create('rt-1'))).json<{ id: string }>()
    let answered: LightMyRequestResponse | undefined
    void app.inject(held('rt-1', id, 5_000)).then(res => { answered = res })
    for (let i = 0; i < 5; i++) await turn()
    mock.timers.tick(10)
    for (let i = 0; i < 5; i++) await turn()
    // A wake-up with nothing reported (a subscriber back after a reconnect
    // wakes every poll): the poll reads again, and the event loop is then busy
    // for 1.5 s: the store's answer, there 10 ms after it was asked, waits.
    ;(store as unknown as { signals: { wakeAll: () => void } }).signals.wakeAll()
    for (let i = 0; i < 5; i++) await turn()
    mock.timers.tick(1_500)
    for (let i = 0; i < 5; i++) await turn()
    t.equal(answered, undefined, 'still pending: held again')
    // wait_ms runs out: a last read, which the store answers in 10 ms.
    mock.timers.tick(5_000 - 1_510)
    for (let i = 0; i < 5; i++) await turn()
    mock.timers.tick(10)
    for (let i = 0; i < 5; i++) await turn()
    t.equal(answered?.statusCode, 200, 'not 503: 30 ms of store time, not 1.5 s, spent of the poll\'s 1 s')
    t.equal(answered?.json().status, 'pending')
  })

  t.test('a poll waiting for its turn behind a burst is not charged for the wait', async t => {
    // A store whose answers are there at once; the loop is busy: each turn of
    // it (a slice of answers) moves the clock 300 ms. storeTimeoutMs is 1 s.
    const store = new MemoryWorkStore({ now: () => Date.now() })
    const app = await hostApp(async app => { await app.register(fastifyModelList, { ...hooks, prefix: '/api', store, storeTimeoutMs: 1_000 }) })
    t.teardown(async () => { await app.close(); await store.close() })
    const polls = 200
    const { id } = (await app.inject(routes.create('rt-1'))).json<{ id: string }>()
    const answers = Array.from({ length: polls }, async () => await app.inject(held('rt-1', id, 5_000)))
    for (let i = 0; i < 20; i++) await turn()
    // A wake-up with nothing reported: each reads 'pending' and sleeps again,
    // their turns spread over the busy loop's.
    let busy = true
    const busyLoop = (): void => { if (busy) { mock.timers.tick(300); setImmediate(busyLoop) } }
    ;(store as unknown as { signals: { wakeAll: () => void } }).signals.wakeAll()
    setImmediate(busyLoop)
    for (let i = 0; i < 40; i++) await turn()
    busy = false
    // wait_ms runs out: each reads once more, and answers what it reads.
    mock.timers.tick(5_000)
    const statuses = (await Promise.all(answers)).map(res => res.statusCode)
    t.equal(statuses.filter(code => code === 503).length, 0, 'no 503: the store answered every read at once')
    t.equal(statuses.filter(code => code === 200).length, polls)
  })
})

// Types the double above relies on stay the store's.
export type { WorkRules }
