// What a newcomer reads when something is wrong: option errors that show the
// value with its type, our own error for a second registration, a warning for
// durations that look like seconds, a clear 415 for a create body that is not
// JSON (issue 18).
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import fastifyModelList, { daemonWork, type FastifyModelListOptions } from '../lib/index'
import { shown } from '../lib/errors'
import { logCapture } from './helpers/host'

const getRuntime = async (): Promise<{ online: boolean }> => ({ online: true })
const authorizeDaemon = async (): Promise<boolean> => true
const hooks = { getRuntime, authorizeDaemon }
const result = Type.Object({ ok: Type.Boolean() })

async function registerError (options: unknown): Promise<Error & { code?: string }> {
  const app = Fastify()
  try {
    await app.register(fastifyModelList, options as FastifyModelListOptions)
    await app.ready()
  } catch (error) {
    return error as Error
  } finally {
    await app.close().catch(() => {})
  }
  throw new Error('register did not fail')
}

t.test('regression: an option error showed 30000 for the string \'30000\'', async t => {
  const error = await registerError({ ...hooks, pendingTimeoutMs: '30000' })
  t.equal(error.code, 'FST_MODEL_LIST_INVALID_OPTION')
  t.match(error.message, /pendingTimeoutMs must be a positive integer .*, got '30000' \(a string\)$/)
})

t.test('every option error shows the value it got, with its type', async t => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['a duration, a fraction', { ...hooks, storeTimeoutMs: 1.5 }, /storeTimeoutMs .* got 1\.5 \(a number\)$/],
    ['a duration, null', { ...hooks, retentionMs: null }, /retentionMs .* got null$/],
    ['a duration, a bigint', { ...hooks, runningTimeoutMs: 10n }, /runningTimeoutMs .* got 10n \(a bigint\)$/],
    ['a hook, a string', { getRuntime: 'getRuntime', authorizeDaemon }, /getRuntime must be a function, got 'getRuntime' \(a string\)$/],
    ['a hook, missing', { getRuntime }, /authorizeDaemon must be a function, got undefined$/],
    ['a hook, a promise', { getRuntime, authorizeDaemon: Promise.resolve(true) }, /authorizeDaemon must be a function, got a promise$/],
    ['coalesce, a string', { ...hooks, coalesce: 'true' }, /coalesce must be a boolean, got 'true' \(a string\)$/],
    ['store, a number', { ...hooks, store: 5 }, /store must be .*, got 5 \(a number\)$/],
    ['store, a symbol', { ...hooks, store: Symbol('memory') }, /store must be .*, got a symbol$/],
    ['keyPrefix, an array', { ...hooks, keyPrefix: ['a'] }, /keyPrefix must be .*, got an array$/],
    ['catalogCache, true', { ...hooks, catalogCache: true }, /catalogCache must be an object or false, got true \(a boolean\)$/],
    ['work, an object', { ...hooks, work: {} }, /work must be an array of daemonWork\(\.\.\.\) kinds, got an object$/],
    ['work, a function in it', { ...hooks, work: [() => {}] }, /work must be an array .*, got a function in it$/]
  ]
  for (const [name, options, message] of cases) {
    t.test(name, async t => {
      const error = await registerError(options)
      t.equal(error.code, 'FST_MODEL_LIST_INVALID_OPTION')
      t.match(error.message, message)
    })
  }

  t.test("daemonWork's fields", async t => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'Skill', result }, /name must match .*, got 'Skill' \(a string\)$/],
      [{ name: 'x', path: 'a/b', result }, /x\.path must be .*, got 'a\/b' \(a string\)$/],
      [{ name: 'x', params: 'skill', result }, /x\.params must be a TypeBox schema, got 'skill' \(a string\)$/],
      [{ name: 'x', result: null }, /x\.result must be a TypeBox schema, got null$/],
      [{ name: 'x', result, claimBatch: '10' }, /x\.claimBatch must be an integer from 1 to 50, got '10' \(a string\)$/],
      [{ name: 'x', result, coalesce: 'no' }, /x\.coalesce must be a boolean, got 'no' \(a string\)$/],
      [{ name: 'x', result, pendingTimeoutMs: '180000' }, /x\.pendingTimeoutMs .* got '180000' \(a string\)$/]
    ]
    for (const [options, message] of cases) {
      t.throws(() => daemonWork(options as Parameters<typeof daemonWork>[0]), message, message.source)
    }
  })

  t.test('a string with quotes in it stays readable', async t => {
    t.equal(shown("it's"), "'it's' (a string)")
    t.equal(shown('a\nb'), "'a\\nb' (a string)")
  })
})

t.test('regression: a second registration on one instance failed with FST_ERR_DEC_ALREADY_PRESENT', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(fastifyModelList, hooks)
  app.register(fastifyModelList, hooks)
  const error = await app.ready().then(() => null, (error: Error & { code?: string }) => error)
  t.equal(error?.code, 'FST_MODEL_LIST_INVALID_OPTION', 'our error, not Fastify\'s decorator error')
  t.match(error?.message, /fastify-model-list: registered twice on one instance/)
  t.match(error?.message, /its own encapsulated plugin/, 'it says how to mount it twice')
})

t.test('two mounts, each inside its own encapsulated plugin, keep their own stores', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  const mounts: FastifyInstance[] = []
  for (const prefix of ['/a', '/b']) {
    app.register(async scope => {
      await scope.register(fastifyModelList, { ...hooks, prefix })
      mounts.push(scope)
    })
  }
  await app.ready()
  t.not(mounts[0].modelListStore, mounts[1].modelListStore)
  const created = (await app.inject({ method: 'POST', url: '/a/runtimes/rt/models' })).json()
  t.equal((await app.inject({ method: 'GET', url: `/a/runtimes/rt/models/${created.id as string}` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: `/b/runtimes/rt/models/${created.id as string}` })).statusCode, 404, 'the other mount has its own store')
  t.same(await mounts[0].claimPendingModelList('rt'), { id: created.id })
  t.equal(await mounts[1].claimPendingModelList('rt'), null)
})

async function startupWarnings (t: Test, options: Partial<FastifyModelListOptions>): Promise<string[]> {
  const log = logCapture()
  const app = Fastify({ logger: { level: 'warn', stream: log.stream } })
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { ...hooks, ...options })
  await app.ready()
  return log.lines.filter(line => line.level === 40).map(line => line.msg)
}

t.test('a duration under one second is warned about at start-up: seconds given by mistake', async t => {
  const kind = daemonWork({ name: 'skill_import', result, pendingTimeoutMs: 180, runningTimeoutMs: 300_000 })
  const warnings = await startupWarnings(t, {
    pendingTimeoutMs: 30,
    runningTimeoutMs: 60,
    retentionMs: 120,
    catalogCache: { serveWindowMs: 86_400, revalidateAfterMs: 60 },
    storeTimeoutMs: 2,
    heartbeatProbeTimeoutMs: 1,
    work: [kind]
  })
  t.same(warnings, [
    'fastify-model-list: pendingTimeoutMs is 30 ms; durations are in milliseconds (30 seconds would be 30000)',
    'fastify-model-list: runningTimeoutMs is 60 ms; durations are in milliseconds (60 seconds would be 60000)',
    'fastify-model-list: retentionMs is 120 ms; durations are in milliseconds (120 seconds would be 120000)',
    'fastify-model-list: heartbeatProbeTimeoutMs is 1 ms; durations are in milliseconds (1 seconds would be 1000)',
    'fastify-model-list: storeTimeoutMs is 2 ms; durations are in milliseconds (2 seconds would be 2000)',
    'fastify-model-list: catalogCache.revalidateAfterMs is 60 ms; durations are in milliseconds (60 seconds would be 60000)',
    'fastify-model-list: skill_import.pendingTimeoutMs is 180 ms; durations are in milliseconds (180 seconds would be 180000)'
  ], 'each duration that looks like seconds, named; serveWindowMs 86400 (a day in seconds) passes as 86 s')
})

t.test('no warning for the defaults, durations of a second or more, or sub-second call bounds', async t => {
  t.same(await startupWarnings(t, {}), [])
  t.same(await startupWarnings(t, {
    pendingTimeoutMs: 1_000,
    runningTimeoutMs: 2_000,
    retentionMs: 5_000,
    storeTimeoutMs: 250,
    heartbeatProbeTimeoutMs: 100,
    catalogCache: false,
    work: [daemonWork({ name: 'local_skills', result })]
  }), [])
})

t.test('a create body that is not JSON answers a clear 415', async t => {
  const skillImport = daemonWork({ name: 'skill_import', params: Type.Object({ skill: Type.String() }), result })
  const cliUpdate = daemonWork({ name: 'cli_update', result })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyModelList, { ...hooks, work: [skillImport, cliUpdate] })
  const cases: Array<[string, string]> = [
    ['/runtimes/rt/models', 'or none'],
    ['/runtimes/rt/cli-update', 'or none'],
    ['/runtimes/rt/skill-import', '']
  ]
  for (const [url, none] of cases) {
    for (const contentType of ['text/plain', 'text/plain; charset=utf-8']) {
      const response = await app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, body: '{"skill":"s"}' })
      t.equal(response.statusCode, 415, `${url}, ${contentType}`)
      t.same(response.json(), {
        statusCode: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        error: 'Unsupported Media Type',
        message: `Unsupported Media Type: a create body is JSON (content-type application/json)${none === '' ? '' : ' or none'}, got text/plain`
      })
    }
  }
  const jsonString = await app.inject({ method: 'POST', url: '/runtimes/rt/models', headers: { 'content-type': 'application/json' }, body: '"hello"' })
  t.equal(jsonString.statusCode, 400, 'a JSON string is JSON: validation answers it')
})

t.test("a host's own parser that answers a string gets the 415 too; its object parsers keep working", async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.addContentTypeParser('application/x-raw', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
  app.addContentTypeParser('application/x-object', { parseAs: 'string' }, (_request, body, done) => { done(null, { force: body === 'force' }) })
  await app.register(fastifyModelList, hooks)
  const raw = await app.inject({ method: 'POST', url: '/runtimes/rt/models', headers: { 'content-type': 'application/x-raw' }, body: 'x' })
  t.equal(raw.statusCode, 415)
  t.match(raw.json().message, /got application\/x-raw$/)
  const parsed = await app.inject({ method: 'POST', url: '/runtimes/rt/models', headers: { 'content-type': 'application/x-object' }, body: 'force' })
  t.equal(parsed.statusCode, 200, "the host's parser ran and its object was validated")
})

t.test('an empty create body counts as none whatever its content type (fetch sends text/plain for a body of \'\')', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyModelList, hooks)
  for (const contentType of ['text/plain;charset=UTF-8', 'application/json', 'application/xml']) {
    const response = await app.inject({ method: 'POST', url: '/runtimes/rt/models', headers: { 'content-type': contentType }, body: '' })
    t.equal(response.statusCode, 200, contentType)
  }
})
