import t from 'tap'
import Fastify from 'fastify'
import { Type } from 'typebox'
import { Type as SinclairType } from '@sinclair/typebox'
import fastifyModelList, { daemonWork } from '../lib/index'
import { hooks } from './helpers/apps'

// Kinds declared with typebox 1 (the TypeBox of @fastify/type-provider-typebox
// 6) run as those declared with @sinclair/typebox 0.34: their schemas are
// JSON Schemas to the routes, whichever package made them.

const skillList = daemonWork({
  name: 'skill_list',
  params: Type.Object({ tag: Type.Optional(Type.String()), limit: Type.Integer({ minimum: 1 }) }),
  result: Type.Object({ skills: Type.Array(Type.Object({ name: Type.String(), kind: Type.Union([Type.Literal('local'), Type.Literal('remote')]) })) })
})
// One kind mixing the two packages.
const skillSync = daemonWork({
  name: 'skill_sync',
  params: SinclairType.Object({ since: SinclairType.Optional(SinclairType.String()) }),
  result: Type.Object({ synced: Type.Integer() })
})

async function app (): Promise<ReturnType<typeof Fastify>> {
  const app = Fastify()
  await app.register(fastifyModelList, { ...hooks, prefix: '/api', work: [skillList, skillSync] })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

t.test('a typebox 1 kind validates its params, hands them to the daemon and keeps its result', async t => {
  const server = await app()
  const refused = await server.inject({ method: 'POST', url: '/api/runtimes/rt/skill-list', payload: { limit: 0 } })
  t.equal(refused.statusCode, 400, 'params checked by the typebox 1 schema')
  t.match(refused.json().message, /limit/)
  t.equal((await server.inject({ method: 'POST', url: '/api/runtimes/rt/skill-list', payload: { limit: '5' } })).statusCode, 400, 'strictly: no coercion')

  const created = await server.inject({ method: 'POST', url: '/api/runtimes/rt/skill-list', payload: { limit: 5, tag: 'search', extra: true } })
  t.equal(created.statusCode, 200)
  const { id } = created.json()
  t.same(await server.claimPendingWork('rt'), { pending_skill_list: { id, params: { limit: 5, tag: 'search' } } }, 'unknown fields dropped, as for any kind')

  const report = (result: unknown): Promise<{ statusCode: number }> => server.inject({ method: 'POST', url: `/api/daemon/runtimes/rt/skill-list/${id as string}/result`, payload: { status: 'completed', result } })
  t.equal((await report({ skills: [{ name: 'search', kind: 'elsewhere' }] })).statusCode, 400, 'the result checked by the typebox 1 schema')
  t.equal((await report({ skills: [{ name: 'search', kind: 'local' }] })).statusCode, 200)
  const done = (await server.inject({ method: 'GET', url: `/api/runtimes/rt/skill-list/${id as string}` })).json()
  t.match(done, { status: 'completed', params: { limit: 5, tag: 'search' }, result: { skills: [{ name: 'search', kind: 'local' }] } })
})

t.test('a kind mixing the packages: @sinclair/typebox params, typebox 1 result', async t => {
  const server = await app()
  const store = server.daemonWorkStore(skillSync)
  const created = await store.create('rt', { since: '2026-01-01' })
  t.same(await store.claim('rt'), [{ id: created.id, params: { since: '2026-01-01' } }])
  const report = (result: unknown): Promise<{ statusCode: number }> => server.inject({ method: 'POST', url: `/api/daemon/runtimes/rt/skill-sync/${created.id}/result`, payload: { status: 'completed', result } })
  t.equal((await report({ synced: 1.5 })).statusCode, 400, 'an integer, as the typebox 1 result says')
  t.equal((await report({ synced: 3 })).statusCode, 200)
  t.match(await store.get('rt', created.id), { status: 'completed', result: { synced: 3 } })
})
