import t from 'tap'
import Fastify from 'fastify'
import { mockRedis } from './helpers/redis-mock'
import type Redis from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import fastifyModelList, { MemoryModelListStore, RedisModelListStore, type FastifyModelListOptions } from '../lib/index'
import { RedisWorkStore } from '../lib/store/redis'
import { ReplicaWait, checkWaitForReplicas } from '../lib/store/redis/replicas'
import type { RedisClient } from '../lib/store/redis/client'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'
import { hostHooks } from './helpers/host'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// waitForReplicas (API.md, "Durability across a Redis failover"): checked at
// start-up, refused where there are no replicas to wait for; on Redis each
// state change and its WAIT go in one pipeline, and a change that is not
// acknowledged in time stands and is logged, one line per interval.

const hooks = (): Pick<FastifyModelListOptions, 'getRuntime' | 'authorizeDaemon'> => {
  const { getRuntime, authorizeDaemon } = hostHooks()
  return { getRuntime, authorizeDaemon }
}

let nextPort = 41_000 + (process.pid % 10_000)
const mockClient = (): Redis => mockRedis({ port: nextPort++ })

async function registerError (options: Record<string, unknown>): Promise<Error | undefined> {
  const app = Fastify()
  try {
    app.register(fastifyModelList, { ...hooks(), ...options } as FastifyModelListOptions)
    await app.ready()
  } catch (error) {
    return error as Error
  } finally {
    await app.close().catch(() => {})
  }
  return undefined
}

interface Line { fields: Record<string, any>, msg: string }
function capturingLog (): { log: FastifyBaseLogger, warnings: Line[] } {
  const warnings: Line[] = []
  const log = { warn: (fields: Record<string, any>, msg: string) => warnings.push({ fields, msg }) } as unknown as FastifyBaseLogger
  return { log, warnings }
}

t.test('the option is checked, naming it and quoting what it got with its type', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [true, /^fastify-model-list: waitForReplicas must be an object \{ replicas, timeoutMs \}, got true \(a boolean\)$/],
    [null, /waitForReplicas must be an object .*got null/],
    [[1, 100], /waitForReplicas must be an object .*got an array/],
    [1, /waitForReplicas must be an object .*got 1 \(a number\)/],
    [{ replicas: 1, timeoutMs: 100, retries: 2 }, /waitForReplicas takes replicas and timeoutMs, not retries/],
    [{ timeoutMs: 100 }, /waitForReplicas\.replicas must be a positive integer, got undefined/],
    [{ replicas: '1', timeoutMs: 100 }, /waitForReplicas\.replicas must be a positive integer, got '1' \(a string\)/],
    [{ replicas: 0, timeoutMs: 100 }, /waitForReplicas\.replicas must be a positive integer, got 0 \(a number\)/],
    [{ replicas: 1.5, timeoutMs: 100 }, /waitForReplicas\.replicas .*got 1\.5 \(a number\)/],
    [{ replicas: 1 }, /waitForReplicas\.timeoutMs must be a positive integer of milliseconds up to 2147483647, got undefined/],
    [{ replicas: 1, timeoutMs: 0 }, /waitForReplicas\.timeoutMs .*got 0 \(a number\)/],
    [{ replicas: 1, timeoutMs: -5 }, /waitForReplicas\.timeoutMs .*got -5 \(a number\)/],
    [{ replicas: 1, timeoutMs: 2 ** 31 }, /waitForReplicas\.timeoutMs .*got 2147483648 \(a number\)/],
    [{ replicas: 1, timeoutMs: 10n }, /waitForReplicas\.timeoutMs .*got 10n \(a bigint\)/],
    [{ replicas: 1, timeoutMs: { ms: 5 } }, /waitForReplicas\.timeoutMs .*got an object/]
  ]
  for (const [value, message] of cases) {
    t.test(`register: ${String(JSON.stringify(value, (_key, v) => typeof v === 'bigint' ? `${v}n` : v))}`, async t => {
      const error = await registerError({ redis: mockClient(), waitForReplicas: value })
      t.match(error?.message, message)
      t.equal((error as { code?: string } | undefined)?.code, 'FST_MODEL_LIST_INVALID_OPTION')
    })
  }
  t.test('the store constructors check it the same way', async t => {
    t.throws(() => new RedisModelListStore({ redis: mockClient(), waitForReplicas: { replicas: '2', timeoutMs: 100 } as never }), /waitForReplicas\.replicas .*got '2' \(a string\)/)
    t.throws(() => new RedisWorkStore({ redis: mockClient(), waitForReplicas: { replicas: 1, timeoutMs: null } as never }), /waitForReplicas\.timeoutMs .*got null/)
  })
  t.test('off when not given; the bounds are accepted', async t => {
    t.equal(checkWaitForReplicas(undefined), undefined)
    t.same(checkWaitForReplicas({ replicas: 1, timeoutMs: 1 }), { replicas: 1, timeoutMs: 1 })
    t.same(checkWaitForReplicas({ replicas: 3, timeoutMs: 2 ** 31 - 1 }), { replicas: 3, timeoutMs: 2 ** 31 - 1 })
  })
})

t.test('refused where there are no replicas to wait for, naming the option', async t => {
  const waitForReplicas = { replicas: 1, timeoutMs: 100 }
  t.test('the memory store, chosen or by default', async t => {
    t.match((await registerError({ store: 'memory', waitForReplicas }))?.message, /waitForReplicas needs the Redis store: the memory store has no replicas/)
    t.match((await registerError({ waitForReplicas }))?.message, /waitForReplicas needs the Redis store/)
  })
  t.test('a ModelListStore object: configured on the store itself', async t => {
    const store = new MemoryModelListStore()
    t.match((await registerError({ store, waitForReplicas }))?.message, /^fastify-model-list: waitForReplicas shapes a built-in store and cannot be given beside a store object/)
    await store.close()
  })
  t.test('a work store object', async t => {
    const store = new RedisWorkStore({ redis: mockClient() })
    t.match((await registerError({ store, waitForReplicas }))?.message, /^fastify-model-list: waitForReplicas shapes a built-in store/)
    await store.close()
  })
  t.test('a client without pipelines', async t => {
    const client = { status: 'ready', defineCommand () {}, duplicate () {}, async zcard () { return 0 }, disconnect () {}, async quit () {} } as unknown as RedisClient
    t.throws(() => new RedisWorkStore({ redis: client, waitForReplicas }), /waitForReplicas needs a client with pipeline\(\)/)
  })
  t.test('the Redis store starts with it', async t => {
    const app = Fastify()
    await app.register(fastifyModelList, { ...hooks(), redis: mockClient(), waitForReplicas })
    await app.ready()
    await app.close()
    t.pass('started and closed')
  })
})

// A client whose pipeline records what it was given and answers as told.
function scriptedClient (answers: Array<Array<[Error | null, unknown]>>): { redis: RedisClient, sent: string[][] } {
  const sent: string[][] = []
  const redis = {
    pipeline () {
      const queued: string[] = []
      const pipeline = {
        script_x (...args: Array<string | number>) { queued.push(['script_x', ...args].join(' ')); return pipeline },
        wait (replicas: number, timeoutMs: number) { queued.push(`wait ${replicas} ${timeoutMs}`); return pipeline },
        async exec () { sent.push(queued); return answers.shift() }
      }
      return pipeline
    }
  } as unknown as RedisClient
  return { redis, sent }
}

t.test('each change and its WAIT share one pipeline; what is not acknowledged is logged once per interval', async t => {
  const clock = new Clock()
  const ok: Array<[Error | null, unknown]> = [[null, 'reply'], [null, 2]]
  const short: Array<[Error | null, unknown]> = [[null, 'reply'], [null, 1]]
  const waitRefused: Array<[Error | null, unknown]> = [[null, 'reply'], [new Error('ERR WAIT cannot be used with replica instances'), undefined]]
  const scriptFailed: Array<[Error | null, unknown]> = [[new Error('NOSCRIPT or worse'), undefined], [null, 2]]
  const { redis, sent } = scriptedClient([ok, short, short, short, waitRefused, short, scriptFailed])
  const wait = new ReplicaWait({ replicas: 2, timeoutMs: 50 }, clock.now, 1_000)
  const { log, warnings } = capturingLog()
  wait.useLog(log)

  t.equal(await wait.run(redis, 'script_x', ['k', 1]), 'reply', 'the script\'s reply')
  t.same(sent, [['script_x k 1', 'wait 2 50']], 'the script then WAIT, in one exec (one round trip)')
  t.same(warnings, [], 'acknowledged by enough replicas: nothing logged')

  t.equal(await wait.run(redis, 'script_x', []), 'reply', 'a change not acknowledged in time stands')
  t.match(warnings, [{ fields: { acknowledged: 1, replicas: 2, timeoutMs: 50, unacknowledgedSinceLastLine: 1 }, msg: /1 state change\(s\) not acknowledged by 2 replica\(s\) within 50 ms; they stand/ }])
  await wait.run(redis, 'script_x', [])
  await wait.run(redis, 'script_x', [])
  t.equal(warnings.length, 1, 'within the interval: counted, not logged')
  clock.advance(1_000)
  await wait.run(redis, 'script_x', [])
  t.match(warnings[1], { fields: { err: { message: /WAIT cannot be used/ }, unacknowledgedSinceLastLine: 3 }, msg: /3 state change\(s\) .*\(WAIT failed: ERR WAIT cannot be used with replica instances\)/ }, 'a failed WAIT is logged too, with the count since the last line')
  clock.advance(1_000)
  await wait.run(redis, 'script_x', [])
  t.match(warnings[2], { fields: { acknowledged: 1, unacknowledgedSinceLastLine: 1 } }, 'the count starts again after each line')
  await t.rejects(wait.run(redis, 'script_x', []), /NOSCRIPT or worse/, 'a failed script fails the call, as without the option')

  t.test('without a logger it warns the process', async t => {
    const { redis } = scriptedClient([short])
    const emitted: string[] = []
    const emitWarning = process.emitWarning
    process.emitWarning = ((message: string) => { emitted.push(message) }) as typeof process.emitWarning
    t.teardown(() => { process.emitWarning = emitWarning })
    await new ReplicaWait({ replicas: 2, timeoutMs: 50 }).run(redis, 'script_x', [])
    t.match(emitted, [/1 state change\(s\) not acknowledged by 2 replica\(s\) within 50 ms/])
  })
})

t.test('on a Redis without replicas every change times out its WAIT, stands, and is logged', async t => {
  if (!(await ready(t, needsRedis))) return
  const admin = connect()
  const client = connect()
  const keyPrefix = uniquePrefix('wait-replicas')
  t.teardown(async () => {
    await deleteKeys(admin, keyPrefix)
    admin.disconnect()
    client.disconnect()
  })
  const clock = new Clock()
  const store = new RedisModelListStore({ redis: client, keyPrefix, now: clock.now, waitForReplicas: { replicas: 1, timeoutMs: 20 } })
  const { log, warnings } = capturingLog()
  store.workStore.useLog?.(log)
  const rt = 'rt-wait'

  const started = performance.now()
  const created = await store.create(rt)
  t.match(warnings, [{ fields: { acknowledged: 0, replicas: 1, timeoutMs: 20, unacknowledgedSinceLastLine: 1 } }], 'the create was not acknowledged: logged')
  t.equal((await store.popPending(rt))?.id, created.id, 'the claim stands')
  t.equal((await store.complete(rt, created.id, { models: catalog, supported: true }))?.status, 'completed', 'the report stands')
  t.equal((await store.get(rt, created.id))?.status, 'completed', 'and every replica reads it')
  t.equal(warnings.length, 1, 'within the interval the next ones are counted, not logged')
  clock.advance(10_000)
  const second = await store.create(rt)
  t.match(warnings[1], { fields: { acknowledged: 0, unacknowledgedSinceLastLine: 3 } }, 'the next interval\'s first line carries the count')
  await store.fail(rt, second.id, 'given up')
  const elapsed = performance.now() - started
  t.ok(elapsed < 5_000, `five changes each waiting at most 20 ms answered in ${Math.round(elapsed)} ms (generous ceiling 5 s)`)
})
