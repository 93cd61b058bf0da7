import t from 'tap'
import type { FastifyInstance } from 'fastify'
import fastifyRedis from '@fastify/redis'
import fastifyRedis9 from '@fastify/redis9'
import type Redis from 'ioredis'
import fastifyModelList from '../lib/index'
import { catalog } from './helpers/contract'
import { hooks, hostApp, normalize, runFlow, type Step } from './helpers/apps'
import { connect, connect6, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// Two API replicas (two Fastify apps, each with its own ioredis client) on the
// shared Redis must answer the flow exactly as one app does: POST and report on
// A, the heartbeat's claim and the poll on B. Each way runs on ioredis 5 with
// @fastify/redis 8 and on ioredis 6 with @fastify/redis 9.

type Register = (app: FastifyInstance, client: Redis, keyPrefix: string, plugin: typeof fastifyRedis) => Promise<void>

const ways: Record<string, Register> = {
  'the redis option': async (app, client, keyPrefix) => {
    await app.register(fastifyModelList, { store: 'redis', redis: client, keyPrefix, prefix: '/api', ...hooks })
  },
  '@fastify/redis as app.redis': async (app, client, keyPrefix, fastifyRedis) => {
    await app.register(fastifyRedis, { client })
    await app.register(fastifyModelList, { store: 'redis', keyPrefix, prefix: '/api', ...hooks })
  },
  'a namespaced @fastify/redis through the function form of options': async (app, client, keyPrefix, fastifyRedis) => {
    await app.register(fastifyRedis, { client, namespace: 'models' })
    await app.register(fastifyModelList, (parent) => ({
      redis: (parent as unknown as { redis: Record<string, Redis> }).redis.models,
      keyPrefix,
      prefix: '/api',
      ...hooks
    }))
  }
}

const versions = {
  'ioredis 5, @fastify/redis 8': { connect, plugin: fastifyRedis },
  'ioredis 6, @fastify/redis 9': { connect: connect6, plugin: fastifyRedis9 as unknown as typeof fastifyRedis }
}

const expected: Step[] = [
  { step: 'create', statusCode: 200, body: { id: '<id 1>', runtime_id: 'RT', status: 'pending', supported: true, created_at: '<time>', updated_at: '<time>' } },
  { step: 'join', statusCode: 200, body: { id: '<id 1>', runtime_id: 'RT', status: 'pending', supported: true, created_at: '<time>', updated_at: '<time>' } },
  { step: 'heartbeat', statusCode: 200, body: { status: 'ok', pending_model_list: { id: '<id 1>' } } },
  { step: 'heartbeat again', statusCode: 200, body: { status: 'ok' } },
  { step: 'report', statusCode: 200, body: { status: 'ok' } },
  { step: 'late report', statusCode: 200, body: { status: 'ok' } },
  { step: 'get', statusCode: 200, body: { id: '<id 1>', runtime_id: 'RT', status: 'completed', models: catalog, supported: true, created_at: '<time>', updated_at: '<time>' } }
]

function withRuntime (steps: Step[], rt: string): Step[] {
  return JSON.parse(JSON.stringify(steps).replaceAll(`"${rt}"`, '"RT"')) as Step[]
}

t.test('replicas on the shared Redis', async t => {
  if (!(await ready(t, needsRedis))) return
  const admin = connect()
  const clients: Redis[] = []
  const apps: FastifyInstance[] = []
  const prefixes: string[] = []
  t.teardown(async () => {
    for (const app of apps) await app.close()
    for (const prefix of prefixes) await deleteKeys(admin, prefix)
    for (const client of clients) client.disconnect()
    admin.disconnect()
  })
  for (const [version, { connect, plugin }] of Object.entries(versions)) {
    const client = (): Redis => {
      const made = connect()
      clients.push(made)
      return made
    }

    for (const [way, register] of Object.entries(ways)) {
      t.test(`${way} (${version})`, async t => {
        const keyPrefix = uniquePrefix('replicas')
        prefixes.push(keyPrefix)
        const [clientA, clientB, clientSingle] = [client(), client(), client()]
        const a = await hostApp(app => register(app, clientA, keyPrefix, plugin))
        const b = await hostApp(app => register(app, clientB, keyPrefix, plugin))
        const singlePrefix = uniquePrefix('single')
        prefixes.push(singlePrefix)
        const single = await hostApp(app => register(app, clientSingle, singlePrefix, plugin))
        apps.push(a, b, single)
        t.not(a.modelListStore, b.modelListStore, 'each replica has its own store')

        const rtReplicas = `rt-replicas-${process.pid}`
        const rtSingle = `rt-single-${process.pid}`
        const replicated = normalize(await runFlow({ post: a, join: b, heartbeat: b, report: a, get: b }, rtReplicas))
        const alone = normalize(await runFlow({ post: single, join: single, heartbeat: single, report: single, get: single }, rtSingle))
        t.same(withRuntime(replicated, rtReplicas), withRuntime(alone, rtSingle), 'two replicas answer as one app does')
        t.same(withRuntime(alone, rtSingle), expected, 'and that is the flow of API.md')

        for (const [name, app, own] of [['A', a, clientA], ['B', b, clientB], ['single', single, clientSingle]] as const) {
          await app.close()
          t.equal(own.status, 'ready', `${name}: app.close() leaves the host's client open`)
          t.equal(await own.ping(), 'PONG', `${name}: and it still answers`)
        }
      })
    }
  }
})

// Found by this file, fixed in d68b70e: the routes mounted under /api/api/.
t.test('routes mount under the register prefix, once', async t => {
  const app = await hostApp(async app => {
    await app.register(fastifyModelList, { store: 'memory', prefix: '/api', ...hooks } as Parameters<typeof fastifyModelList>[1] & { prefix: string })
  })
  t.teardown(() => app.close())
  const created = await app.inject({ method: 'POST', url: '/api/runtimes/rt-prefix/models' })
  t.equal(created.statusCode, 200, 'POST /api/runtimes/:runtimeId/models')
  const doubled = await app.inject({ method: 'POST', url: '/api/api/runtimes/rt-prefix/models' })
  t.equal(doubled.statusCode, 404, 'nothing under /api/api')
})
