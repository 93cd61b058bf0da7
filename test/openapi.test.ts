import Fastify, { type FastifyError } from 'fastify'
import swagger from '@fastify/swagger'
import SwaggerParser from '@apidevtools/swagger-parser'
import t from 'tap'
import { Type } from '@sinclair/typebox'
import fastifyModelList, { daemonWork, ModelEntry, ModelListRequest, type DaemonWork } from '../lib/index'
import { work } from './helpers/kinds'

// The OpenAPI document @fastify/swagger generates from our routes: worth
// publishing as it is (tags, summaries, operation ids, every error answer).

interface Operation {
  tags?: string[]
  summary?: string
  operationId?: string
  description?: string
  responses: Record<string, { description: string, content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }>
}

t.test('the OpenAPI document of the routes', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, {
    openapi: { info: { title: 'host', version: '1.0.0' } },
    // As the README shows: components named by the shapes' $id.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` }
  })
  await app.register(fastifyModelList, { prefix: '/api', getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true })
  await app.ready()
  const document = app.swagger() as unknown as { paths: Record<string, Record<string, Operation>>, components: { schemas: Record<string, { title?: string }> } }

  const expected = {
    'post /api/runtimes/{runtimeId}/models': { operationId: 'createModelListRequest', errors: ['400', '404', '413', '415', '503'] },
    'get /api/runtimes/{runtimeId}/models/{requestId}': { operationId: 'getModelListRequest', errors: ['400', '404', '503'] },
    'post /api/daemon/runtimes/{runtimeId}/models/{requestId}/result': { operationId: 'reportModelList', errors: ['400', '404', '413', '415', '503'] }
  }
  const found = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map(method => `${method} ${path}`))
  t.same(found.sort(), Object.keys(expected).sort(), 'the three routes, under the register prefix')

  for (const [key, { operationId, errors }] of Object.entries(expected)) {
    const [method, path] = key.split(' ')
    const operation = document.paths[path][method]
    t.same(operation.tags, ['model-list'], `${key}: tagged`)
    t.equal(operation.operationId, operationId, `${key}: operation id`)
    t.type(operation.summary, 'string', `${key}: summary`)
    t.ok((operation.description ?? '').length > 20, `${key}: description`)
    t.same(Object.keys(operation.responses).sort(), ['200', ...errors].sort(), `${key}: 200 and each error answer`)
    for (const status of errors) {
      const response = operation.responses[status]
      t.match(response.description, /FST_/, `${key} ${status}: names its codes`)
      t.same(Object.keys(response.content?.['application/json'].schema.properties ?? {}).sort(), ['code', 'error', 'message', 'statusCode'], `${key} ${status}: Fastify's error shape`)
    }
  }
  t.match(document.paths['/api/runtimes/{runtimeId}/models'].post.description, /body is optional/)
  await t.resolves(SwaggerParser.validate(structuredClone(document) as never), 'a valid OpenAPI 3.0.3 document')

  // A route's own body and 200 answer stay inline (swagger lifts nested $ids only).
  const shapes = ['ModelEntry', 'ModelListStatus', 'ModelServiceTier', 'ModelThinking', 'ThinkingLevel']
  t.same(Object.keys(document.components.schemas).sort(), shapes, 'the nested wire shapes are shared component schemas')
  const text = JSON.stringify(document.paths)
  t.equal(text.match(/"supported_levels"/g), null, 'ModelEntry is referenced, not written out per route')
  t.match(text, /"\$ref":"#\/components\/schemas\/ModelEntry"/)
  t.match(text, /"\$ref":"#\/components\/schemas\/ModelListStatus"/)
})

const skillImport = daemonWork({
  name: 'skill_import',
  path: 'skill-imports',
  params: Type.Object({ skill: Type.String({ maxLength: 256 }) }),
  result: Type.Object({ imported: Type.Boolean() }),
  claimBatch: 10
})
const cliUpdate = daemonWork({ name: 'cli_update', result: Type.Object({ version: Type.String() }), exclusive: true })
const localSkills = daemonWork({ name: 'local_skills', params: Type.Object({ folder: Type.Optional(Type.String()) }), result: Type.Object({ skills: Type.Array(Type.String()) }) })

interface Document { openapi: string, paths: Record<string, Record<string, Operation>> }

async function openapiDocument (version: string, work: readonly DaemonWork[]): Promise<Document> {
  const app = Fastify()
  try {
    await app.register(swagger, {
      openapi: { openapi: version, info: { title: 'host', version: '1.0.0' } },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` }
    })
    await app.register(fastifyModelList, { prefix: '/api', getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true, work })
    await app.ready()
    // A copy: the parser dereferences what it is given.
    return JSON.parse(JSON.stringify(app.swagger()))
  } finally {
    await app.close()
  }
}

for (const version of ['3.0.3', '3.1.0']) {
  t.test(`the OpenAPI ${version} document with kinds declared is valid (regression: \`if\` in every report body made 3.0.3 invalid)`, async t => {
    const document = await openapiDocument(version, [skillImport, cliUpdate, localSkills])
    t.equal(document.openapi, version)
    await t.resolves(SwaggerParser.validate(structuredClone(document) as never), 'valid for @apidevtools/swagger-parser')
    t.notMatch(JSON.stringify(document), /"if":/, 'no `if` anywhere')
    const report = document.paths['/api/daemon/runtimes/{runtimeId}/cli-update/{requestId}/result'].post as Operation & { requestBody: { content: Record<string, { schema: { description?: string } }> } }
    t.match(report.requestBody.content['application/json'].schema.description, /`result` is required when `status` is `completed`/, 'the rule is said in words')
  })
}

t.test('the document without kinds is valid too', async t => {
  await t.resolves(SwaggerParser.validate(await openapiDocument('3.0.3', []) as never))
})

t.test('a tag per kind, and operation ids in one style for every kind', async t => {
  const document = await openapiDocument('3.0.3', [skillImport, cliUpdate, localSkills])
  const operations = Object.values(document.paths).flatMap(methods => Object.values(methods))
  const byTag: Record<string, string[]> = {}
  for (const operation of operations) for (const tag of operation.tags ?? []) (byTag[tag] ??= []).push(operation.operationId as string)
  t.same(byTag, {
    'model-list': ['createModelListRequest', 'getModelListRequest', 'reportModelList'],
    'skill-import': ['createSkillImportRequest', 'getSkillImportRequest', 'reportSkillImport'],
    'cli-update': ['createCliUpdateRequest', 'getCliUpdateRequest', 'reportCliUpdate'],
    'local-skills': ['createLocalSkillsRequest', 'getLocalSkillsRequest', 'reportLocalSkills']
  })
  for (const operation of operations) t.equal(operation.tags?.length, 1, `${operation.operationId as string}: one tag`)
})

t.test('two kinds whose operation ids would be the same are refused at start-up', async t => {
  for (const [a, b] of [['skill_import', 'skill__import'], ['model__list', undefined]]) {
    const work = [a, b].filter(name => name !== undefined).map((name, i) => daemonWork({ name: name as string, path: `p${i}`, result: Type.Object({}) }))
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(fastifyModelList, { getRuntime: async () => null, authorizeDaemon: async () => false, work })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_MODEL_LIST_INVALID_OPTION', message: /operation ids \(create(SkillImport|ModelList)Request\) are taken/ }, work.map(kind => kind.name).join(', '))
  }
})

t.test("a host's own routes can use the exported shapes twice with Fastify's default Ajv", async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.post('/a', { schema: { body: ModelEntry, response: { 200: ModelListRequest } } }, async () => ({ id: 'i', runtime_id: 'r', status: 'pending', supported: true, created_at: 'c', updated_at: 'u', extra: 1 }))
  app.post('/b', { schema: { body: Type.Object({ models: Type.Array(ModelEntry) }) } }, async () => ({ ok: true }))
  await app.register(fastifyModelList, { getRuntime: async () => null, authorizeDaemon: async () => false })
  const a = await app.inject({ method: 'POST', url: '/a', payload: { id: 'm', label: 'M' } })
  t.same(a.json(), { id: 'i', runtime_id: 'r', status: 'pending', supported: true, created_at: 'c', updated_at: 'u' })
  t.equal((await app.inject({ method: 'POST', url: '/b', payload: { models: [{ id: 'm' }] } })).statusCode, 400)
})

t.test("error answers keep the host error handler's own fields", async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.setErrorHandler(async (error: FastifyError, _request, reply) => {
    await reply.code(error.statusCode ?? 500).send({ problem: error.code, detail: error.message })
  })
  await app.register(fastifyModelList, { prefix: '/api', getRuntime: async () => null, authorizeDaemon: async () => false })
  const response = await app.inject({ method: 'POST', url: '/api/runtimes/rt/models' })
  t.equal(response.statusCode, 404)
  t.same(response.json(), { problem: 'FST_MODEL_LIST_RUNTIME_NOT_FOUND', detail: response.json().detail })
  t.type(response.json().detail, 'string')
})

// Found by test/fuzz-kinds.test.ts: creates answered 413 and every POST 415
// without their schemas saying so, and a kind that is not exclusive documented
// a 409 it never answers.
t.test('regression: every status a declared kind\'s route answers is documented, and only those', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 'host', version: '1.0.0' } } })
  await app.register(fastifyModelList, { prefix: '/api', work, getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true })
  await app.ready()
  const { paths } = app.swagger() as unknown as { paths: Record<string, Record<string, Operation>> }
  const codes = (path: string, method: string): string[] => Object.keys(paths[path][method].responses).sort()
  t.same(codes('/api/runtimes/{runtimeId}/cli-update', 'post'), ['200', '400', '404', '409', '413', '415', '503'], 'an exclusive kind\'s create: 409 too')
  t.same(codes('/api/runtimes/{runtimeId}/skill-imports', 'post'), ['200', '400', '404', '413', '415', '503'], 'a kind that is not exclusive never answers 409')
  t.same(codes('/api/daemon/runtimes/{runtimeId}/skill-imports/{requestId}/result', 'post'), ['200', '400', '404', '413', '415', '503'])
  for (const [url, payload] of [['/api/runtimes/rt/skill-imports', { skill: 'x'.repeat(1_100_000) }], ['/api/runtimes/rt/models', { pad: 'x'.repeat(1_100_000) }]] as const) {
    t.equal((await app.inject({ method: 'POST', url, payload })).statusCode, 413, `${url}: past 1 MiB`)
    t.equal((await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' })).statusCode, 415, `${url}: not JSON`)
  }
})
