// Registering: every start-up failure API.md lists (each naming its option),
// the store choice, the function form of options, the prefix, the decorators,
// and what app.close() closes.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyRedis from '@fastify/redis'
import { mockRedis } from './helpers/redis-mock'
import Redis, { Cluster } from 'ioredis'
import { once } from 'node:events'
import fastifyModelList, {
  MemoryModelListStore,
  RedisModelListStore,
  type FastifyModelListOptions,
  type ModelListStore
} from '../lib/index'
import { Clock } from './helpers/clock'
import { hostHooks, methods, spyStore } from './helpers/host'
import { connect, needsRedis, ready } from './helpers/redis'

const hooks = (): Pick<FastifyModelListOptions, 'getRuntime' | 'authorizeDaemon'> => {
  const { getRuntime, authorizeDaemon } = hostHooks()
  return { getRuntime, authorizeDaemon }
}

// ioredis-mock shares data between clients of one host:port: a port per client
// keeps each test's data its own, so finding keys in a client proves that
// client was the one used.
let nextPort = 40_000 + (process.pid % 10_000)
function mockClient (): Redis & { closeCalls: string[] } {
  const client = mockRedis({ port: nextPort++ }) as Redis & { closeCalls: string[] }
  // @fastify/redis waits for 'ready' unless the client says it is.
  ;(client as { status: string }).status = 'ready'
  // ioredis-mock keeps answering after quit/disconnect, so watch those calls too.
  client.closeCalls = []
  for (const method of ['quit', 'disconnect'] as const) {
    const original = client[method].bind(client) as (...args: unknown[]) => unknown
    ;(client as any)[method] = (...args: unknown[]) => { client.closeCalls.push(method); return original(...args) }
  }
  return client
}

const allOptionNames = [
  'getRuntime', 'authorizeDaemon', 'store', 'redis', 'keyPrefix', 'pendingTimeoutMs', 'runningTimeoutMs',
  'retentionMs', 'heartbeatProbeTimeoutMs', 'storeTimeoutMs', 'now', 'coalesce', 'catalogCache', 'notifyPendingWork'
]

/** The option named first in a message. */
function firstNamed (message: string): string | undefined {
  let first: { name: string, at: number } | undefined
  for (const name of allOptionNames) {
    const at = message.search(new RegExp(`\\b${name}\\b`))
    if (at !== -1 && (first === undefined || at < first.at)) first = { name, at }
  }
  return first?.name
}

/** The error `register` fails with at start-up (app.ready()); throws when it does not fail. */
async function registerError (
  options: unknown,
  before?: (app: FastifyInstance) => Promise<void> | void
): Promise<Error> {
  const app = Fastify()
  try {
    if (before !== undefined) await before(app)
    app.register(fastifyModelList, options as FastifyModelListOptions)
    await app.ready()
  } catch (error) {
    return error as Error
  } finally {
    await app.close().catch(() => {})
  }
  throw new Error('register did not fail')
}

async function assertFails (t: Test, options: unknown, names: string[], before?: (app: FastifyInstance) => Promise<void> | void): Promise<Error | undefined> {
  let error: Error
  try {
    error = await registerError(options, before)
  } catch (notFailing) {
    t.fail((notFailing as Error).message)
    return undefined
  }
  t.type(error, Error, 'register fails')
  for (const name of names) t.match(error.message, new RegExp(`\\b${name}\\b`), `the message names ${name}`)
  return error
}

async function started (t: Test, options: unknown, before?: (app: FastifyInstance) => Promise<void> | void): Promise<FastifyInstance> {
  const app = Fastify()
  if (before !== undefined) await before(app)
  await app.register(fastifyModelList, options as FastifyModelListOptions)
  await app.ready()
  t.teardown(() => app.close())
  return app
}

t.test('register fails at start-up, naming the option', async t => {
  t.test('a missing or non-function hook', async t => {
    const { getRuntime, authorizeDaemon } = hooks()
    const cases: Array<[string, unknown, string]> = [
      ['no getRuntime', { authorizeDaemon }, 'getRuntime'],
      ['getRuntime: a string', { getRuntime: 'getRuntime', authorizeDaemon }, 'getRuntime'],
      ['getRuntime: an object', { getRuntime: {}, authorizeDaemon }, 'getRuntime'],
      ['getRuntime: null', { getRuntime: null, authorizeDaemon }, 'getRuntime'],
      ['no authorizeDaemon', { getRuntime }, 'authorizeDaemon'],
      ['authorizeDaemon: true', { getRuntime, authorizeDaemon: true }, 'authorizeDaemon'],
      ['authorizeDaemon: a promise', { getRuntime, authorizeDaemon: Promise.resolve(true) }, 'authorizeDaemon'],
      ['no options at all', {}, 'getRuntime']
    ]
    for (const [name, options, option] of cases) {
      t.test(name, async t => {
        const error = await assertFails(t, options, [option])
        if (error !== undefined) t.equal(firstNamed(error.message), option)
      })
    }
  })

  t.test("store 'redis' with no client anywhere", async t => {
    await assertFails(t, { ...hooks(), store: 'redis' }, ['redis'])
    await assertFails(t, { ...hooks(), store: 'redis', redis: undefined }, ['redis'])
  })

  t.test('a redis key present but undefined or null (redis: app.redis before @fastify/redis): never the memory store', async t => {
    const cases: Array<[string, unknown]> = [
      ['redis: undefined', { ...hooks(), redis: undefined }],
      ['redis: null', { ...hooks(), redis: null }],
      ["store 'redis', redis: null", { ...hooks(), store: 'redis', redis: null }],
      ["store 'memory', redis: undefined", { ...hooks(), store: 'memory', redis: undefined }],
      ['a store object, redis: undefined', { ...hooks(), store: new MemoryModelListStore(), redis: undefined }],
      ["the function form, app.redis not registered yet", (app: FastifyInstance & { redis?: unknown }) => ({ ...hooks(), redis: app.redis })]
    ]
    for (const [name, options] of cases) {
      t.test(name, async t => {
        const error = await assertFails(t, options, ['redis'])
        if (error === undefined) return
        t.equal(firstNamed(error.message), 'redis')
        t.match(error.message, /register @fastify\/redis before this plugin/, 'the message says what to do')
      })
    }
    t.test('the function form after @fastify/redis starts on its client', async t => {
      const client = mockClient()
      const app = await started(t, (app: FastifyInstance & { redis?: unknown }) => ({ ...hooks(), redis: app.redis }), async app => { await app.register(fastifyRedis, { client }) })
      t.type(app.modelListStore, RedisModelListStore)
    })
  })

  t.test('a client that has already ended', async t => {
    // lazyConnect: no server needed to end them.
    const ended = new Redis({ lazyConnect: true })
    ended.disconnect()
    const endedCluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true })
    endedCluster.disconnect()
    for (const [name, client] of [['a Redis', ended], ['a Cluster', endedCluster]] as const) {
      t.equal(client.status, 'end', `${name} disconnected is ended`)
      t.test(`${name}, as the redis option`, async t => {
        const error = await assertFails(t, { ...hooks(), redis: client }, ['redis'])
        if (error !== undefined) t.match(error.message, /already ended/)
      })
      t.test(`${name}, as app.redis`, async t => {
        await assertFails(t, { ...hooks(), store: 'redis' }, ['redis'], app => { app.decorate('redis', client as never) })
      })
    }
    t.test('a client that quit() on a real Redis', async t => {
      if (!(await ready(t, needsRedis))) return
      const client = connect()
      await client.quit()
      await once(client, 'end')
      await assertFails(t, { ...hooks(), redis: client }, ['redis'])
    })
  })

  t.test("store 'memory' beside a redis client", async t => {
    await assertFails(t, { ...hooks(), store: 'memory', redis: mockClient() }, ['redis', 'store'])
  })

  t.test('a store object beside an option that shapes a built-in store', async t => {
    const beside: Record<string, unknown> = {
      keyPrefix: 'model-list',
      pendingTimeoutMs: 30_000,
      runningTimeoutMs: 60_000,
      retentionMs: 120_000,
      now: () => Date.now(),
      redis: mockClient()
    }
    for (const [name, value] of Object.entries(beside)) {
      t.test(name, async t => {
        const store = spyStore(new MemoryModelListStore())
        await assertFails(t, { ...hooks(), store, [name]: value }, [name])
        await store.close()
      })
    }
  })

  t.test('a store object missing a method', async t => {
    for (const method of methods) {
      t.test(method, async t => {
        const store = spyStore(new MemoryModelListStore()) as unknown as Record<string, unknown>
        delete store[method]
        await assertFails(t, { ...hooks(), store }, ['store', method])
      })
      t.test(`${method} not a function`, async t => {
        const store = { ...spyStore(new MemoryModelListStore()), [method]: 'nope' }
        await assertFails(t, { ...hooks(), store }, ['store', method])
      })
    }
  })

  t.test('an unknown store', async t => {
    for (const store of ['postgres', 'Memory', '', 42, null, true]) {
      t.test(JSON.stringify(store), async t => {
        await assertFails(t, { ...hooks(), store }, ['store'])
      })
    }
  })

  t.test('a duration that is not a positive integer up to 2^31-1', async t => {
    const durations = ['heartbeatProbeTimeoutMs', 'storeTimeoutMs', 'pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs']
    // null is a value given, not a default asked for.
    const bad: unknown[] = [0, -1, 1.5, '100', 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY, 10n, null]
    for (const name of durations) {
      t.test(name, async t => {
        for (const value of bad) {
          const error = await assertFails(t, { ...hooks(), [name]: value }, [name])
          if (error !== undefined) t.equal(firstNamed(error.message), name, `${String(value)}: ${name} is the option named first`)
        }
      })
    }
    t.test('the lifecycle durations are checked for the Redis store too', async t => {
      for (const name of ['pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs']) {
        const error = await assertFails(t, { ...hooks(), redis: mockClient(), [name]: 0 }, [name])
        if (error !== undefined) t.equal(firstNamed(error.message), name)
      }
    })
  })

  t.test('the bounds of a duration are accepted (1 and 2^31-1)', async t => {
    const max = 2 ** 31 - 1
    for (const options of [
      { heartbeatProbeTimeoutMs: 1, storeTimeoutMs: 1 },
      { heartbeatProbeTimeoutMs: max, storeTimeoutMs: max },
      { pendingTimeoutMs: 1, runningTimeoutMs: 1, retentionMs: 2 },
      { pendingTimeoutMs: max - 1, runningTimeoutMs: max - 1, retentionMs: max }
    ]) {
      const app = await started(t, { ...hooks(), ...options })
      t.type(app.modelListStore, MemoryModelListStore, JSON.stringify(options))
    }
  })

  t.test('retentionMs not greater than both lifecycle timeouts', async t => {
    const cases: Array<Record<string, number>> = [
      { retentionMs: 30_000 }, // equal to the default pendingTimeoutMs
      { retentionMs: 60_000 }, // equal to the default runningTimeoutMs
      { retentionMs: 45_000 }, // between them
      { retentionMs: 1000 },
      { pendingTimeoutMs: 200_000 }, // beyond the default retention
      { runningTimeoutMs: 120_000 },
      { pendingTimeoutMs: 10_000, runningTimeoutMs: 20_000, retentionMs: 20_000 },
      { pendingTimeoutMs: 20_000, runningTimeoutMs: 10_000, retentionMs: 20_000 }
    ]
    for (const options of cases) {
      t.test(JSON.stringify(options), async t => {
        const error = await assertFails(t, { ...hooks(), ...options }, ['retentionMs'])
        if (error !== undefined) t.equal(firstNamed(error.message), 'retentionMs')
      })
    }
    t.test('just greater than both starts', async t => {
      const app = await started(t, { ...hooks(), pendingTimeoutMs: 10_000, runningTimeoutMs: 20_000, retentionMs: 20_001 })
      t.type(app.modelListStore, MemoryModelListStore)
    })
  })

  t.test("a keyPrefix with '{' or '}'", async t => {
    for (const keyPrefix of ['{model-list}', 'model{list', 'model}list', '{']) {
      t.test(`${keyPrefix}, redis store`, async t => {
        await assertFails(t, { ...hooks(), redis: mockClient(), keyPrefix }, ['keyPrefix'])
      })
    }
    t.test('with the client from app.redis', async t => {
      const client = mockClient()
      await assertFails(t, { ...hooks(), store: 'redis', keyPrefix: 'a{b}' }, ['keyPrefix'], app => { app.decorate('redis', client as never) })
    })
    t.test("with store 'memory' (the prefix shapes nothing there)", async t => {
      let error: Error | undefined
      try {
        error = await registerError({ ...hooks(), store: 'memory', keyPrefix: '{model-list}' })
      } catch {}
      t.ok(error !== undefined && /\bkeyPrefix\b/.test(error.message), "register fails naming keyPrefix (API.md lists the braces without a condition on the store)")
    })
  })

  t.test('a catalog window that is not positive, or revalidateAfterMs > serveWindowMs', async t => {
    const bad: unknown[] = [
      { serveWindowMs: 0 }, { serveWindowMs: -1 }, { revalidateAfterMs: 0 }, { serveWindowMs: 1.5 },
      { serveWindowMs: '1000' }, { serveWindowMs: null }, { serveWindowMs: 1_000, revalidateAfterMs: 1_001 },
      { serveWindowMs: 30_000 }, true, null, 'yes', [], 0
    ]
    for (const catalogCache of bad) {
      t.test(JSON.stringify(catalogCache), async t => {
        await assertFails(t, { ...hooks(), catalogCache }, ['catalogCache'])
        await assertFails(t, { ...hooks(), redis: mockClient(), catalogCache }, ['catalogCache'])
      })
    }
    t.test('equal windows, a partial object, false and the defaults start', async t => {
      for (const catalogCache of [{ serveWindowMs: 1_000, revalidateAfterMs: 1_000 }, { revalidateAfterMs: 1 }, { serveWindowMs: 60_000 }, {}, false, undefined]) {
        const app = await started(t, { ...hooks(), catalogCache })
        t.ok(app.modelListStore, JSON.stringify(catalogCache))
      }
    })
  })

  t.test('catalog windows beside a store object (false is allowed)', async t => {
    const store = spyStore(new MemoryModelListStore())
    await assertFails(t, { ...hooks(), store, catalogCache: { serveWindowMs: 1_000 } }, ['catalogCache'])
    const app = await started(t, { ...hooks(), store, catalogCache: false })
    t.equal(app.modelListStore, store)
  })

  t.test('notifyPendingWork not a function', async t => {
    for (const notifyPendingWork of ['yes', 1, {}, null]) {
      t.test(JSON.stringify(notifyPendingWork), async t => {
        await assertFails(t, { ...hooks(), notifyPendingWork }, ['notifyPendingWork'])
      })
    }
  })

  t.test('coalesce not a boolean', async t => {
    for (const coalesce of ['true', 1, 0, {}, 'false', null]) {
      t.test(JSON.stringify(coalesce), async t => {
        await assertFails(t, { ...hooks(), coalesce }, ['coalesce'])
      })
    }
  })
})

t.test('choosing the store', async t => {
  t.test('the default store is memory', async t => {
    const app = await started(t, hooks())
    t.type(app.modelListStore, MemoryModelListStore)
  })

  t.test("store: 'memory'", async t => {
    const app = await started(t, { ...hooks(), store: 'memory' })
    t.type(app.modelListStore, MemoryModelListStore)
  })

  t.test('the memory store the plugin builds uses the lifecycle options and the clock', async t => {
    const clock = new Clock()
    const app = await started(t, { ...hooks(), pendingTimeoutMs: 5000, runningTimeoutMs: 6000, retentionMs: 7000, now: clock.now })
    const created = await app.modelListStore.create('rt-1')
    t.equal(created.created_at, new Date(clock.t).toISOString())
    clock.advance(5001)
    t.equal((await app.modelListStore.get('rt-1', created.id))?.error, 'daemon did not respond within 5 seconds')
    clock.advance(7000)
    t.equal(await app.modelListStore.get('rt-1', created.id), null)
  })

  t.test("store: 'redis' uses app.redis when the redis option is absent (decorated by the host)", async t => {
    const client = mockClient()
    const app = await started(t, { ...hooks(), store: 'redis' }, app => { app.decorate('redis', client as never) })
    t.type(app.modelListStore, RedisModelListStore)
    const res = await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })
    t.equal(res.statusCode, 200)
    const { id } = res.json()
    t.strictSame((await client.keys('model-list:*')).sort(), ['model-list:{rt-1}:model_list:queue', 'model-list:{rt-1}:model_list:seq', `model-list:{rt-1}:model_list:req:${id}`].sort(), 'its keys are in app.redis')
  })

  t.test("store: 'redis' uses app.redis from @fastify/redis", async t => {
    const client = mockClient()
    const app = await started(t, { ...hooks(), store: 'redis', keyPrefix: 'ml' }, async app => { await app.register(fastifyRedis, { client }) })
    t.type(app.modelListStore, RedisModelListStore)
    const { id } = (await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
    t.equal(await client.exists(`ml:{rt-1}:model_list:req:${id}`), 1, 'the request is in that client, under keyPrefix')
  })

  t.test('the redis option alone selects the Redis store, on that client', async t => {
    const client = mockClient()
    const other = mockClient()
    const app = await started(t, { ...hooks(), redis: client }, app => { app.decorate('redis', other as never) })
    t.type(app.modelListStore, RedisModelListStore)
    const { id } = (await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
    t.equal(await client.exists(`model-list:{rt-1}:model_list:req:${id}`), 1, 'in the given client')
    t.equal(await other.exists(`model-list:{rt-1}:model_list:req:${id}`), 0, 'not in app.redis')
  })

  t.test('a store object is used as given', async t => {
    const inner = new MemoryModelListStore()
    const store = spyStore(inner)
    const app = await started(t, { ...hooks(), store })
    t.equal(app.modelListStore, store)
    await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })
    t.equal(store.count('create'), 1)
    await inner.close()
  })

  t.test("Fastify's function form of options", async t => {
    t.test('with a namespaced @fastify/redis client', async t => {
      const client = mockClient()
      const { getRuntime, authorizeDaemon } = hooks()
      const app = Fastify()
      t.teardown(() => app.close())
      await app.register(fastifyRedis, { client, namespace: 'work' })
      await app.register(fastifyModelList, (parent) => ({
        getRuntime,
        authorizeDaemon,
        redis: (parent as unknown as { redis: Record<string, Redis> }).redis.work
      }))
      await app.ready()
      t.type(app.modelListStore, RedisModelListStore)
      const { id } = (await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
      t.equal(await client.exists(`model-list:{rt-1}:model_list:req:${id}`), 1)
    })
    t.test('with a prefix', async t => {
      const app = Fastify()
      t.teardown(() => app.close())
      await app.register(fastifyModelList, () => ({ ...hooks(), prefix: '/api' }) as FastifyModelListOptions)
      await app.ready()
      t.type(app.modelListStore, MemoryModelListStore)
      t.equal((await app.inject({ method: 'POST', url: '/api/runtimes/rt-1/models' })).statusCode, 200, 'routes under /api')
    })
  })
})

t.test('where the routes mount', async t => {
  const probe = async (app: FastifyInstance, base: string): Promise<number[]> => {
    const created = await app.inject({ method: 'POST', url: `${base}/runtimes/rt-1/models` })
    const id = created.statusCode === 200 ? created.json().id as string : 'x'
    const polled = await app.inject({ method: 'GET', url: `${base}/runtimes/rt-1/models/${id}` })
    const reported = await app.inject({ method: 'POST', url: `${base}/daemon/runtimes/rt-1/models/${id}/result`, payload: { status: 'failed', error: 'e' } })
    return [created.statusCode, polled.statusCode, reported.statusCode]
  }

  t.test('under the register prefix', async t => {
    const app = await started(t, { ...hooks(), prefix: '/api' })
    t.strictSame(await probe(app, '/api'), [200, 200, 200], 'every route under /api')
    t.strictSame(await probe(app, ''), [404, 404, 404], 'nothing at the root')
    t.strictSame(await probe(app, '/api/api'), [404, 404, 404], 'not mounted twice over')
  })

  t.test('at the root without a prefix', async t => {
    const app = await started(t, hooks())
    t.strictSame(await probe(app, ''), [200, 200, 200])
  })

  t.test("under a parent plugin's prefix", async t => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(async (v1) => { await v1.register(fastifyModelList, hooks()) }, { prefix: '/v1' })
    await app.ready()
    t.strictSame(await probe(app, '/v1'), [200, 200, 200])
    t.strictSame(await probe(app, ''), [404, 404, 404])
  })
})

t.test('decorators are visible on the host (fastify-plugin)', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  let scopeStore: ModelListStore | undefined
  await app.register(async (child) => {
    await child.register(fastifyModelList, hooks())
    scopeStore = child.modelListStore
  })
  await app.register(fastifyModelList, { ...hooks(), prefix: '/other' }).after()
  t.ok(app.hasDecorator('modelListStore'), 'modelListStore on the host')
  t.ok(app.hasDecorator('claimPendingModelList'), 'claimPendingModelList on the host')
  t.type(app.modelListStore, MemoryModelListStore)
  t.not(app.modelListStore, scopeStore, 'a registration inside a child plugin stays in that child')

  const host = await started(t, hooks())
  t.type(host.modelListStore, MemoryModelListStore)
  const { id } = (await host.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
  t.strictSame(await host.claimPendingModelList('rt-1'), { id }, 'the host claims through the decorator')
  t.equal((await host.modelListStore.get('rt-1', id))?.status, 'running', 'and sees the store through the other')
})

t.test("the plugin's validator and JSON parser stay in its own routes", async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyModelList, hooks())
  app.get('/host', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async (request) => ({ n: (request.query as { n: unknown }).n }))
  app.post('/host', async (request) => ({ body: request.body }))
  await app.ready()
  const coerced = await app.inject({ method: 'GET', url: '/host?n=5' })
  t.strictSame(coerced.json(), { n: 5 }, "the host's routes keep Fastify's coercing validator")
  const empty = await app.inject({ method: 'POST', url: '/host', headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(empty.statusCode, 400, "the host's routes keep Fastify's JSON parser (an empty JSON body is refused)")
  t.equal(empty.json().code, 'FST_ERR_CTP_EMPTY_JSON_BODY')
})

t.test('app.close() closes only what the plugin built', async t => {
  const spyClose = (store: ModelListStore): { calls: number } => {
    const counter = { calls: 0 }
    const close = store.close.bind(store)
    store.close = async () => { counter.calls++; await close() }
    return counter
  }

  t.test('a memory store it built is closed', async t => {
    const app = Fastify()
    await app.register(fastifyModelList, hooks())
    await app.ready()
    const closed = spyClose(app.modelListStore)
    await app.close()
    t.equal(closed.calls, 1)
  })

  t.test('a Redis store it built is closed; the client given to it is not', async t => {
    const client = mockClient()
    const app = Fastify()
    await app.register(fastifyModelList, { ...hooks(), redis: client })
    await app.ready()
    const closed = spyClose(app.modelListStore)
    await app.close()
    t.equal(closed.calls, 1, 'the store is closed')
    t.strictSame(client.closeCalls, [], 'neither quit nor disconnect called on the client')
    await client.set('still', 'usable')
    t.equal(await client.get('still'), 'usable', 'the client still answers')
  })

  t.test("a Redis store it built closes its own subscriber connection, and only that", async t => {
    const client = mockClient()
    const duplicates: Array<{ closed: string[] }> = []
    const duplicate = client.duplicate.bind(client)
    ;(client as any).duplicate = () => {
      const made = duplicate()
      const record = { closed: [] as string[] }
      duplicates.push(record)
      const disconnect = made.disconnect.bind(made)
      made.disconnect = (...args: unknown[]) => { record.closed.push('disconnect'); return (disconnect as (...a: unknown[]) => void)(...args) }
      return made
    }
    const app = Fastify()
    await app.register(fastifyModelList, { ...hooks(), redis: client, notifyPendingWork: () => {} })
    await app.ready()
    const { id } = (await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })).json()
    await app.inject({ method: 'GET', url: `/runtimes/rt-1/models/${id as string}?wait_ms=1` })
    t.equal(duplicates.length, 1, 'one subscriber for the hint and the held poll alike')
    await app.close()
    t.same(duplicates[0].closed, ['disconnect'], 'closed with the store')
    t.strictSame(client.closeCalls, [], 'the client given is not')
    const { workStore } = app.modelListStore as RedisModelListStore
    await t.rejects((workStore.watchSettled as NonNullable<typeof workStore.watchSettled>).call(workStore, 'rt-1', id, () => {}), /closed/, 'a closed store makes no new subscriber')
    t.equal(duplicates.length, 1)
  })

  t.test('the client from app.redis is not closed either', async t => {
    const client = mockClient()
    const app = Fastify()
    app.decorate('redis', client as never)
    await app.register(fastifyModelList, { ...hooks(), store: 'redis' })
    await app.close()
    t.strictSame(client.closeCalls, [])
  })

  t.test('a store object given to it is never closed', async t => {
    const inner = new MemoryModelListStore()
    const store = spyStore(inner)
    const app = Fastify()
    await app.register(fastifyModelList, { ...hooks(), store })
    await app.ready()
    await app.inject({ method: 'POST', url: '/runtimes/rt-1/models' })
    await app.close()
    t.equal(store.count('close'), 0)
    t.equal(store.count('create'), 1, 'the spy does see calls')
    await inner.close()
  })
})
