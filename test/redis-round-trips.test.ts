import t from 'tap'
import type Redis from 'ioredis'
import { RedisModelListStore } from '../lib/store/redis'
import { Clock } from './helpers/clock'
import { catalog } from './helpers/contract'
import { pickerOf } from './helpers/picker-contract'
import { ready } from './helpers/redis'
import { freePort, makeTempDir, needsRedisBinaries, removeDir, startRedisServer, type RedisServer } from './helpers/redis-server'

// "Each operation is one round trip (one command or one script call, counted
// at the top level)" and "no MULTI/EXEC anywhere", counted two ways: MONITOR
// on a private redis-server (what really reaches the server; a script's own
// commands show with the source "lua" and are not round trips), and the
// commands the ioredis client hands to its socket.

interface Line { args: string[], source: string }

t.test('each store operation is one round trip, with no MULTI/EXEC', async t => {
  if (!(await ready(t, () => needsRedisBinaries(['redis-server'])))) return
  const dir = await makeTempDir('round-trips')
  const clients: Redis[] = []
  let server: RedisServer | undefined
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    await server?.stop()
    await removeDir(dir)
  })
  server = await startRedisServer(await freePort(), dir)
  const connect = (): Redis => {
    const client = (server as RedisServer).connect()
    clients.push(client)
    return client
  }

  // Everything the server executes, in order.
  const lines: Line[] = []
  const waiters = new Map<string, (index: number) => void>()
  const monitored = connect()
  const monitor = await monitored.monitor()
  clients.push(monitor)
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    lines.push({ args, source })
    if (args[0]?.toLowerCase() === 'echo' && waiters.has(args[1])) waiters.get(args[1])?.(lines.length - 1)
  })

  // A marker sent after an operation's answer: once MONITOR shows it, every
  // line of that operation has arrived (the server executes and feeds in order).
  const control = connect()
  let markers = 0
  const mark = async (): Promise<number> => {
    const marker = `round-trip-marker-${markers++}`
    const seen = new Promise<number>(resolve => waiters.set(marker, resolve))
    await control.echo(marker)
    return await seen
  }

  const client = connect()
  const clientInfo = await client.client('INFO') as string
  const storeSource = /addr=(\S+)/.exec(clientInfo)?.[1] as string
  t.ok(storeSource, `the store's connection is ${storeSource}`)
  // What the client hands to its socket.
  const sent: string[] = []
  const sendCommand = client.sendCommand.bind(client)
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name)
    return (sendCommand as (...args: unknown[]) => unknown)(command, ...rest)
  }) as typeof client.sendCommand

  const clock = new Clock()
  const store = new RedisModelListStore({ redis: client, keyPrefix: 'round-trips', now: clock.now })
  const rt = 'rt-round-trips'

  // Warm-up: every script once, so each is known to the server and this connection.
  const warm = await store.create(rt, { coalesce: true })
  await store.create(rt)
  await store.get(rt, warm.id)
  await store.hasPending(rt)
  const warmClaimed = await store.popPending(rt)
  await store.complete(rt, warmClaimed?.id as string, { models: catalog, supported: true })
  await store.fail(rt, warm.id, 'warm-up')
  while (await store.popPending(rt) !== null) { /* empty the queue */ }

  interface Count { operation: string, topLevel: number, inScripts: number, clientSent: number, commands: string }
  const counts: Count[] = []
  let last = await mark()
  const measure = async (operation: string, work: () => Promise<unknown>): Promise<void> => {
    const sentBefore = sent.length
    await work()
    const end = await mark()
    const window = lines.slice(last + 1, end)
    last = end
    const topLevel = window.filter(line => line.source === storeSource)
    const inScripts = window.filter(line => line.source === 'lua')
    const other = window.filter(line => line.source !== storeSource && line.source !== 'lua')
    t.same(other, [], `${operation}: nothing else reached the server`)
    t.equal(topLevel.length, 1, `${operation}: one round trip (MONITOR)`)
    t.equal(sent.length - sentBefore, 1, `${operation}: one command sent by the client`)
    counts.push({
      operation,
      topLevel: topLevel.length,
      inScripts: inScripts.length,
      clientSent: sent.length - sentBefore,
      commands: topLevel.map(line => line.args[0]).join(',')
    })
  }

  let first = ''
  let second = ''
  await measure('create', async () => { first = (await store.create(rt)).id })
  await measure('create coalesce (joins)', async () => {
    t.equal((await store.create(rt, { coalesce: true })).id, first)
  })
  await measure('hasPending (non-empty queue)', async () => { t.equal(await store.hasPending(rt), true) })
  await measure('get', async () => { t.equal((await store.get(rt, first))?.status, 'pending') })
  await measure('get (unknown id)', async () => { t.equal(await store.get(rt, '00000000-0000-4000-8000-000000000000'), null) })
  await measure('popPending', async () => { t.equal((await store.popPending(rt))?.id, first) })
  await measure('hasPending (empty queue)', async () => { t.equal(await store.hasPending(rt), false) })
  await measure('popPending (empty queue)', async () => { t.equal(await store.popPending(rt), null) })
  // The heartbeat probes with mayHavePending: one plain command, no script.
  const { engine, open } = pickerOf(store)
  await measure('heartbeat probe (empty queue)', async () => { t.same(await engine.mayHavePending(rt, ['model_list']), [false]) })
  t.match(counts[counts.length - 1], { commands: /^zcard$/i, inScripts: 0 }, 'the heartbeat probe is a plain ZCARD, and runs no script')
  await measure('create coalesce (nothing to join)', async () => {
    second = (await store.create(rt, { coalesce: true })).id
    t.not(second, first)
  })
  await measure('complete', async () => {
    t.equal((await store.complete(rt, first, { models: catalog, supported: true }))?.status, 'completed')
  })
  await measure('complete (late)', async () => {
    t.equal((await store.complete(rt, first, { models: [], supported: false }))?.status, 'completed')
  })
  await measure('fail', async () => { t.equal((await store.fail(rt, second, 'crashed'))?.status, 'failed') })
  // Three stale heads (failed, timed out, forgotten): still one call, which counts none of them.
  const stale = [(await store.create(rt)).id, (await store.create(rt)).id]
  await store.fail(rt, stale[0], 'reported while pending')
  await client.del(`round-trips:{${rt}}:model_list:req:${stale[1]}`)
  await store.create(rt)
  clock.advance(30_001)
  last = await mark()
  await measure('hasPending (stale heads, timeout due)', async () => { t.equal(await store.hasPending(rt), false) })
  await measure('fail (unknown id)', async () => { t.equal(await store.fail(rt, '00000000-0000-4000-8000-000000000000', 'x'), null) })

  // The picker's POST: one script decides serve, serve and queue a refresh, join or queue.
  const cacheRt = 'rt-round-trips-cache'
  await measure('open: a miss queues', async () => { t.equal((await open(cacheRt, { coalesce: true, useCache: true })).queued, true) })
  await measure('open: a miss joins', async () => { t.equal((await open(cacheRt, { coalesce: true, useCache: true })).queued, false) })
  const asked = await store.popPending(cacheRt)
  last = await mark()
  await measure('complete (stores the catalog)', async () => {
    t.equal((await store.complete(cacheRt, asked?.id as string, { models: catalog, supported: true }))?.status, 'completed')
  })
  await measure('open: served from the catalog', async () => { t.equal((await open(cacheRt, { coalesce: true, useCache: true })).request.cached, true) })
  clock.advance(60_001)
  await measure('open: served, a refresh queued', async () => {
    const opened = await open(cacheRt, { coalesce: true, useCache: true })
    t.ok(opened.request.cached === true && opened.queued, 'served and queued')
  })
  await measure('open: served, the refresh already pending', async () => { t.equal((await open(cacheRt, { coalesce: true, useCache: true })).queued, false) })
  await measure('open: force (joins the refresh)', async () => { t.equal((await open(cacheRt, { coalesce: true, useCache: false })).request.cached, undefined) })

  const forbidden = lines.filter(line => ['multi', 'exec', 'discard', 'watch'].includes(line.args[0]?.toLowerCase()))
  t.same(forbidden, [], 'no MULTI/EXEC/WATCH ever reached the server, warm-up and scripts included')
  t.same(sent.filter(name => ['multi', 'exec'].includes(name.toLowerCase())), [], 'and the client never sent one')

  const table = [
    'operation                               top-level  in scripts  client sent  command',
    ...counts.map(c => `${c.operation.padEnd(40)}${String(c.topLevel).padStart(9)}${String(c.inScripts).padStart(12)}${String(c.clientSent).padStart(13)}  ${c.commands}`)
  ].join('\n')
  t.comment(`round trips per operation (MONITOR on a private redis-server, after a warm-up):\n${table}`)

  // waitForReplicas: a state change carries WAIT in the same pipeline (one
  // write to the socket, one round trip, two commands); a read carries none.
  // This server has no replica, so each WAIT runs out its 1 ms (rounded up to
  // the server's timer tick): the change stands and is logged.
  const waiting = connect()
  const waitingSource = /addr=(\S+)/.exec(await waiting.client('INFO') as string)?.[1] as string
  let writes = 0
  const socket = waiting.stream as unknown as { write: (...args: unknown[]) => boolean }
  const write = socket.write.bind(socket)
  socket.write = (...args: unknown[]) => { writes++; return write(...args) }
  const waitStore = new RedisModelListStore({ redis: waiting, keyPrefix: 'round-trips', now: clock.now, waitForReplicas: { replicas: 1, timeoutMs: 1 } })
  const warnings: unknown[] = []
  waitStore.workStore.useLog?.({ warn: (fields: unknown) => warnings.push(fields) } as never)
  const wrt = 'rt-round-trips-wait'
  // Warm-up: the first call of each script on a connection sends its source (EVAL).
  const warmWait = await waitStore.create(wrt)
  await waitStore.popPending(wrt)
  await waitStore.complete(wrt, warmWait.id, { models: catalog, supported: true })
  await waitStore.get(wrt, warmWait.id)
  await waitStore.hasPending(wrt)
  const warmBack = await waitStore.create(wrt)
  await waitStore.workStore.handBack?.(waitStore.rules, wrt, warmBack.id, (await waitStore.workStore.claim(waitStore.rules, wrt, 1))[0].updatedAt)
  await waitStore.fail(wrt, warmBack.id, 'warm-up')
  const waitCounts: Array<{ operation: string, writes: number, commands: string }> = []
  last = await mark()
  const measureWaiting = async (operation: string, expected: string[], work: () => Promise<unknown>): Promise<void> => {
    const writesBefore = writes
    await work()
    const end = await mark()
    const commands = lines.slice(last + 1, end).filter(line => line.source === waitingSource).map(line => line.args[0].toLowerCase())
    last = end
    t.same(commands, expected, `${operation}: ${expected.join(' then ')} (MONITOR)`)
    t.equal(writes - writesBefore, 1, `${operation}: one write to the socket, one round trip`)
    waitCounts.push({ operation, writes: writes - writesBefore, commands: commands.join(',') })
  }
  let waited = ''
  await measureWaiting('create', ['evalsha', 'wait'], async () => { waited = (await waitStore.create(wrt)).id })
  await measureWaiting('get', ['evalsha'], async () => { t.equal((await waitStore.get(wrt, waited))?.status, 'pending') })
  await measureWaiting('hasPending', ['evalsha'], async () => { t.equal(await waitStore.hasPending(wrt), true) })
  await measureWaiting('popPending', ['evalsha', 'wait'], async () => { t.equal((await waitStore.popPending(wrt))?.id, waited) })
  await measureWaiting('complete', ['evalsha', 'wait'], async () => {
    t.equal((await waitStore.complete(wrt, waited, { models: catalog, supported: true }))?.status, 'completed')
  })
  await measureWaiting('heartbeat probe', ['zcard'], async () => { t.same(await pickerOf(waitStore).engine.mayHavePending(wrt, ['model_list']), [false]) })
  const back = await waitStore.create(wrt)
  const claimedBack = (await waitStore.workStore.claim(waitStore.rules, wrt, 1))[0]
  last = await mark()
  await measureWaiting('hand-back', ['evalsha', 'wait'], async () => {
    t.equal((await waitStore.workStore.handBack?.(waitStore.rules, wrt, back.id, claimedBack.updatedAt))?.status, 'pending')
  })
  t.ok(warnings.length >= 1, 'no replica acknowledged: logged, and every change stood')
  const waitTable = [
    'operation      writes  commands',
    ...waitCounts.map(c => `${c.operation.padEnd(15)}${String(c.writes).padStart(6)}  ${c.commands}`)
  ].join('\n')
  t.comment(`with waitForReplicas, round trips (socket writes) and commands per operation:\n${waitTable}`)
})
