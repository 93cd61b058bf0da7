// A kind whose params schema accepts `{}` takes a POST without a body as `{}`,
// as the model list's create takes none (issue 18).
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import fastifyModelList, { daemonWork } from '../lib/index'

const hooks = { getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true }
const result = Type.Object({ skills: Type.Array(Type.String()) })
const localSkills = daemonWork({ name: 'local_skills', params: Type.Object({ folder: Type.Optional(Type.String({ maxLength: 256 })) }), result })
const skillImport = daemonWork({ name: 'skill_import', params: Type.Object({ skill: Type.String() }), result, coalesce: false })

async function host (t: Test): Promise<ReturnType<typeof Fastify>> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { ...hooks, work: [localSkills, skillImport] })
  return app
}

t.test('regression: a kind whose params are all optional refused a POST without a body (400 body must be object)', async t => {
  const app = await host(t)
  const response = await app.inject({ method: 'POST', url: '/runtimes/rt/local-skills' })
  t.equal(response.statusCode, 200)
  t.same(response.json().params, {}, 'taken as {}')
  t.same(await app.claimPendingWork('rt'), { pending_local_skills: { id: response.json().id, params: {} } }, 'the daemon receives {}')
})

t.test('no body, an empty JSON body, JSON null and {} are one request (equal params coalesce)', async t => {
  const app = await host(t)
  const ids = new Set<string>()
  for (const request of [
    {},
    { headers: { 'content-type': 'application/json' }, body: '' },
    { headers: { 'content-type': 'application/json' }, body: 'null' },
    { headers: { 'content-type': 'application/json' }, body: '{}' }
  ]) {
    const response = await app.inject({ method: 'POST', url: '/runtimes/rt/local-skills', ...request })
    t.equal(response.statusCode, 200, JSON.stringify(request))
    t.same(response.json().params, {})
    ids.add(response.json().id)
  }
  t.equal(ids.size, 1)
  const other = await app.inject({ method: 'POST', url: '/runtimes/rt/local-skills', payload: { folder: 'team' } })
  t.same(other.json().params, { folder: 'team' }, 'params given are kept')
  t.not(other.json().id, [...ids][0])
})

t.test('a kind whose params need a field still answers 400 without a body', async t => {
  const app = await host(t)
  for (const request of [{}, { headers: { 'content-type': 'application/json' }, body: 'null' }]) {
    const response = await app.inject({ method: 'POST', url: '/runtimes/rt/skill-import', ...request })
    t.equal(response.statusCode, 400)
    t.equal(response.json().code, 'FST_ERR_VALIDATION')
  }
})

t.test('the params are still checked strictly when a body is given', async t => {
  const app = await host(t)
  const response = await app.inject({ method: 'POST', url: '/runtimes/rt/local-skills', payload: { folder: 5 } })
  t.equal(response.statusCode, 400)
  t.match(response.json().message, /body\/folder must be string/)
})
