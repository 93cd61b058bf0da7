// Other kinds of work, piece by piece: the declaration's checks, the `work`
// option and store choices, and claimPendingWork's failures.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import fastifyModelList, { daemonWork, MemoryModelListStore, type FastifyModelListOptions, type ModelListStore, type WorkStore } from '../lib/index'
import type { ModelListOnWorkStore } from '../lib/kinds/model-list-store'
import { declaredKind } from '../lib/kinds/work-kind'
import { Face } from '../lib/kinds/face'
import { Engine } from '../lib/store/features'
import type { ModelListRequest } from '../lib/schemas'
import { hooks } from './helpers/apps'
import { Clock } from './helpers/clock'

import { MapWorkStore } from '../examples/custom-work-store'

const result = Type.Object({ ok: Type.Boolean() })
const update = daemonWork({ name: 'cli_update', result, exclusive: true })

async function register (t: Test, options: Partial<FastifyModelListOptions>): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { ...hooks, ...options })
  await app.ready()
  return app
}

t.test('daemonWork refuses a mistake at once, naming the field', async t => {
  const bad: Array<[unknown, RegExp]> = [
    [undefined, /needs an options object/],
    [{ name: 'Skill', result }, /name must match \[a-z\]/],
    [{ name: 'a'.repeat(33), result }, /name must match/],
    [{ name: 'model_list', result }, /'model_list' is taken/],
    [{ name: 'x', result, claimbatch: 2 }, /x: unknown field claimbatch/],
    [{ name: 'x', result, a: 1, b: 2 }, /x: unknown fields a, b/],
    [{ name: 'x', result, path: 'a/b' }, /x\.path must be one path segment/],
    [{ name: 'x', result, path: 5 }, /x\.path/],
    [{ name: 'x', result, params: 'string' }, /x\.params must be a TypeBox schema/],
    [{ name: 'x' }, /x\.result must be a TypeBox schema/],
    [{ name: 'x', result: [] }, /x\.result/],
    [{ name: 'x', result, claimBatch: 0 }, /x\.claimBatch must be an integer from 1 to 50, got 0/],
    [{ name: 'x', result, claimBatch: 51 }, /x\.claimBatch/],
    [{ name: 'x', result, claimBatch: 1.5 }, /x\.claimBatch/],
    [{ name: 'x', result, pendingTimeoutMs: 0 }, /x\.pendingTimeoutMs must be a positive integer/],
    [{ name: 'x', result, runningTimeoutMs: '5' }, /x\.runningTimeoutMs/],
    [{ name: 'x', result, retentionMs: -1 }, /x\.retentionMs/],
    [{ name: 'x', result, coalesce: 'no' }, /x\.coalesce must be a boolean/],
    [{ name: 'x', result, exclusive: 1 }, /x\.exclusive must be a boolean/]
  ]
  for (const [options, message] of bad) {
    t.throws(() => daemonWork(options as Parameters<typeof daemonWork>[0]), { code: 'FST_MODEL_LIST_INVALID_OPTION', message }, String(message))
  }
  const kind = daemonWork({ name: 'skill_import', result })
  t.same({ path: kind.path, coalesce: kind.coalesce, exclusive: kind.exclusive, claimBatch: kind.claimBatch }, { path: 'skill-import', coalesce: true, exclusive: false, claimBatch: 1 }, 'the defaults')
  t.ok(Object.isFrozen(kind))
  // Every kind's keys have a kind segment now (issue 14): 'req' is no longer reserved.
  t.equal(daemonWork({ name: 'req', result }).path, 'req', "'req' is an ordinary name")
})

t.test('work: kinds with one name or path, the model list\'s path, or not daemonWork, refused at register', async t => {
  const cases: Array<[unknown, RegExp]> = [
    ['cli_update', /work must be an array of daemonWork/],
    [[update, daemonWork({ name: 'cli_update', path: 'other', result })], /two kinds are named cli_update/],
    [[update, daemonWork({ name: 'other', path: 'cli-update', result })], /other\.path 'cli-update' is taken/],
    [[daemonWork({ name: 'models', result })], /models\.path 'models' is taken/]
  ]
  for (const [work, message] of cases) {
    await t.rejects(register(t, { work } as unknown as FastifyModelListOptions), { code: 'FST_MODEL_LIST_INVALID_OPTION', message }, String(message))
  }
  // A kind's explicit retention must exceed its timeouts, named by the kind.
  await t.rejects(register(t, { work: [daemonWork({ name: 'slow', result, pendingTimeoutMs: 60_000, retentionMs: 30_000 })] }),
    { message: /slow\.retentionMs \(30000\) must be greater than slow\.pendingTimeoutMs \(60000\)/ })
})

t.test('a kind with long timeouts keeps its records longer than the plugin\'s retention', async t => {
  const clock = new Clock()
  const slow = daemonWork({ name: 'slow', result, pendingTimeoutMs: 180_000 })
  const app = await register(t, { work: [slow], now: clock.now })
  const store = app.daemonWorkStore(slow)
  // The kind's rules are internal now (WorkKindStore is create/get/claim/complete/fail): as the plugin resolves them, and as they act.
  const { rules } = declaredKind(slow, (app.modelListStore as ModelListOnWorkStore).rules)
  t.same({ pending: rules.pendingTimeoutMs, running: rules.runningTimeoutMs, retention: rules.retentionMs }, { pending: 180_000, running: 60_000, retention: 360_000 })
  const created = await store.create('rt', undefined)
  clock.advance(180_001)
  t.equal((await store.get('rt', created.id))?.error, 'daemon did not respond within 180 seconds', 'its own words')
  const claimed = await store.create('rt', undefined)
  t.same((await store.claim('rt')).map(item => item.id), [claimed.id])
  clock.advance(60_001)
  t.equal((await store.get('rt', claimed.id))?.error, 'daemon did not finish within 60 seconds', 'the plugin\'s running timeout')
  clock.advance(360_000 - 1)
  t.equal((await store.get('rt', claimed.id))?.status, 'timeout', 'kept past the plugin\'s retention (120 s): the kind\'s own')
  clock.advance(2)
  t.equal(await store.get('rt', claimed.id), null, 'forgotten after the kind\'s retention')
})

t.test('a ModelListStore object serves the model list alone', async t => {
  const inner = new MemoryModelListStore()
  t.teardown(() => inner.close())
  const plain: ModelListStore = {
    create: async (rt, options) => await inner.create(rt, options),
    get: async (rt, id) => await inner.get(rt, id),
    hasPending: async rt => await inner.hasPending(rt),
    popPending: async rt => await inner.popPending(rt),
    complete: async (rt, id, r) => await inner.complete(rt, id, r),
    fail: async (rt, id, e) => await inner.fail(rt, id, e),
    close: async () => {}
  }
  await t.rejects(register(t, { store: plain, work: [update] }), { message: /a ModelListStore object serves the model list alone/ })
  const app = await register(t, { store: plain })
  t.equal(await app.claimPendingWork('rt'), null)
  const created = await inner.create('rt')
  t.same(await app.claimPendingWork('rt'), { pending_model_list: { id: created.id } }, 'probed with its own hasPending')
  t.throws(() => app.daemonWorkStore(update), { message: /cli_update is not a kind given to work/ })
})

t.test('a work store object: the plugin\'s timeouts are its rules; a client, key prefix, clock or cache windows are refused', async t => {
  for (const name of ['redis', 'keyPrefix', 'now'] as const) {
    const value = name === 'keyPrefix' ? 'p' : name === 'now' ? Date.now : { status: 'ready' }
    await t.rejects(register(t, { store: new MapWorkStore(), [name]: value } as unknown as FastifyModelListOptions), { message: new RegExp(`${name} shapes a built-in store`) })
  }
  await t.rejects(register(t, { store: new MapWorkStore(), catalogCache: { serveWindowMs: 1_000 } }), { message: /catalogCache windows/ })
  const app = await register(t, { store: new MapWorkStore(), catalogCache: false, pendingTimeoutMs: 5_000, work: [update] })
  const created = (await app.inject({ method: 'POST', url: '/runtimes/rt/models' })).json()
  t.equal(Date.parse(created.updated_at) - Date.parse(created.created_at), 0)
  t.equal((app.modelListStore as ModelListOnWorkStore).rules.pendingTimeoutMs, 5_000)
  t.equal(await app.modelListStore.handBack?.('rt', created), false, 'a store without handBack hands nothing back')
  t.equal((await app.inject({ method: 'POST', url: '/runtimes/rt/cli-update' })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/runtimes/rt/cli-update' })).statusCode, 409, 'exclusive on a custom store')
})

t.test('claimPendingWork never throws: a probe that fails or hangs answers null; a kind whose claim fails is left out', async t => {
  const store = new MemoryModelListStore()
  t.teardown(() => store.close())
  const backend = store.workStore as WorkStore & { probeNow: NonNullable<WorkStore['probeNow']> }
  // Optional methods are found once, at start-up: the probe is swapped behind the one found.
  const realProbeNow = backend.probeNow.bind(backend)
  let probeNow: NonNullable<WorkStore['probeNow']> = realProbeNow
  backend.probeNow = (runtimeId, kinds) => probeNow(runtimeId, kinds)
  const app = await register(t, { store, work: [update], heartbeatProbeTimeoutMs: 50, storeTimeoutMs: 50 })
  t.equal(await app.claimPendingWork('not a runtime id!'), null, 'an id outside the grammar')
  await app.daemonWorkStore(update).create('rt', undefined)
  const list = await store.create('rt')
  const claim = backend.claim as WorkStore['claim']
  backend.claim = async (rules, runtimeId, max) => {
    if (rules.kind === 'cli_update') throw new Error('claim broke')
    return await claim.call(backend, rules, runtimeId, max)
  }
  t.same(await app.claimPendingWork('rt'), { pending_model_list: { id: list.id } }, 'the model list is still answered')
  backend.claim = claim
  t.same(Object.keys(await app.claimPendingWork('rt') ?? {}), ['pending_cli_update'], 'and the failed kind on the next heartbeat')
  probeNow = () => { throw new Error('probe broke') }
  t.equal(await app.claimPendingWork('rt'), null)
  probeNow = realProbeNow
  t.equal(await app.claimPendingWork('rt'), null, 'recovered: nothing left')
  // A probe that says yes when the queues emptied meanwhile: every claim answers nothing.
  probeNow = (_runtimeId, kinds) => kinds.map(() => true)
  t.equal(await app.claimPendingWork('rt'), null, 'a spurious yes answers null')
})

t.test('a custom work store\'s handBack is used when it has one', async t => {
  const handedBack: string[] = []
  const store = Object.assign(new MapWorkStore(), { handBack: async (_rules: unknown, _rt: string, id: string) => { handedBack.push(id); return null } })
  const app = await register(t, { store })
  const claim = { id: 'some-id', updated_at: new Date().toISOString() } as ModelListRequest
  t.equal(await app.modelListStore.handBack?.('rt', claim), false)
  t.same(handedBack, ['some-id'])
  let closed = 0
  store.close = async () => { closed++ }
  await app.modelListStore.close()
  t.equal(closed, 0, 'closing the face never closes the host\'s store object')
})

t.test('claimPendingWork bounds a probe that hangs (a store without a synchronous probe)', async t => {
  const hanging: WorkStore = Object.assign(new MapWorkStore(), { probe: async () => await new Promise<boolean[]>(() => {}) })
  const app = await register(t, { store: hanging, heartbeatProbeTimeoutMs: 30 })
  const started = Date.now()
  t.equal(await app.claimPendingWork('rt'), null)
  t.ok(Date.now() - started < 1_500, 'answered at the probe bound')
})

t.test('a kind\'s store: create, fail, a report without an error, and the deadline of a running request', async t => {
  const clock = new Clock()
  const app = await register(t, { work: [update], now: clock.now })
  const store = app.daemonWorkStore(update)
  // The deadline is the record's own now: read it through the kind's face, on the store's clock.
  const face = new Face(declaredKind(update, (app.modelListStore as ModelListOnWorkStore).rules), new Engine((app.modelListStore as ModelListOnWorkStore).workStore))
  const created = await store.create('rt', undefined)
  t.equal(face.msUntilDeadline(await face.get('rt', created.id) as NonNullable<Awaited<ReturnType<Face['get']>>>), 30_000)
  const [claimed] = await store.claim('rt')
  clock.advance(1_000)
  const running = await face.get('rt', claimed.id)
  t.equal(face.msUntilDeadline(running as NonNullable<typeof running>), 59_000)
  const report = await app.inject({ method: 'POST', url: `/daemon/runtimes/rt/cli-update/${created.id}/result`, payload: { status: 'failed' } })
  t.equal(report.statusCode, 200)
  t.equal((await store.get('rt', created.id))?.error, 'daemon reported a failure without a message')
  const other = await store.create('rt', undefined)
  t.equal((await store.fail('rt', other.id, 'gave up'))?.status, 'failed')
  t.equal(await store.fail('rt', 'no-such-id', 'x'), null)
  t.equal(await store.complete('rt', 'no-such-id', { ok: true }), null)
  t.equal((await app.inject({ method: 'POST', url: '/daemon/runtimes/rt/cli-update/no-such-id/result', payload: { status: 'failed' } })).statusCode, 404)
})

t.test('claimPendingWork: a claim that lands after its heartbeat gave up is handed back, every kind', async t => {
  const lines: Array<{ level: number, msg: string, kind?: string, requestId?: string, handedBack?: boolean }> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const store = new MemoryModelListStore()
  t.teardown(() => store.close())
  const backend = store.workStore
  const batch = daemonWork({ name: 'batch', result, claimBatch: 5, coalesce: false })
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { ...hooks, store, work: [update, batch], storeTimeoutMs: 30 })
  await app.ready()
  const list = await store.create('rt')
  const updating = await app.daemonWorkStore(update).create('rt', undefined)
  const batched = [await app.daemonWorkStore(batch).create('rt', undefined), await app.daemonWorkStore(batch).create('rt', undefined)]

  // Every claim lands only once released: after the heartbeat's bound.
  let release = (): void => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const claim = backend.claim.bind(backend)
  const landed: Array<Promise<unknown>> = []
  backend.claim = async (rules, runtimeId, max) => {
    const late = gate.then(async () => await claim(rules, runtimeId, max))
    landed.push(late)
    return await late
  }
  t.equal(await app.claimPendingWork('rt'), null, 'nothing answered: every claim ran past the bound')
  release()
  await Promise.all(landed)
  await new Promise(resolve => setTimeout(resolve, 20))
  backend.claim = claim
  const handedBack = lines.filter(line => /handed back to the queue/.test(line.msg))
  t.same(handedBack.map(line => line.requestId).sort(), [list.id, updating.id, ...batched.map(request => request.id)].sort(), 'each claimed request was handed back, and logged')
  t.same(await app.claimPendingWork('rt'), {
    pending_model_list: { id: list.id },
    pending_cli_update: { id: updating.id },
    pending_batch: batched.map(request => ({ id: request.id }))
  }, 'the next heartbeat claims them all again, in their places')
})

t.test('claimPendingWork: a late claim that changed, failed or cannot be handed back', async t => {
  const lines: Array<{ msg: string, handedBack?: boolean }> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  let handBackFails = false
  const custom = Object.assign(new MapWorkStore(), {
    handBack: async () => { if (handBackFails) throw new Error('ECONNRESET'); return null }
  })
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { ...hooks, store: custom, work: [update], storeTimeoutMs: 30 })
  await app.ready()
  const claim = custom.claim.bind(custom)
  const late = async (outcome: 'lands' | 'fails'): Promise<void> => {
    await app.daemonWorkStore(update).create(`rt-${outcome}-${String(handBackFails)}`, undefined)
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    let landed: Promise<unknown> = Promise.resolve()
    custom.claim = async (...args) => {
      landed = gate.then(async () => { if (outcome === 'fails') throw new Error('lost'); return await claim(...args) })
      return await (landed as Promise<Awaited<ReturnType<typeof claim>>>)
    }
    t.equal(await app.claimPendingWork(`rt-${outcome}-${String(handBackFails)}`), null)
    release()
    await landed.catch(() => {})
    await new Promise(resolve => setTimeout(resolve, 20))
    custom.claim = claim
  }
  await late('lands')
  t.match(lines.filter(line => /changed before it could be handed back/.test(line.msg)), [{ handedBack: false }], 'changed meanwhile: left as it is')
  const before = lines.length
  await late('fails')
  t.notOk(lines.slice(before).some(line => /landed after/.test(line.msg)), 'a claim that failed after all hands nothing back')
  handBackFails = true
  await late('lands')
  t.ok(lines.some(line => /handing back a late claim failed/.test(line.msg)), 'a hand-back that fails is logged')
})
