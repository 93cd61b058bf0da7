import { WorkRules } from '../rules'
import type { OpenedWork, Outcome, WorkRecord, WorkStore } from '../store/contract'

// The work store contract, written once and run unchanged against every
// backend: the built-in ones run it in this package's tests, and a custom work
// store's author runs it against theirs (`fastify-model-list/testing`). It
// takes any tap-like test object, so it imports no test framework.

/** What the suite needs of a test object; tap's `t` (or one like it) fits. */
export interface ContractTest {
  // `any`: a framework's own test type (tap's) is handed in; the suite reads it as a ContractTest.
  test(name: string, fn: (t: any) => Promise<void>): unknown
  equal(found: unknown, wanted: unknown, ...message: [] | [string]): unknown
  same(found: unknown, wanted: unknown, ...message: [] | [string]): unknown
  ok(value: unknown, ...message: [] | [string]): unknown
  not(found: unknown, notWanted: unknown, ...message: [] | [string]): unknown
}

export interface WorkStoreTarget {
  /** Names the suite's tests. */
  name: string
  /** A store whose clock is `now` (epoch ms): the suite moves time by it. */
  make(now: () => number): WorkStore | Promise<WorkStore>
}

// The kinds the suite stores: one with params, claimed in batches, and one beside it.
const kindName = 'contract_import'
const otherKindName = 'contract_other'
const pendingTimeoutMs = 180_000
const runningTimeoutMs = 60_000
const retentionMs = 600_000
const start = Date.UTC(2026, 0, 1)

let runtimes = 0
function runtime (): string {
  return `rt-contract-${process.pid}-${Date.now().toString(36)}-${++runtimes}`
}

// The id of the record `open` answered (a test that expects a busy answer says so).
const idOf = (opened: OpenedWork): string => (opened as { record: WorkRecord }).record.id

const completed = (result: unknown): Outcome => ({ status: 'completed', result: JSON.stringify(result) })

/** Runs the work store contract against `target`. */
export function workStoreContract (t: ContractTest, target: WorkStoreTarget): void {
  void t.test(`work store contract: ${target.name}`, async (t: ContractTest) => {
    const setup = async (): Promise<{ clock: { t: number, advance: (ms: number) => void }, store: WorkStore, rt: string }> => {
      const clock = { t: start, advance (ms: number) { this.t += ms } }
      const store = await target.make(() => clock.t)
      return { clock, store, rt: runtime() }
    }
    const rules = new WorkRules({ pendingTimeoutMs, runningTimeoutMs, retentionMs }, kindName)
    const other = new WorkRules({ pendingTimeoutMs, runningTimeoutMs, retentionMs }, otherKindName)
    const open = { coalesce: false, exclusive: false, useCache: false }
    const queue = async (store: WorkStore, rt: string, params: unknown, options = {}): Promise<string> => {
      const opened = await store.open(rules, rt, { ...open, params: JSON.stringify(params), ...options })
      return idOf(opened)
    }

    await t.test('open queues a pending request with its params, stamped by the clock', async (t: ContractTest) => {
      const { clock, store, rt } = await setup()
      const params = JSON.stringify({ skill: 'search' })
      const opened = await store.open(rules, rt, { ...open, params })
      t.ok('record' in opened && opened.queued, 'a new record, queued')
      const { record } = opened as { record: { id: string } }
      t.same(record, { id: record.id, runtimeId: rt, kind: kindName, status: 'pending', createdAt: clock.t, updatedAt: clock.t, deadline: clock.t + pendingTimeoutMs, params })
      t.same(await store.get(rules, rt, record.id), record, 'get answers it as stored')
      await store.close()
    })

    await t.test('get answers null for an unknown id, another runtime and another kind', async (t: ContractTest) => {
      const { store, rt } = await setup()
      const id = await queue(store, rt, { skill: 'a' })
      t.equal(await store.get(rules, rt, 'no-such-request'), null)
      t.equal(await store.get(rules, runtime(), id), null)
      t.equal(await store.get(other, rt, id), null)
      await store.close()
    })

    await t.test('probe answers every kind asked about, per runtime', async (t: ContractTest) => {
      const { store, rt } = await setup()
      t.same(await store.probe(rt, [kindName, otherKindName]), [false, false])
      await queue(store, rt, { skill: 'a' })
      t.same(await store.probe(rt, [kindName, otherKindName]), [true, false])
      t.same(await store.probe(rt, [otherKindName, kindName]), [false, true], 'in the order asked')
      t.same(await store.probe(runtime(), [kindName]), [false], 'another runtime has nothing')
      await store.claim(rules, rt, 1)
      t.same(await store.probe(rt, [kindName, otherKindName]), [false, false], 'nothing left to claim')
      await store.close()
    })

    await t.test('claims are oldest first, at most `max` at a time, each once', async (t: ContractTest) => {
      const { clock, store, rt } = await setup()
      const ids: string[] = []
      for (let i = 0; i < 5; i++) {
        ids.push(await queue(store, rt, { skill: `s${i}` }))
        // Same-millisecond requests still keep their order.
        if (i === 1) clock.advance(1)
      }
      clock.advance(1_000)
      const first = await store.claim(rules, rt, 3)
      t.same(first.map(record => record.id), ids.slice(0, 3))
      t.same(first[0], { id: ids[0], runtimeId: rt, kind: kindName, status: 'running', createdAt: start, updatedAt: clock.t, deadline: clock.t + runningTimeoutMs, params: JSON.stringify({ skill: 's0' }) }, 'running, with its params')
      t.same(await store.get(rules, rt, ids[0]), first[0], 'and stored so')
      t.same((await store.claim(rules, rt, 3)).map(record => record.id), ids.slice(3))
      t.same(await store.claim(rules, rt, 3), [])
      await store.close()
    })

    await t.test('kinds are kept apart: a claim takes its own kind only', async (t: ContractTest) => {
      const { store, rt } = await setup()
      const mine = await queue(store, rt, { skill: 'a' })
      const opened = await store.open(other, rt, open)
      const theirs = idOf(opened)
      t.same((await store.claim(other, rt, 10)).map(record => record.id), [theirs])
      t.same((await store.claim(rules, rt, 10)).map(record => record.id), [mine])
      await store.close()
    })

    await t.test('concurrent claims return each request exactly once', async (t: ContractTest) => {
      const { store, rt } = await setup()
      const ids = new Set<string>()
      for (let i = 0; i < 20; i++) ids.add(await queue(store, rt, { skill: `s${i}` }))
      const claims = await Promise.all(Array.from({ length: 30 }, async () => await store.claim(rules, rt, 2)))
      const claimed = claims.flat().map(record => record.id)
      t.equal(claimed.length, 20)
      t.same(new Set(claimed), ids)
      await store.close()
    })

    await t.test('coalesce joins the oldest claimable pending request with equal params only', async (t: ContractTest) => {
      const { store, rt } = await setup()
      const a = await queue(store, rt, { skill: 'a' })
      const b = await queue(store, rt, { skill: 'b' })
      t.equal(await queue(store, rt, { skill: 'b' }, { coalesce: true }), b, 'past a head that asks something else')
      t.equal(await queue(store, rt, { skill: 'a' }, { coalesce: true }), a)
      const joined = await store.open(rules, rt, { ...open, params: JSON.stringify({ skill: 'a' }), coalesce: true })
      t.equal('queued' in joined && joined.queued, false, 'a join queues nothing')
      t.not(await queue(store, rt, { skill: 'a' }), a, 'without coalesce a new one is queued')
      const failed = await queue(store, rt, { skill: 'c' })
      await store.settle(rules, rt, failed, { status: 'failed', error: 'cancelled' }, 'keep')
      const fresh = await queue(store, rt, { skill: 'c' }, { coalesce: true })
      t.not(fresh, failed, 'a request no longer pending is not joined')
      t.not(await queue(store, rt, { skill: 'd' }, { coalesce: true }), fresh, 'params nobody asked for: a new one')
      await store.claim(rules, rt, 1)
      t.not(await queue(store, rt, { skill: 'a' }, { coalesce: true }), a, 'a running request is not joined')
      await store.close()
    })

    await t.test('exclusive refuses while one is pending or running, naming it; accepts once it is terminal', async (t: ContractTest) => {
      const { store, rt } = await setup()
      const exclusive = { ...open, exclusive: true }
      const first = await store.open(rules, rt, exclusive)
      const id = idOf(first)
      t.same(await store.open(rules, rt, exclusive), { busy: id }, 'pending')
      await store.claim(rules, rt, 1)
      t.same(await store.open(rules, rt, exclusive), { busy: id }, 'running')
      t.same((await store.probe(rt, [kindName])), [false], 'and nothing was queued')
      await store.settle(rules, rt, id, completed({ done: true }), 'keep')
      const next = await store.open(rules, rt, exclusive)
      t.ok('record' in next && next.record.id !== id, 'terminal: a new one is queued')
      const elsewhere = await store.open(other, rt, exclusive)
      t.ok('record' in elsewhere, 'another kind is not held up')
      await store.close()
    })

    await t.test('handBack (optional): a claim goes back in its place while it is still that claim', async (t: ContractTest) => {
      const { clock, store, rt } = await setup()
      if (store.handBack === undefined) {
        t.ok(true, 'this store does not hand back: such a claim ends as timeout')
        return
      }
      const ids = [await queue(store, rt, { skill: 'a' }), await queue(store, rt, { skill: 'b' })]
      clock.advance(1_000)
      const claimed = await store.claim(rules, rt, 2)
      clock.advance(1_000)
      for (const record of [...claimed].reverse()) {
        t.equal((await store.handBack(rules, rt, record.id, record.updatedAt))?.status, 'pending')
      }
      t.equal(await store.handBack(rules, rt, ids[0], claimed[0].updatedAt), null, 'no longer that claim: pending')
      t.same((await store.claim(rules, rt, 2)).map(record => record.id), ids, 'claimed again, in their places')
      await store.settle(rules, rt, ids[0], completed({}), 'keep')
      t.equal(await store.handBack(rules, rt, ids[0], clock.t), null, 'reported: left as it is')
      t.equal(await store.handBack(other, rt, ids[1], clock.t), null, 'another kind\'s request is not found')
      await store.close()
    })

    await t.test('settle applies to a live request only; a late report changes nothing', async (t: ContractTest) => {
      const { clock, store, rt } = await setup()
      const id = await queue(store, rt, { skill: 'a' })
      await store.claim(rules, rt, 1)
      clock.advance(500)
      const done = await store.settle(rules, rt, id, completed({ imported: true }), 'keep')
      t.same(done, { id, runtimeId: rt, kind: kindName, status: 'completed', createdAt: start, updatedAt: clock.t, deadline: done?.deadline, params: JSON.stringify({ skill: 'a' }), result: JSON.stringify({ imported: true }) })
      clock.advance(500)
      t.same(await store.settle(rules, rt, id, { status: 'failed', error: 'late' }, 'keep'), done, 'late: the record as it was')
      t.same(await store.get(rules, rt, id), done)
      const failed = await queue(store, rt, { skill: 'b' })
      t.equal((await store.settle(rules, rt, failed, { status: 'failed', error: 'no such skill' }, 'keep'))?.error, 'no such skill', 'a pending request may fail too')
      t.same(await store.claim(rules, rt, 1), [], 'and is no longer claimable')
      t.equal(await store.settle(rules, rt, 'no-such-request', completed({}), 'keep'), null)
      t.equal(await store.settle(other, rt, id, completed({}), 'keep'), null, 'another kind\'s request is not found')
      await store.close()
    })

    await t.test('timeouts are applied when read, by the kind\'s rules, and stored', async (t: ContractTest) => {
      const { clock, store, rt } = await setup()
      const pending = await queue(store, rt, { skill: 'a' })
      const running = await queue(store, rt, { skill: 'b' })
      clock.advance(pendingTimeoutMs - 1_000)
      t.same((await store.claim(rules, rt, 2)).map(record => record.id), [pending, running])
      await store.settle(rules, rt, pending, { status: 'failed', error: 'x' }, 'keep')
      const late = await queue(store, rt, { skill: 'c' })
      clock.advance(runningTimeoutMs + 1)
      t.same(await store.get(rules, rt, running), { id: running, runtimeId: rt, kind: kindName, status: 'timeout', createdAt: start, updatedAt: clock.t, deadline: start + pendingTimeoutMs - 1_000 + runningTimeoutMs, params: JSON.stringify({ skill: 'b' }), error: rules.runningTimeoutError })
      clock.advance(pendingTimeoutMs)
      t.same(await store.claim(rules, rt, 5), [], 'a request past its pending timeout is not claimed')
      t.same(await store.probe(rt, [kindName]), [false])
      t.equal((await store.get(rules, rt, late))?.error, rules.pendingTimeoutError)
      t.equal((await store.settle(rules, rt, late, completed({}), 'keep'))?.status, 'timeout', 'a report after the timeout changes nothing')
      await store.close()
    })
  })
}
