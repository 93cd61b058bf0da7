// A Cluster master killed right after it accepted a report may take the
// report's PUBLISH with it: no held poll anywhere is woken, and no signal will
// ever come. The Redis store watches its client: a master's node connection
// gone while it still serves slots, then a slots refresh showing its replica
// in its place, wakes every held poll once (issue 15, seen in
// test/redis-failover.test.ts: a poll on app B answered 2.5-5.3 s late).
import { EventEmitter } from 'node:events'
import t from 'tap'
import { FailoverWatch } from '../lib/store/redis/failover-watch'
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

function watched (): { client: ClusterDouble, watch: FailoverWatch, wakes: () => number } {
  const client = new ClusterDouble()
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
