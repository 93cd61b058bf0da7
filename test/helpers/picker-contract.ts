import { ModelListObjectStore } from '../../lib/kinds/model-list-object'
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { ModelListRequest } from '../../lib/schemas'
import { ModelListOnWorkStore, type ModelListStore } from '../../lib/kinds/model-list-store'
import { modelListKind } from '../../lib/kinds/model-list'
import { Face } from '../../lib/kinds/face'
import { WrittenAnswer } from '../../lib/kinds/kind'
import { Engine } from '../../lib/store/features'
import type { Backend, StoreOptions } from './backends'
import { Clock } from './clock'
import { catalog } from './contract'
import { ready } from './redis'

// The optional features the built-in stores add (catalog cache, held-poll
// wake-ups, wake-up hints), written once and run unchanged on every backend,
// reached as the plugin reaches them: the engine over the store's work store,
// and the model list's face of it.

const other = [{ id: 'other-model', label: 'Other model' }]
const day = 86_400_000

/** A POST's answer: a new or joined request, or a cache answer; and whether work was queued. */
export interface Opened {
  request: ModelListRequest
  queued: boolean
}

/** A built-in store as the plugin drives it: its engine, and the model list's face over it. */
export interface Picker {
  engine: Engine
  face: Face<ModelListRequest>
  /** A POST's open: may join, and may answer from the catalog. */
  open: (runtimeId: string, options: { coalesce: boolean, useCache: boolean }) => Promise<Opened>
  /** How long the stored request has before its own deadline, by the store's clock. */
  msUntilDeadline: (request: ModelListRequest) => Promise<number>
}

/** The built-in store's work store: what the plugin runs for it. */
function builtIn (store: ModelListStore): ModelListOnWorkStore {
  if (!(store instanceof ModelListOnWorkStore)) throw new Error('a built-in store runs a work store of its own')
  return store
}

/** A built-in store (`app.modelListStore` too) as the plugin drives it. */
export function pickerOf (store: ModelListStore): Picker {
  const { workStore, rules } = builtIn(store)
  const engine = new Engine(workStore)
  const face = new Face(modelListKind(rules, { coalesce: true, useCache: true }), engine)
  return {
    engine,
    face,
    open: async (runtimeId, { coalesce, useCache }) => {
      const { answer, queued } = await face.open(runtimeId, { coalesce, exclusive: false, useCache })
      // A cache answer already written is read back as a client would.
      return { request: answer instanceof WrittenAnswer ? JSON.parse(answer.bytes().toString()) as ModelListRequest : answer, queued }
    },
    msUntilDeadline: async request => {
      const record = await face.get(request.runtime_id, request.id)
      if (record === null) throw new Error(`no request ${request.id}`)
      return face.msUntilDeadline(record)
    }
  }
}

/** Resolves once the store hears other replicas' signals (a watch resolves only then). */
export async function listening (store: ModelListStore | Engine): Promise<void> {
  const engine = store instanceof Engine ? store : pickerOf(store).engine
  const stop = await engine.watchSettled('rt-listening', 'listening', () => {})
  stop()
}

/** Resolves when `check` holds, looking again at every turn of the event loop; rejects after `ms` of wall clock. */
export async function eventually (what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise(resolve => setImmediate(resolve))
  }
}

// Redis Cluster's hash slot of a key (CRC16/XMODEM of the key, mod 16384).
function hashSlot (key: string): number {
  let crc = 0
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16_384
}

/**
 * A fresh runtime id in the hash slot of `runtimeId`, so its keys live on the
 * same Cluster master. Classic pub/sub keeps order only per publishing node:
 * a message published on another master may overtake one sent earlier.
 */
export function sameSlotRuntime (runtimeId: string): string {
  const slot = hashSlot(runtimeId)
  const base = `rt-marker-${randomUUID()}`
  for (let i = 0; ; i++) if (hashSlot(`${base}-${i}`) === slot) return `${base}-${i}`
}

/** Resolves with the next value `listen` hears, or rejects after `ms` of wall clock (a bound, not a sleep). */
export async function heard<T> (listen: (hear: (value: T) => void) => () => void, ms = 5_000): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { stop(); reject(new Error(`nothing heard within ${ms} ms`)) }, ms)
    const stop = listen(value => { clearTimeout(timer); stop(); resolve(value) })
  })
}

interface Setup {
  clock: Clock
  store: ModelListStore
  picker: Picker
  rt: string
  open: (options?: { coalesce?: boolean, useCache?: boolean }) => Promise<Opened>
  /** A request completed with `models`; answers it. */
  report: (models: ModelListRequest['models'], extra?: { supported?: boolean, fallback?: boolean }) => Promise<string>
}

export function pickerContract (t: Test, backend: Backend): void {
  t.test(`picker capabilities: ${backend.name}`, async t => {
    if (!(await ready(t, backend.setup))) return
    t.teardown(() => backend.teardown())

    const setup = (options: Partial<StoreOptions> = {}, clock = new Clock()): Setup => {
      const store = backend.make({ ...options, now: clock.now })
      const picker = pickerOf(store)
      const rt = `rt-${randomUUID()}`
      const open: Setup['open'] = async ({ coalesce = true, useCache = true } = {}) => await picker.open(rt, { coalesce, useCache })
      const report: Setup['report'] = async (models, extra = {}) => {
        const created = await store.create(rt)
        await store.popPending(rt)
        await store.complete(rt, created.id, { models: models ?? [], supported: extra.supported ?? true, ...(extra.fallback !== undefined && { fallback: extra.fallback }) })
        return created.id
      }
      return { clock, store, picker, rt, open, report }
    }

    t.test('every optional feature is there', async t => {
      const { store, picker } = setup()
      t.same(new ModelListObjectStore(store).missing(true), [], 'the store does without nothing')
      const { workStore } = store as ModelListOnWorkStore
      for (const name of ['watchSettled', 'now', 'onQueued', 'listening', 'handBack'] as const) t.type(workStore[name], 'function', name)
    })

    t.test('cache: a completed, supported report with models is stored and answers the next open', async t => {
      const { clock, store, rt, open, report } = setup()
      clock.advance(1_000)
      const at = new Date(clock.t).toISOString()
      await report(catalog)
      clock.advance(5_000)
      const { request, queued } = await open()
      t.same(request, { id: request.id, runtime_id: rt, status: 'completed', models: catalog, supported: true, created_at: at, updated_at: at, cached: true, cached_at: at })
      t.equal(queued, false, 'young enough: no refresh')
      t.equal(await store.get(rt, request.id), null, 'the answer is not stored')
      t.not((await open()).request.id, request.id, 'each answer has a fresh id')
      t.equal(await store.hasPending(rt), false, 'nothing was queued')
    })

    t.test('cache decision table', async t => {
      const cases: Array<{ name: string, then: { models: ModelListRequest['models'], supported?: boolean, fallback?: boolean } | 'failed', expect: 'first' | 'second' | 'miss' }> = [
        { name: 'a new catalog replaces the old', then: { models: other }, expect: 'second' },
        { name: 'keep on fallback', then: { models: other, fallback: true }, expect: 'first' },
        { name: 'drop when empty', then: { models: [] }, expect: 'miss' },
        { name: 'drop when unsupported', then: { models: other, supported: false }, expect: 'miss' },
        { name: 'keep when empty with fallback', then: { models: [], fallback: true }, expect: 'first' },
        { name: 'keep when unsupported with fallback', then: { models: [], supported: false, fallback: true }, expect: 'first' },
        { name: 'keep on failed', then: 'failed', expect: 'first' }
      ]
      for (const { name, then, expect } of cases) {
        t.test(name, async t => {
          const { store, rt, open, report } = setup()
          await report(catalog)
          if (then === 'failed') {
            const created = await store.create(rt)
            await store.fail(rt, created.id, 'discovery crashed')
          } else {
            await report(then.models, then)
          }
          const { request, queued } = await open()
          if (expect === 'miss') {
            t.equal(request.status, 'pending', 'a miss asks the daemon')
            t.notOk(request.cached)
            t.equal(queued, true)
          } else {
            t.same(request.models, expect === 'first' ? catalog : other)
            t.equal(request.cached, true)
          }
        })
      }
    })

    t.test('cache: a late report touches nothing', async t => {
      const { clock, store, rt, open, report } = setup({ pendingTimeoutMs: 1_000, retentionMs: 120_000 })
      const id = await report(catalog)
      t.match(await store.complete(rt, id, { models: [], supported: true }), { status: 'completed', models: catalog }, 'late: ignored')
      t.same((await open()).request.models, catalog, 'a late empty report does not drop it')
      const timedOut = await store.create(rt)
      clock.advance(1_001)
      t.match(await store.complete(rt, timedOut.id, { models: other, supported: true }), { status: 'timeout' })
      t.same((await open()).request.models, catalog, 'a report after its timeout does not store')
    })

    t.test('cache: served while younger than serveWindowMs, a miss after', async t => {
      const { clock, store, rt, open, report } = setup({ catalogCache: { serveWindowMs: 10_000, revalidateAfterMs: 10_000 } })
      await report(catalog)
      clock.advance(9_999)
      t.equal((await open()).request.cached, true, '1 ms before the window closes')
      clock.advance(1)
      const missed = await open()
      t.equal(missed.request.status, 'pending', 'at the window: asks the daemon')
      t.equal(missed.queued, true)
      t.equal((await store.popPending(rt))?.id, missed.request.id)
    })

    t.test('cache: past revalidateAfterMs one refresh is queued, and no other while one is pending or running', async t => {
      const { clock, store, rt, open, report } = setup({ catalogCache: { revalidateAfterMs: 60_000 } })
      await report(catalog)
      clock.advance(60_000)
      const young = await open()
      t.equal(young.request.cached, true)
      t.equal(young.queued, false, 'not older than revalidateAfterMs: no refresh')
      t.equal(await store.hasPending(rt), false)
      clock.advance(1)
      const stale = await open()
      t.equal(stale.request.cached, true, 'still answered from the cache')
      t.equal(stale.queued, true, 'and a refresh is queued')
      t.equal(await store.hasPending(rt), true)
      t.equal((await open()).queued, false, 'not while the refresh is pending')
      t.equal((await open({ coalesce: false })).queued, false, 'nor without coalescing')
      const refresh = await store.popPending(rt) as ModelListRequest
      t.equal(await store.popPending(rt), null, 'one refresh')
      t.equal((await open()).queued, false, 'not while it runs')
      clock.advance(2_000)
      await store.complete(rt, refresh.id, { models: other, supported: true })
      const renewed = await open()
      t.same(renewed.request.models, other, 'the refresh renews the catalog')
      t.equal(renewed.request.cached_at, new Date(clock.t).toISOString())
      t.equal(renewed.queued, false)
    })

    t.test('cache: a refresh whose claim timed out no longer counts as running', async t => {
      const { clock, store, rt, open, report } = setup({ catalogCache: { revalidateAfterMs: 1_000 }, runningTimeoutMs: 5_000 })
      await report(catalog)
      clock.advance(1_001)
      t.equal((await open()).queued, true)
      await store.popPending(rt)
      clock.advance(5_001)
      t.equal((await open()).queued, true, 'the running one timed out: a new refresh')
    })

    t.test('cache: useCache false (force) asks the daemon, joining a pending request', async t => {
      const { store, rt, open, report } = setup()
      await report(catalog)
      const forced = await open({ useCache: false })
      t.equal(forced.request.status, 'pending')
      t.equal(forced.queued, true)
      const again = await open({ useCache: false })
      t.equal(again.request.id, forced.request.id, 'joined')
      t.equal(again.queued, false)
      t.equal((await store.popPending(rt))?.id, forced.request.id)
    })

    t.test('cache: catalogCache false stores nothing and serves nothing', async t => {
      const { open, report } = setup({ catalogCache: false })
      await report(catalog)
      const { request, queued } = await open()
      t.equal(request.status, 'pending')
      t.equal(queued, true)
    })

    t.test('cache: plain create never answers from the cache', async t => {
      const { store, rt, report } = setup()
      await report(catalog)
      t.equal((await store.create(rt)).status, 'pending')
    })

    const broken = { json: 'bad JSON', shape: 'JSON without models', null: 'JSON null', type: 'a key of another type' } as const
    for (const how of ['json', 'shape', 'null', 'type'] as const) {
      t.test(`cache: an unreadable catalog (${broken[how]}) is a miss, never an error`, async t => {
        const { clock, store, rt, open, report } = setup({ catalogCache: { revalidateAfterMs: 1_000 } })
        await backend.breakCatalog(store, rt, how, clock.t)
        const { request, queued } = await open()
        t.equal(request.status, 'pending', 'asks the daemon')
        t.equal(queued, true)
        t.equal((await store.popPending(rt))?.id, request.id)
        await store.complete(rt, request.id, { models: catalog, supported: true })
        t.same((await open()).request.models, catalog, 'the next report stores a good catalog over it')
        await backend.breakCatalog(store, rt, how, clock.t - 2_000)
        const stale = await open()
        t.equal(stale.request.status, 'pending', 'a stale broken catalog: one request, refresh or miss alike')
        t.equal((await open()).request.id, stale.request.id, 'joined, not queued again')
        await report(catalog)
      })
    }

    t.test('held polls: watchSettled wakes on an accepted report, every watcher once, and stops when asked', async t => {
      const { store, picker: { engine }, rt } = setup()
      const created = await store.create(rt)
      const woken = [0, 0, 0]
      const stops = await Promise.all(woken.map(async (_, i) => await engine.watchSettled(rt, created.id, () => { woken[i]++ })))
      stops[2]()
      const otherRequest = await store.create(rt)
      let otherWoken = (): void => {}
      const otherWatch = new Promise<void>(resolve => { otherWoken = resolve })
      const stopOther = await engine.watchSettled(rt, otherRequest.id, () => otherWoken())
      await store.complete(rt, created.id, { models: catalog, supported: true })
      await store.complete(rt, created.id, { models: [], supported: true }) // late: no signal
      await store.fail(rt, otherRequest.id, 'done')
      await otherWatch // signals arrive in order: the first request's came before
      stopOther()
      t.same(woken, [1, 1, 0], 'each watcher once; a stopped one not at all; a late report sends nothing')
      stops[0]()
      stops[1]()
    })

    t.test('held polls: msUntilDeadline counts down to the pending, then the running deadline', async t => {
      const { clock, store, picker, rt } = setup({ pendingTimeoutMs: 10_000, runningTimeoutMs: 20_000 })
      const created = await store.create(rt)
      clock.advance(4_000)
      t.equal(await picker.msUntilDeadline(created), 6_000)
      const running = await store.popPending(rt) as ModelListRequest
      clock.advance(1_000)
      t.equal(await picker.msUntilDeadline(running), 19_000)
    })

    t.test('hints: onPendingWork hears every queued request (a refresh too), not a join, until stopped', async t => {
      const { clock, store, picker: { engine }, rt, open } = setup({ catalogCache: { revalidateAfterMs: 1_000 } })
      const hints: string[] = []
      const stop = engine.onQueued(runtimeId => { if (runtimeId === rt) hints.push(runtimeId) })
      await listening(engine)
      // A hint for a runtime of its own, sent after from the same node (its slot is
      // rt's, hints flaky on a Cluster without it): once heard, every earlier one was too.
      const barrier = async (): Promise<void> => {
        const marker = sameSlotRuntime(rt)
        const marked = heard<string>(hear => engine.onQueued(id => { if (id === marker) hear(id) }))
        await store.create(marker)
        await marked
      }
      await barrier()
      await store.create(rt, { coalesce: true })
      await store.create(rt, { coalesce: true })
      await barrier()
      t.same(hints, [rt], 'a queued request hints; a join does not')
      const claimed = await store.popPending(rt) as ModelListRequest
      await store.complete(rt, claimed.id, { models: catalog, supported: true })
      t.equal((await open()).request.cached, true)
      await barrier()
      t.same(hints, [rt], 'a fresh cache answer queues nothing, so hints nothing')
      clock.advance(1_001)
      t.equal((await open()).queued, true)
      await barrier()
      t.same(hints, [rt, rt], 'a background refresh hints')
      stop()
      await store.create(rt)
      await barrier()
      t.same(hints, [rt, rt], 'nothing once stopped')
    })

    if (backend.shared) {
      t.test('replicas: 50 concurrent opens over two stores with a stale catalog queue one refresh, heard by both', async t => {
        const clock = new Clock()
        const a = setup({ catalogCache: { revalidateAfterMs: 1_000 } }, clock)
        const b = backend.make({ catalogCache: { revalidateAfterMs: 1_000 }, now: clock.now })
        const bPicker = pickerOf(b)
        const rt = a.rt
        const hintsOn = { a: 0, b: 0 }
        const stops = [
          a.picker.engine.onQueued(id => { if (id === rt) hintsOn.a++ }),
          bPicker.engine.onQueued(id => { if (id === rt) hintsOn.b++ })
        ]
        await listening(a.picker.engine)
        await listening(bPicker.engine)
        // The first catalog's request hints too; on a Cluster a message may travel
        // between masters, so wait for it before counting on.
        await a.report(catalog)
        await eventually('the first hint on both', () => hintsOn.a === 1 && hintsOn.b === 1)
        clock.advance(1_001)
        const answers = await Promise.all(Array.from({ length: 50 }, async (_, i) => await (i % 2 === 0 ? a.picker : bPicker).open(rt, { coalesce: true, useCache: true })))
        t.ok(answers.every(({ request }) => request.cached === true && request.models?.length === catalog.length), 'all 50 answered from the cache')
        t.equal(answers.filter(({ queued }) => queued).length, 1, 'exactly one queued a refresh')
        await eventually('the refresh hint on both', () => hintsOn.a === 2 && hintsOn.b === 2)
        const refresh = await b.popPending(rt)
        t.ok(refresh, 'the refresh is claimable on either store')
        t.equal(await a.store.popPending(rt), null, 'and there is one')
        for (const stop of stops) stop()
        t.same(hintsOn, { a: 2, b: 2 }, 'one refresh hint per replica')
      })

      t.test('replicas: a report on one store wakes a watcher on the other', async t => {
        const clock = new Clock()
        const a = setup({}, clock)
        const b = pickerOf(backend.make({ now: clock.now })).engine
        const created = await a.store.create(a.rt)
        let wake = (): void => {}
        const woken = new Promise<void>(resolve => { wake = resolve })
        // Resolves once the wake-up can be heard.
        const stop = await b.watchSettled(a.rt, created.id, () => wake())
        await a.store.complete(a.rt, created.id, { models: catalog, supported: true })
        await woken
        stop()
        t.pass('woken')
      })
    }
  })
}
