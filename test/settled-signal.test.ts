// A settle's signal carries the settled record (issue 15): the polls it wakes
// answer it without a read, so a poll woken while the store refuses reads
// (a Redis Cluster refuses every query for a while after a master is lost)
// still answers the report at once. Redis carries records of at most
// `carriedBytes` of result, error and params; the others' polls read.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type Redis from 'ioredis'
import fastifyModelList, { MemoryModelListStore, type WorkRecord, type WorkStore } from '../lib/index'
import { WorkRules, modelListKind } from '../lib/rules'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import { RedisWorkStore } from '../lib/store/redis/work-store'
import { readSettled } from '../lib/store/redis/reply'
import { carriedBytes } from '../lib/store/redis/keys'
import { ModelListObjectStore } from '../lib/kinds/model-list-object'
import type { ModelListOnWorkStore } from '../lib/kinds/model-list-store'
import { catalog } from './helpers/contract'
import { hooks, hostApp, routes } from './helpers/apps'
import { mockRedis } from './helpers/redis-mock'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'
import { eventually, listening } from './helpers/picker-contract'
import { pluginBackends } from './helpers/backends'

t.test('readSettled', async t => {
  t.same(readSettled('rt-1 req-1'), { runtimeId: 'rt-1', id: 'req-1' }, 'a signal without a record (an older replica, or a large record)')
  const error = 'déjà vu: ✓ 🚀\nline two 1:2'
  const params = '{"repo":"naïve café","tag":"💡"}'
  const body = `s6:failedc13:1700000000000u13:1700000000500d13:1700000060000e${Buffer.byteLength(error)}:${error}p${Buffer.byteLength(params)}:${params}`
  t.same(readSettled(`rt-1 req-1 skill_import\n${body}`), {
    runtimeId: 'rt-1',
    id: 'req-1',
    record: { id: 'req-1', runtimeId: 'rt-1', kind: 'skill_import', status: 'failed', createdAt: 1700000000000, updatedAt: 1700000000500, deadline: 1700000060000, error, params }
  }, 'lengths in bytes: values with multi-byte characters, newlines, spaces and colons read whole')
  t.equal(readSettled('rt-1'), undefined, 'no request id: nothing to wake')
  t.same(readSettled('rt-1 req-1\ns6:failed'), { runtimeId: 'rt-1', id: 'req-1' }, 'no kind: woken, no record')
  for (const [what, bad] of [
    ['an unknown field', 'x3:abc'],
    ['no colon', 's6'],
    ['a length that is not a number', 'sx:failed'],
    ['a length past the end', 's60:failed'],
    ['a field it needs missing (the deadline)', 's6:failedc1:1u1:2e2:no'],
    ['a live status', 's7:runningc1:1u1:2d1:3']
  ]) {
    t.same(readSettled(`rt-1 req-1 model_list\n${bad}`), { runtimeId: 'rt-1', id: 'req-1' }, `${what}: woken, no record (the polls read)`)
  }
})

interface Backend {
  name: string
  /** A work store, and what to close after it. */
  store: (t: Test) => Promise<{ store: WorkStore, close: () => Promise<void> } | null>
}

const backends: Backend[] = [
  { name: 'memory', store: async () => ({ store: new MemoryWorkStore(), close: async () => {} }) },
  {
    name: 'ioredis-mock',
    store: async () => {
      const redis = mockRedis()
      const store = new RedisWorkStore({ redis, keyPrefix: uniquePrefix('settled-mock'), now: Date.now })
      return { store, close: async () => { await store.close(); redis.disconnect() } }
    }
  },
  {
    name: 'Redis',
    store: async t => {
      if (!(await ready(t, needsRedis))) return null
      const redis: Redis = connect()
      const keyPrefix = uniquePrefix('settled')
      const store = new RedisWorkStore({ redis, keyPrefix })
      return { store, close: async () => { await store.close(); await deleteKeys(redis, keyPrefix); await redis.quit() } }
    }
  }
]

const skills = new WorkRules({}, 'skill_import')
const modelList = new WorkRules({}, modelListKind)

for (const backend of backends) {
  t.test(`${backend.name}: the settled signal carries the record as get answers it`, async t => {
    const made = await backend.store(t)
    if (made === null) return
    const { store } = made
    t.teardown(made.close)
    const watched = async (rules: WorkRules, params: string | undefined): Promise<{ id: string, wakes: Array<WorkRecord | undefined> }> => {
      const opened = await store.open(rules, 'rt-1', { coalesce: false, exclusive: false, useCache: false, ...(params !== undefined && { params }) })
      const id = (opened as { record: WorkRecord }).record.id
      t.same((await store.claim(rules, 'rt-1', 1)).map(record => record.id), [id])
      const wakes: Array<WorkRecord | undefined> = []
      await (store.watchSettled as NonNullable<WorkStore['watchSettled']>)('rt-1', id, record => { wakes.push(record) })
      return { id, wakes }
    }
    // Params and an error with multi-byte characters, newlines and spaces.
    const params = JSON.stringify({ repo: 'naïve café 🚀', path: 'a b\nc' })
    const failed = await watched(skills, params)
    await store.settle(skills, 'rt-1', failed.id, { status: 'failed', error: 'no daemon ✓\nsecond line' }, 'keep')
    await eventually('the failure heard', () => failed.wakes.length > 0)
    t.same(failed.wakes, [await store.get(skills, 'rt-1', failed.id)], 'the failure: the record get answers, params and error byte for byte')
    t.equal(failed.wakes[0]?.params, params)

    const completed = await watched(modelList, undefined)
    const result = JSON.stringify({ models: catalog, supported: true })
    await store.settle(modelList, 'rt-1', completed.id, { status: 'completed', result }, 'store')
    await eventually('the completion heard', () => completed.wakes.length > 0)
    t.same(completed.wakes, [await store.get(modelList, 'rt-1', completed.id)], 'the completion: the record get answers')
    t.equal(completed.wakes[0]?.result, result)
    t.equal(completed.wakes[0]?.kind, modelListKind)
  })
}

for (const backend of backends.slice(1)) {
  t.test(`${backend.name}: a record with more than carriedBytes of result and params wakes the polls without it`, async t => {
    const made = await backend.store(t)
    if (made === null) return
    const { store } = made
    t.teardown(made.close)
    const params = 'x'.repeat(carriedBytes / 2)
    const opened = await store.open(skills, 'rt-1', { coalesce: false, exclusive: false, useCache: false, params: JSON.stringify(params) })
    const id = (opened as { record: WorkRecord }).record.id
    await store.claim(skills, 'rt-1', 1)
    const wakes: Array<WorkRecord | undefined> = []
    await (store.watchSettled as NonNullable<WorkStore['watchSettled']>)('rt-1', id, record => { wakes.push(record) })
    // The result alone fits; with the params it does not.
    const result = JSON.stringify({ text: 'y'.repeat(carriedBytes / 2) })
    t.ok(result.length < carriedBytes, 'the result alone would fit')
    await store.settle(skills, 'rt-1', id, { status: 'completed', result }, 'keep')
    await eventually('the wake-up heard', () => wakes.length > 0)
    t.same(wakes, [undefined], 'woken, without the record')
  })
}

t.test('the model list\'s get replaced: its polls are woken without the record, and read through the replacement', async t => {
  const store = new MemoryModelListStore()
  const object = new ModelListObjectStore(store)
  const wakes: Array<WorkRecord | undefined> = []
  const watch = async (id: string): Promise<() => void> => await object.watchSettled('rt-1', id, record => { wakes.push(record) })
  const openClaim = async (rules: WorkRules): Promise<string> => {
    const { record } = await object.open(rules, 'rt-1', { coalesce: false, exclusive: false, useCache: false }) as { record: WorkRecord }
    await object.claim(rules, 'rt-1', 1)
    return record.id
  }
  const result = JSON.stringify({ models: catalog, supported: true })
  const builtIn = await openClaim(modelList)
  await watch(builtIn)
  await object.settle(modelList, 'rt-1', builtIn, { status: 'completed', result }, 'store')
  t.equal(wakes.pop()?.status, 'completed', 'the built-in get: the record carried')
  // Replaced after start-up: checked per signal.
  store.get = async () => null
  const replaced = await openClaim(modelList)
  await watch(replaced)
  await object.settle(modelList, 'rt-1', replaced, { status: 'completed', result }, 'store')
  t.same(wakes.splice(0), [undefined], 'the model list\'s get replaced: woken without it')
  const other = await openClaim(skills)
  await watch(other)
  await object.settle(skills, 'rt-1', other, { status: 'failed', error: 'no' }, 'keep')
  t.equal(wakes.pop()?.status, 'failed', 'another kind (not read through the model list\'s get): the record carried')
})

// Regression (issue 15, Cluster failover): a report landing just before a
// Cluster refused every query left its polls reading into the refusal, and
// answering 1-3 s after the report; one that read into a refusal longer than
// its storeTimeoutMs answered 503 for a request that completed.
for (const backend of pluginBackends('refused')) {
  t.test(`${backend.name}: regression: a held poll woken while the store refuses reads answers the report from its signal`, async t => {
    const made = await backend.setup(t)
    if (made === null) return
    const app: FastifyInstance = await hostApp(async app => { await app.register(fastifyModelList, { ...hooks, prefix: '/api', storeTimeoutMs: 200, ...made.options }) })
    t.teardown(async () => {
      await app.close()
      await made.close()
    })
    await listening(app.modelListStore)
    const { id } = (await app.inject(routes.create('rt-1'))).json<{ id: string }>()
    await app.claimPendingModelList('rt-1')
    const work = (app.modelListStore as ModelListOnWorkStore).workStore
    let reads = 0
    const get = work.get.bind(work)
    work.get = async (...args) => {
      reads++
      return await get(...args)
    }
    const poll = app.inject({ method: 'GET', url: `${routes.get('rt-1', id).url}?wait_ms=30000` })
    await eventually('the first read', () => reads === 1)
    // From here on every read is refused, as a Cluster refuses every query for a while after a failover.
    work.get = async () => { reads++; throw new Error('CLUSTERDOWN The cluster is down') }
    t.equal((await app.inject(routes.report('rt-1', id, { status: 'completed', models: catalog, supported: true }))).statusCode, 200)
    const answer = await poll
    t.equal(answer.statusCode, 200, 'answered the report, not 503')
    t.same(answer.json().models, catalog)
    t.equal(reads, 1, 'no read after the report')
  })
}
