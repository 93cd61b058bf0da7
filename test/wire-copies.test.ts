// The polls one wake-up answers all read one record: its result is parsed and
// its dates written once, and each answer still gets objects of its own.
import t from 'tap'
import fastifyModelList from '../lib/index'
import type { WorkRecord } from '../lib/store/contract'
import { copyJson, LastIso, LastParsed } from '../lib/kinds/wire-copies'
import { toRequest } from '../lib/kinds/model-list'
import { toWorkRequest } from '../lib/kinds/work-kind'
import { catalog } from './helpers/contract'
import { hooks, hostApp, routes } from './helpers/apps'

/** Counts JSON.parse calls while `work` runs. */
async function parses (work: () => unknown): Promise<number> {
  const parse = JSON.parse
  let calls = 0
  JSON.parse = (...args: Parameters<typeof JSON.parse>) => { calls++; return parse(...args) }
  try {
    await work()
  } finally {
    JSON.parse = parse
  }
  return calls
}

const record = (over: Partial<WorkRecord> = {}): WorkRecord => ({
  id: 'r-1',
  runtimeId: 'rt-1',
  kind: 'model_list',
  status: 'completed',
  createdAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
  updatedAt: Date.UTC(2026, 0, 2, 3, 4, 7, 8),
  deadline: 0,
  result: JSON.stringify({ supported: true, models: catalog }),
  ...over
})

t.test('copyJson: an equal value sharing no object with the original', async t => {
  const text = '{"a":[1,"x",null,true,{"b":{"c":[]}}],"__proto__":{"polluted":true},"n":-0.5}'
  const original = JSON.parse(text) as Record<string, unknown>
  const copy = copyJson(original) as Record<string, unknown>
  t.same(copy, original)
  t.equal(JSON.stringify(copy), text)
  t.equal(Object.getPrototypeOf(copy), Object.prototype, 'an own __proto__ key stays a key')
  t.notOk(Object.hasOwn(copy, 'polluted'))
  t.not(copy.a, original.a)
  t.not((copy.a as unknown[])[4], (original.a as unknown[])[4])
  t.not(copy.__proto__, original.__proto__)
  for (const primitive of [null, 1, 'x', false]) t.equal(copyJson(primitive), primitive)
})

t.test('LastParsed: the same text answers equal values sharing no object', async t => {
  const last = new LastParsed()
  const text = JSON.stringify({ models: catalog })
  const answers = [last.parse(text), last.parse(text), last.parse(text)] as Array<{ models: Array<{ label: string }> }>
  answers[0].models[0].label = 'changed by a hook'
  answers[1].models.pop()
  const next = last.parse(text)
  t.same(next, { models: catalog }, 'what a caller did to its answer is not in the next one')
  t.same(answers[2], { models: catalog })
  t.not(answers[2].models, (next as typeof answers[2]).models)
  t.same(last.parse('[1]'), [1], 'another text is parsed')
  t.same(last.parse(text), { models: catalog })
  t.throws(() => last.parse('{'), SyntaxError, 'a text that is not JSON throws, as JSON.parse does')
  t.throws(() => last.parse('{'), SyntaxError)
})

t.test('LastIso: the ISO string of each instant', async t => {
  const iso = new LastIso()
  t.equal(iso.format(0), '1970-01-01T00:00:00.000Z')
  t.equal(iso.format(0), '1970-01-01T00:00:00.000Z')
  t.equal(iso.format(1_767_323_045_006), '2026-01-02T03:04:05.006Z')
  t.throws(() => iso.format(NaN), RangeError)
})

t.test('toRequest and toWorkRequest: the same record read twice, two answers sharing no object', async t => {
  const first = toRequest(record())
  t.same(first, {
    id: 'r-1',
    runtime_id: 'rt-1',
    status: 'completed',
    supported: true,
    created_at: '2026-01-02T03:04:05.006Z',
    updated_at: '2026-01-02T03:04:07.008Z',
    models: catalog
  })
  const models = first.models as Array<{ id: string }>
  models[0].id = 'changed'
  const second = toRequest(record())
  t.same(second.models, catalog)
  t.same(toRequest(record({ updatedAt: 0, status: 'failed', result: undefined, error: 'no' })), {
    id: 'r-1', runtime_id: 'rt-1', status: 'failed', supported: true, created_at: '2026-01-02T03:04:05.006Z', updated_at: '1970-01-01T00:00:00.000Z', error: 'no'
  })

  const work = record({ kind: 'cli_update', params: '{"to":"1.2"}', result: '{"ok":true}' })
  const one = toWorkRequest(work)
  const two = toWorkRequest(work)
  t.same(two, { id: 'r-1', runtime_id: 'rt-1', status: 'completed', created_at: '2026-01-02T03:04:05.006Z', updated_at: '2026-01-02T03:04:07.008Z', params: { to: '1.2' }, result: { ok: true } })
  t.not(one.params, two.params)
  t.not(one.result, two.result)
})

t.test('polls woken together: the stored result parsed once, each answer its own, a host hook changing one changes no other', async t => {
  const app = await hostApp(async app => {
    await app.register(fastifyModelList, { ...hooks, prefix: '/api' })
    // The host's hook changes the payload of the first answer.
    let changed = false
    app.addHook('preSerialization', async (_request, _reply, payload: { models?: Array<{ label: string }> }) => {
      if (!changed && payload.models !== undefined) {
        changed = true
        payload.models[0].label = 'changed by a hook'
      }
      return payload
    })
  })
  t.teardown(async () => { await app.close() })
  const { id } = (await app.inject(routes.create('rt-1'))).json<{ id: string }>()
  await app.claimPendingModelList('rt-1')
  const polls = 20
  const answers = Array.from({ length: polls }, async () => await app.inject({ method: 'GET', url: `${routes.get('rt-1', id).url}?wait_ms=30000` }))
  for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
  const calls = await parses(async () => {
    t.equal((await app.inject(routes.report('rt-1', id, { status: 'completed', models: catalog, supported: true }))).statusCode, 200)
    await Promise.all(answers)
  })
  const bodies = (await Promise.all(answers)).map(res => res.json<{ models: Array<{ label: string }> }>())
  // The report's body; for the answers at most two: the first answer's own and the one kept apart.
  t.ok(calls <= 3, `${calls} JSON.parse calls for ${polls} polls`)
  t.equal(bodies.filter(body => body.models[0].label === 'changed by a hook').length, 1, 'the hook changed one answer')
  t.equal(bodies.filter(body => JSON.stringify(body.models) === JSON.stringify(catalog)).length, polls - 1, 'the others are as stored')
})
