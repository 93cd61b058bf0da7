// What the plugin does with a store that has only the required methods: each
// optional feature is found once (lib/store/features.ts) and done without.
import t from 'tap'
import { Engine } from '../lib/store/features'
import { ModelListObjectStore } from '../lib/kinds/model-list-object'
import { ModelListOnWorkStore } from '../lib/kinds/model-list-store'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { WorkRules } from '../lib/rules'
import type { WorkRecord, WorkStore } from '../lib/store/contract'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import fastifyModelList, { daemonWork } from '../lib/index'
import { Face } from '../lib/kinds/face'
import { declaredKind } from '../lib/kinds/work-kind'
import { lifecycleChannel, storeChannel, type StoreCallContext } from '../lib/diagnostics'

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

t.test('a store that says nothing of what changed: its hand-back is traced, and reports are told from the record', async t => {
  const inner = new MemoryWorkStore()
  t.teardown(async () => await inner.close())
  // Every record answered without `change`, as a store written before it existed answers.
  const plain = (record: WorkRecord | null): WorkRecord | null => record === null ? null : { ...record, change: undefined }
  const store: WorkStore = {
    open: async (...args) => await inner.open(...args),
    get: async (...args) => plain(await inner.get(...args)),
    probe: async (...args) => await inner.probe(...args),
    claim: async (...args) => await inner.claim(...args),
    settle: async (...args) => plain(await inner.settle(...args)),
    handBack: async (...args) => plain(await inner.handBack(...args)),
    close: async () => await inner.close()
  }
  const engine = new Engine(store)
  const face = new Face(declaredKind(daemonWork({ name: 'plain_kind', result: Type.Object({}) }), new WorkRules()), engine)
  const told: Array<Record<string, unknown>> = []
  const traced: string[] = []
  const tell = (message: unknown): void => { told.push(message as Record<string, unknown>) }
  const trace = { start: (context: StoreCallContext) => { traced.push(context.operation) }, end () {}, asyncStart () {}, asyncEnd () {}, error () {} }
  lifecycleChannel.subscribe(tell)
  storeChannel.subscribe(trace)
  t.teardown(() => { lifecycleChannel.unsubscribe(tell); storeChannel.unsubscribe(trace) })

  await face.open('rt-1', { coalesce: false, exclusive: false, useCache: false })
  const [claimed] = await face.claim('rt-1')
  t.ok(await face.handBack('rt-1', claimed), 'handed back')
  t.ok(traced.includes('handBack'), 'the hand-back is traced like every store call')
  const [again] = await face.claim('rt-1')
  await face.settle('rt-1', again.id, { status: 'completed', result: '{}' }, 'keep')
  await face.settle('rt-1', again.id, { status: 'failed', error: 'late' }, 'keep')
  const events = told.map(message => message.event)
  t.same(events, ['queued', 'claimed', 'handed_back', 'claimed', 'completed', 'late_report'], 'a record with the report\'s status landed; one without is late')
  const completed = told.find(message => message.event === 'completed') as { runningMs: number }
  t.equal(completed.runningMs, 0, 'without the claim time, running counts from the report')
})

t.test('a create body sent as text to a kind whose params are required: 415, and it does not offer "or none"', async t => {
  const app = Fastify()
  t.teardown(async () => await app.close())
  const kind = daemonWork({ name: 'needs_params', params: Type.Object({ skill: Type.String() }), result: Type.Object({}) })
  await app.register(fastifyModelList, { getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true, work: [kind] })
  const res = await app.inject({ method: 'POST', url: '/runtimes/rt-1/needs-params', headers: { 'content-type': 'text/plain' }, payload: 'skill=a' })
  t.equal(res.statusCode, 415)
  t.match(res.json().message, /a create body is JSON \(content-type application\/json\), got text\/plain$/)
  // A host's catch-all parser takes a body that names no content type: still 415, saying so.
  const host = Fastify()
  t.teardown(async () => await host.close())
  host.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => { done(null, body) })
  await host.register(fastifyModelList, { getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true, work: [kind] })
  const bare = await host.inject({ method: 'POST', url: '/runtimes/rt-1/needs-params', payload: 'skill=a' })
  t.equal(bare.statusCode, 415)
  t.match(bare.json().message, /got no content type$/)
})
