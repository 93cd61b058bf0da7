// A Cluster master killed right after it accepted a report may take the
// report's PUBLISH with it: no held poll anywhere is woken, and no signal will
// ever come. The Redis store watches its client: a master's node connection
// gone while it still serves slots, then a slots refresh showing its replica
// in its place, wakes every held poll once (issue 15, seen in
// test/redis-failover.test.ts: a poll on app B answered 2.5-5.3 s late).
import { EventEmitter } from 'node:events'
import { mock } from 'node:test'
import t from 'tap'
import { FailoverWatch, refreshEveryMs, refreshForMs } from '../lib/store/redis/failover-watch'
import { RedisWorkStore } from '../lib/store/redis/work-store'
import { mockRedis } from './helpers/redis-mock'

/** A Cluster client double: its slots map, and the events ioredis emits. */
class ClusterDouble extends EventEmitter {
  readonly isCluster = true
  slots: Array<string[] | undefined> = []
  serve (...masters: string[]): void {
    // Three ranges, one per master, and a hole (a slot none serves).
    this.slots = [[masters[0], 'replica:1'], undefined, [masters[1]], [masters[2]]]
  }
}

const node = (key: string): { options: { host: string, port: number } } => {
  const [host, port] = key.split(':')
  return { options: { host, port: Number(port) } }
}

function watched<C extends ClusterDouble = ClusterDouble> (client: C = new ClusterDouble() as C): { client: C, watch: FailoverWatch, wakes: () => number } {
  client.serve('h:1', 'h:2', 'h:3')
  let wakes = 0
  const watch = new FailoverWatch(client, () => { wakes++ })
  watch.start()
  return { client, watch, wakes: () => wakes }
}

t.test('regression: a master killed after accepting a report: held polls read again once its replica has taken over, not before', async t => {
  const { client, wakes } = watched()
  client.emit('-node', node('h:2'))
  t.equal(wakes(), 0, 'its connection gone while it still serves slots: the replica has not taken over yet')
  client.emit('refresh')
  t.equal(wakes(), 0, 'a refresh that still shows it as master: not yet')
  client.serve('h:1', 'h:5', 'h:3')
  client.emit('refresh')
  t.equal(wakes(), 1, 'a refresh with its replica in its place: once')
  client.emit('refresh')
  t.equal(wakes(), 1, 'and only once')
})

t.test('two masters lost: once each, as each is replaced', async t => {
  const { client, wakes } = watched()
  client.emit('-node', node('h:1'))
  client.emit('-node', node('h:3'))
  client.emit('-node', node('h:3'))
  client.serve('h:4', 'h:2', 'h:3')
  client.emit('refresh')
  t.equal(wakes(), 1)
  client.serve('h:4', 'h:2', 'h:6')
  client.emit('refresh')
  t.equal(wakes(), 2)
})

t.test('a node gone that serves no slot (a replica, or a master already replaced in the map): at once', async t => {
  const { client, wakes } = watched()
  client.emit('-node', node('replica:1'))
  t.equal(wakes(), 1)
  client.emit('refresh')
  t.equal(wakes(), 1, 'nothing left waiting')
})

t.test('refreshes with no master lost wake nothing', async t => {
  const { client, wakes } = watched()
  client.emit('refresh')
  client.serve('h:7', 'h:8', 'h:9')
  client.emit('refresh')
  t.equal(wakes(), 0)
})

t.test('started twice listens once; stopped listens no more, and cannot start again', async t => {
  const { client, watch, wakes } = watched()
  watch.start()
  t.equal(client.listenerCount('-node'), 1)
  t.equal(client.listenerCount('refresh'), 1)
  client.emit('-node', node('h:2'))
  watch.stop()
  t.equal(client.listenerCount('-node'), 0)
  t.equal(client.listenerCount('refresh'), 0)
  watch.start()
  t.equal(client.listenerCount('-node'), 0, 'not again once stopped')
  watch.stop()
  client.serve('h:1', 'h:5', 'h:3')
  client.emit('refresh')
  t.equal(wakes(), 0)
})

/** A double that refreshes its slots map when asked, as ioredis does ('refresh' follows). */
class RefreshingDouble extends ClusterDouble {
  refreshes = 0
  refreshSlotsCache (): void {
    this.refreshes++
    this.emit('refresh')
  }
}

t.test('regression: a replica with no traffic on the lost slots never learnt of the takeover (ioredis refreshes no slots map on a timer by default): the watch refreshes twice a second until the master is replaced', async t => {
  mock.timers.enable({ apis: ['setInterval', 'Date'] })
  t.teardown(() => { mock.timers.reset() })
  const { client, watch, wakes } = watched(new RefreshingDouble())
  mock.timers.tick(refreshEveryMs * 4)
  t.equal(client.refreshes, 0, 'nothing asked while no master is lost')
  client.emit('-node', node('h:2'))
  client.emit('-node', node('h:2'))
  mock.timers.tick(refreshEveryMs - 1)
  t.equal(client.refreshes, 0, 'not at once')
  mock.timers.tick(1)
  t.equal(client.refreshes, 1, `asked ${refreshEveryMs} ms later`)
  mock.timers.tick(refreshEveryMs)
  t.equal(client.refreshes, 2, 'one timer, however many losses were heard')
  t.equal(wakes(), 0)
  client.serve('h:1', 'h:5', 'h:3')
  mock.timers.tick(refreshEveryMs)
  t.equal(client.refreshes, 3)
  t.equal(wakes(), 1, 'the refresh that shows the replica in its place wakes the polls')
  mock.timers.tick(refreshEveryMs * 4)
  t.equal(client.refreshes, 3, 'and the asking stops')
  watch.stop()
})

t.test('a lost master never replaced: asked for a minute, then only the client\'s own refreshes count', async t => {
  mock.timers.enable({ apis: ['setInterval', 'Date'] })
  t.teardown(() => { mock.timers.reset() })
  const { client, watch, wakes } = watched(new RefreshingDouble())
  client.emit('-node', node('h:2'))
  // Step by step: the mocked clock jumps to the end of a tick before its timers run.
  for (let ms = 0; ms < refreshForMs + refreshEveryMs; ms += refreshEveryMs) mock.timers.tick(refreshEveryMs)
  const asked = client.refreshes
  t.equal(asked, refreshForMs / refreshEveryMs, 'twice a second for a minute')
  mock.timers.tick(refreshEveryMs * 10)
  t.equal(client.refreshes, asked, 'then no more')
  client.serve('h:1', 'h:5', 'h:3')
  client.emit('refresh')
  t.equal(wakes(), 1, 'a refresh of the client\'s own still wakes the polls')
  watch.stop()
})

t.test('stopped while asking: the asking stops', async t => {
  mock.timers.enable({ apis: ['setInterval', 'Date'] })
  t.teardown(() => { mock.timers.reset() })
  const client = new RefreshingDouble()
  client.serve('h:1', 'h:2', 'h:3')
  const watch = new FailoverWatch(client, () => {})
  watch.start()
  client.emit('-node', node('h:2'))
  watch.stop()
  mock.timers.tick(refreshEveryMs * 4)
  t.equal(client.refreshes, 0)
})

t.test('a plain Redis client is not watched', async t => {
  const client = new EventEmitter()
  const watch = new FailoverWatch(client, () => t.fail('no wake'))
  watch.start()
  t.equal(client.listenerCount('-node'), 0)
  watch.stop()
})

t.test('the Redis store: a held poll on a Cluster reads again when a lost master is replaced; the store closed, its client is left alone', async t => {
  // ioredis-mock made to look like a Cluster client: only its events matter here.
  const redis = mockRedis()
  const cluster = Object.assign(redis, { isCluster: true, slots: [['h:1'], ['h:2']] })
  const store = new RedisWorkStore({ redis: cluster, keyPrefix: 'fml-failover-watch', now: () => 1_000, idleRuntimeCache: false })
  let woken = 0
  const unwatch = await store.watchSettled('rt-1', 'id-1', () => { woken++ })
  redis.emit('-node', node('h:2'))
  t.equal(woken, 0)
  cluster.slots = [['h:1'], ['h:3']]
  redis.emit('refresh')
  t.equal(woken, 1, 'woken to read once more')
  unwatch()
  await store.close()
  t.equal(redis.listenerCount('-node'), 0, 'listeners taken off the host client')
  t.equal(redis.listenerCount('refresh'), 0)
  redis.disconnect()
})
