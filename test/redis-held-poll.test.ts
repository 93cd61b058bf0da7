// Held polls on a private redis-server: what they cost the server while they
// wait (MONITOR), and that the store's subscriber comes back after a restart.
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type Redis from 'ioredis'
import fastifyModelList from '../lib/index'
import type { ModelListOnWorkStore } from '../lib/kinds/model-list-store'
import { catalog, largeCatalog } from './helpers/contract'
import { hooks, hostApp, routes } from './helpers/apps'
import { ready } from './helpers/redis'
import { listening } from './helpers/picker-contract'
import { freePort, makeTempDir, needsRedisBinaries, removeDir, startRedisServer, until, type RedisServer } from './helpers/redis-server'

const held = (rt: string, id: string): { method: 'GET', url: string } => ({ method: 'GET', url: `${routes.get(rt, id).url}?wait_ms=30000` })

t.test('held polls on a private redis-server', async t => {
  if (!(await ready(t, () => needsRedisBinaries(['redis-server'])))) return
  const dir = await makeTempDir('held-poll')
  const port = await freePort()
  const clients: Redis[] = []
  const apps: FastifyInstance[] = []
  let server: RedisServer = await startRedisServer(port, dir)
  t.teardown(async () => {
    for (const app of apps) await app.close()
    for (const client of clients) client.disconnect()
    await server.stop()
    await removeDir(dir)
  })
  const connect = (): Redis => {
    const client = server.connect()
    client.on('error', () => {})
    clients.push(client)
    return client
  }
  const replica = async (notifyPendingWork?: (rt: string) => void): Promise<FastifyInstance> => {
    const app = await hostApp(async app => {
      await app.register(fastifyModelList, { redis: connect(), prefix: '/api', ...hooks, ...(notifyPendingWork !== undefined && { notifyPendingWork }) })
    })
    apps.push(app)
    await listening(app.modelListStore)
    return app
  }
  const hints: string[] = []
  const a = await replica()
  const b = await replica(rt => { hints.push(rt) })

  /**
   * Under MONITOR (top-level commands only: what a script runs inside Redis
   * shows with the source "lua"), three polls held on one request of `rt`, two
   * on b and one on a, once each has read it once.
   */
  const threeHeldUnderMonitor = async (t: Test, rt: string): Promise<{ id: string, polls: Array<Promise<LightMyRequestResponse>>, commands: string[][], isScript: (args: string[], keys: string) => boolean, isRead: (args: string[]) => boolean, reads: () => number }> => {
    const commands: string[][] = []
    const monitor = await connect().monitor()
    // Closed before the restart below: a monitor that reconnects confuses its client.
    t.teardown(() => monitor.disconnect())
    monitor.on('monitor', (_time: string, args: string[], source: string) => { if (source !== 'lua') commands.push(args) })
    const { id } = (await a.inject(routes.create(rt))).json<{ id: string }>()
    const polls = [b.inject(held(rt, id)), b.inject(held(rt, id)), a.inject(held(rt, id))]
    // Every poll has read once: three reads of this record reached the server.
    // The get script is the one EVALSHA with one key, the record's.
    // (EVAL where this connection had not used the script yet.)
    const isScript = (args: string[], keys: string): boolean => ['evalsha', 'eval'].includes(args[0].toLowerCase()) && args[2] === keys && args[3].endsWith(`:req:${id}`)
    const isRead = (args: string[]): boolean => isScript(args, '1')
    const reads = (): number => commands.filter(isRead).length
    await until('the three first reads', async () => reads() === 3, 5_000, 5)
    return { id, polls, commands, isScript, isRead, reads }
  }

  t.test('a held poll sends no command while it waits (MONITOR)', async t => {
    // Warm-up: every script known to the server, so each call below is one EVALSHA.
    const warm = (await a.inject(routes.create('rt-warm'))).json<{ id: string }>().id
    await b.inject(routes.get('rt-warm', warm))
    await a.claimPendingModelList('rt-warm')
    await b.inject(routes.report('rt-warm', warm, { status: 'failed', error: 'warm-up' }))
    await a.inject(routes.get('rt-warm', warm))
    const rt = 'rt-monitor'
    const { id, polls, commands, isScript, isRead, reads } = await threeHeldUnderMonitor(t, rt)
    const from = commands.length
    // A held poll has no timer but its own deadline: nothing polls meanwhile.
    await a.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))
    for (const res of await Promise.all(polls)) t.equal(res.json().status, 'completed')
    // The report's signal carries the record: the polls answer it without a read.
    await a.inject(routes.get(rt, id))
    await until('the read after', async () => reads() === 3 + 1, 5_000, 5)
    const between = commands.slice(from)
    t.ok(isScript(between[0], '4') && between[0].includes('completed'), 'after the first reads, the next command is the report')
    t.equal(between.length, 1 + 1, 'then only the plain GET sent after them: nothing while they waited, nothing to answer them')
    t.ok(isRead(between[1]), 'and that is a read')
  })

  t.test('a catalog larger than a signal carries: the polls held on one replica wake with one read between them (MONITOR)', async t => {
    const rt = 'rt-monitor-large'
    const { id, polls, commands, isRead, reads } = await threeHeldUnderMonitor(t, rt)
    const from = commands.length
    await a.inject(routes.report(rt, id, { status: 'completed', models: largeCatalog, supported: true }))
    for (const res of await Promise.all(polls)) t.same(res.json().models, largeCatalog)
    await until('the last reads', async () => reads() === 3 + 2, 5_000, 5)
    const between = commands.slice(from)
    t.equal(between.length, 1 + 2, 'the report, then exactly one read per replica')
    t.ok(between.slice(1).every(isRead), 'and those are reads')
  })

  t.test('CLIENT KILL TYPE pubsub while a poll is held, the report landing while the subscriber is down: answered right after it subscribes again', async t => {
    // A replica whose subscriber comes back 500 ms after it is cut (the
    // duplicate takes its client's retryStrategy): time for the report to land.
    const client = server.connect({ retryStrategy: () => 500 })
    client.on('error', () => {})
    clients.push(client)
    const c = await hostApp(async app => { await app.register(fastifyModelList, { redis: client, keyPrefix: 'killed', prefix: '/api', ...hooks }) })
    apps.push(c)
    await listening(c.modelListStore)
    const watchers = ((c.modelListStore as ModelListOnWorkStore).workStore as unknown as { signals: { settledWatchers: Map<string, unknown> } }).signals.settledWatchers
    const rt = 'rt-killed'
    const { id } = (await c.inject(routes.create(rt))).json<{ id: string }>()
    await c.claimPendingModelList(rt)
    const started = Date.now()
    const poll = c.inject(held(rt, id))
    await until('the poll watches', async () => watchers.size === 1, 5_000, 5)
    const admin = connect()
    const subscribers = async (): Promise<number> => ((await admin.call('PUBSUB', 'NUMSUB', 'killed:settled')) as [string, number])[1]
    t.equal(await subscribers(), 1, 'one subscriber before')
    t.ok(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')) >= 1, 'killed')
    t.equal(await subscribers(), 0, 'none while it is down')
    await c.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))
    t.equal(await subscribers(), 0, 'the report landed while nobody heard it')
    const res = await poll
    const elapsed = Date.now() - started
    t.match(res.json(), { id, status: 'completed', models: catalog }, 'the poll reads again once subscribed')
    t.ok(elapsed < 5_000, `answered ${elapsed} ms after it was sent, not after wait_ms (30 s)`)
  })

  t.test('after a Redis restart the subscriber is back: held polls wake and hints arrive again', async t => {
    const rtAcross = 'rt-across'
    const across = (await a.inject(routes.create(rtAcross))).json<{ id: string }>().id
    const watchers = ((b.modelListStore as ModelListOnWorkStore).workStore as unknown as { signals: { settledWatchers: Map<string, unknown> } }).signals.settledWatchers
    const acrossStarted = Date.now()
    const heldAcross = b.inject(held(rtAcross, across))
    await until("B's poll watches", async () => watchers.size === 1, 5_000, 5)
    await server.stop()
    server = await startRedisServer(port, dir)
    // A report during the outage was impossible, but one landing between the
    // reconnect and the resubscribe would be missed: the poll reads again.
    const acrossRes = await heldAcross
    t.ok(Date.now() - acrossStarted < 10_000, 'a poll held across the restart answers once the subscriber is back, not after wait_ms')
    t.ok([404, 503].includes(acrossRes.statusCode), `with what it reads then (${acrossRes.statusCode}: the record went with the restart)`)

    // The apps' clients reconnect by themselves; the subscriber resubscribes.
    const admin = connect()
    await until('both subscribers resubscribed', async () => {
      const [, count] = await admin.call('PUBSUB', 'NUMSUB', 'model-list:settled') as [string, number]
      return count === 2
    })
    hints.length = 0
    const rt = 'rt-restart'
    const { id } = (await a.inject(routes.create(rt))).json<{ id: string }>()
    await until('the hint on B', async () => hints.length === 1, 5_000, 5)
    t.same(hints, [rt], 'the hint reaches B')
    const started = Date.now()
    const poll = b.inject(held(rt, id))
    await until("B's poll watches", async () => watchers.size === 1, 5_000, 5)
    await a.inject(routes.report(rt, id, { status: 'failed', error: 'crashed' }))
    const res = await poll
    t.match(res.json(), { id, status: 'failed' })
    t.ok(Date.now() - started < 2_000, 'woken by the report, not by wait_ms')
  })
})
