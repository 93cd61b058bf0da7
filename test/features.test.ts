// What the plugin does with a store that has only the required methods: each
// optional feature is found once (lib/store/features.ts) and done without.
import t from 'tap'
import { Engine } from '../lib/store/features'
import { ModelListObjectStore } from '../lib/kinds/model-list-object'
import { ModelListOnWorkStore } from '../lib/kinds/model-list-store'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { WorkRules } from '../lib/rules'
import type { WorkStore } from '../lib/store/contract'

/** A memory work store with only the methods every store must have. */
function bare (): { store: WorkStore, close: () => Promise<void> } {
  const inner = new MemoryWorkStore()
  const store: WorkStore = {
    open: async (...args) => await inner.open(...args),
    get: async (...args) => await inner.get(...args),
    probe: async (...args) => await inner.probe(...args),
    claim: async (...args) => await inner.claim(...args),
    settle: async (...args) => await inner.settle(...args),
    close: async () => await inner.close()
  }
  return { store, close: async () => await inner.close() }
}

t.test('an engine over a store without optional methods does without each', async t => {
  const { store, close } = bare()
  t.teardown(close)
  const engine = new Engine(store)
  const rules = new WorkRules()
  t.equal(engine.probeNow, undefined, 'no answer at once: the heartbeat awaits the probe')
  t.equal(engine.handBack, undefined, 'no hand-back: a late claim ends as timeout')
  t.ok(Math.abs(engine.now() - Date.now()) < 1_000, 'the clock is this process\'s')
  await engine.open(rules, 'rt-1', { coalesce: false, exclusive: false, useCache: false })
  t.same(await engine.mayHavePending('rt-1', ['model_list']), [true], 'the probe is the store\'s probe')
  const stop = await engine.watchSettled('rt-1', 'id', () => t.fail('no wake-up without the feature'))
  stop()
  engine.onQueued(() => t.fail('no hint without the feature'))()
  await engine.listening()
  engine.useLog(null as never)
  t.pass('watching, hints, listening and the logger are no-ops')
})

t.test('a late claim of another kind is not handed back by a store without handBack', async t => {
  const { store, close } = bare()
  t.teardown(close)
  const adapter = new ModelListObjectStore(new ModelListOnWorkStore(store))
  const other = new WorkRules({}, 'local_skills')
  const opened = await adapter.open(other, 'rt-1', { coalesce: false, exclusive: false, useCache: false })
  const [claimed] = await adapter.claim(other, 'rt-1', 1)
  t.equal((opened as { record: { id: string } }).record.id, claimed.id)
  t.equal(await adapter.handBack?.(other, 'rt-1', claimed.id, claimed.updatedAt), null, 'nothing handed back: it ends as timeout')
  t.same(adapter.missing(true), ['handBack (a claim its heartbeat gave up on ends as timeout)', 'watchSettled (held polls wake only for reports this process receives)', 'onQueued (wake-up hints only for work this process queues)'])
})
