// A store call's bound counts the store's time, not the event loop's: a timer
// that fires late, with the store's answer already waiting, lets it through.
import { mock } from 'node:test'
import t from 'tap'
import { bounded, StoreTimeoutError } from '../lib/bounded'

const turn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

t.beforeEach(() => { mock.timers.enable({ apis: ['setTimeout'] }) })
t.afterEach(() => { mock.timers.reset() })

t.test('regression: a store answer that arrived while the event loop was busy counted as a timeout (503 with Redis healthy)', async t => {
  let answer: (value: string) => void = () => {}
  const call = bounded('get', 2_000, async () => await new Promise<string>(resolve => { answer = resolve }))
  // The loop was busy past the bound: the timer fires in the same turn as the
  // answer, which is read before the turn ends.
  mock.timers.tick(2_000)
  answer('record')
  t.equal(await call, 'record', 'the answer, not a StoreTimeoutError')
})

t.test('a store that does not answer: StoreTimeoutError once the bound passes and the loop had its turn', async t => {
  let outcome: unknown
  bounded('get', 2_000, async () => await new Promise<never>(() => {})).catch((error: unknown) => { outcome = error })
  mock.timers.tick(1_999)
  await turn()
  t.equal(outcome, undefined, 'waiting at 1,999 ms')
  mock.timers.tick(1)
  t.equal(outcome, undefined, 'not in the timer itself')
  await turn()
  await turn()
  t.type(outcome, StoreTimeoutError)
  t.match(outcome, { message: 'model list store get took longer than 2000 ms' })
})

t.test('no time left: rejected at once, nothing started', async t => {
  let started = false
  await t.rejects(bounded('get', 0, async () => { started = true }), StoreTimeoutError)
  t.equal(started, false)
})
