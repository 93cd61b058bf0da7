// The Redis store's subscriber tells when it has subscribed again (after a
// reconnect, or a Cluster node gone), never for its first subscribe: held
// polls then read once more, once.
import { EventEmitter } from 'node:events'
import { mock } from 'node:test'
import t from 'tap'
import { Subscriber } from '../lib/store/redis/subscriber'
import { Signals } from '../lib/store/signals'
import type { RedisClient } from '../lib/store/redis/client'

/** A connection double: each SUBSCRIBE waits until the test answers it. */
class Connection extends EventEmitter {
  readonly subscribes: Array<{ resolve: () => void, reject: (error: Error) => void }> = []
  async subscribe (): Promise<void> {
    await new Promise<void>((resolve, reject) => { this.subscribes.push({ resolve, reject }) })
  }

  disconnect (): void {}
}

const turn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

function subscriber<C extends Connection = Connection> (connection: C = new Connection() as C): { connection: C, subscriber: Subscriber, told: () => number } {
  let told = 0
  const redis = { duplicate: () => connection } as unknown as RedisClient
  const made = new Subscriber({ redis, channels: { settled: 's', queued: 'q' }, signals: new Signals(), onResubscribed: () => { told++ } })
  return { connection, subscriber: made, told: () => told }
}

t.test('not for the first subscribe, even when the connection is ready before or after it', async t => {
  const { connection, subscriber: s, told } = subscriber()
  const listening = s.listening()
  connection.emit('ready')
  connection.emit('-node')
  await turn()
  t.equal(connection.subscribes.length, 1, 'the first subscribe only: nothing to subscribe again before it is confirmed')
  connection.subscribes[0].resolve()
  await listening
  await turn()
  t.equal(told(), 0)
  s.close()
})

t.test('after a reconnect: subscribes again, and tells once Redis confirms it', async t => {
  const { connection, subscriber: s, told } = subscriber()
  const listening = s.listening()
  connection.subscribes[0].resolve()
  await listening
  connection.emit('close')
  connection.emit('ready')
  t.equal(connection.subscribes.length, 2, 'subscribed again')
  await turn()
  t.equal(told(), 0, 'not before Redis confirms')
  connection.subscribes[1].resolve()
  await turn()
  t.equal(told(), 1, 'once it does')
  s.close()
})

t.test('regression: held polls woken twice on ioredis-mock (its first ready came after the first subscribe was confirmed)', async t => {
  const { connection, subscriber: s, told } = subscriber()
  const listening = s.listening()
  connection.subscribes[0].resolve()
  await listening
  connection.emit('ready')
  await turn()
  t.equal(connection.subscribes.length, 1, 'a ready with no close before it is no reconnect: nothing subscribed again')
  t.equal(told(), 0, 'and nothing told')
  s.close()
})

/** A Cluster's subscriber node connection (an ioredis `Redis`). */
class Node extends EventEmitter {
  constructor (public status = 'connecting') { super() }
  ready (): void {
    this.status = 'ready'
    this.emit('ready')
  }
}

/** A Cluster connection double: SUBSCRIBE as above, and the node its subscriber listens on now. */
class ClusterConnection extends Connection {
  readonly isCluster = true
  node: Node | null = new Node('ready')
  readonly subscriber = { getInstance: () => this.node }
  /** The node dies: ioredis's own 'end' listener (added first) picks the next one, then ours hear it. */
  moveTo (next: Node | null): void {
    const old = this.node as Node
    this.node = next
    old.status = 'end'
    old.emit('end')
  }
}

const clusterSubscriber = (): ReturnType<typeof subscriber<ClusterConnection>> => subscriber(new ClusterConnection())

async function subscribed (connection: Connection, s: Subscriber): Promise<void> {
  const listening = s.listening()
  connection.subscribes[0].resolve()
  await listening
}

t.test('regression: held polls slept through a Cluster failover (the subscriber moved to another node without a ready of the Cluster): subscribed again on the new node once ready, then told', async t => {
  const { connection, subscriber: s, told } = clusterSubscriber()
  await subscribed(connection, s)
  const next = new Node()
  connection.moveTo(next)
  await turn()
  t.equal(connection.subscribes.length, 1, 'not before the new node connection is ready')
  next.ready()
  t.equal(connection.subscribes.length, 2, 'subscribed again once it is')
  t.equal(told(), 0, 'not before Redis confirms')
  connection.subscribes[1].resolve()
  await turn()
  t.equal(told(), 1, 'told once it does')
  next.emit('ready')
  await turn()
  t.equal(connection.subscribes.length, 2, 'a node connection is followed once')
  s.close()
})

t.test('a new subscriber node that is dead too: followed on to the next one, told once', async t => {
  const { connection, subscriber: s, told } = clusterSubscriber()
  await subscribed(connection, s)
  const dead = new Node()
  connection.moveTo(dead)
  await turn()
  const next = new Node('ready')
  connection.moveTo(next)
  await turn()
  t.equal(connection.subscribes.length, 2, 'a node connection ready when looked at: subscribed again at once')
  dead.emit('ready')
  t.equal(connection.subscribes.length, 2, 'a ready of a node no longer followed is nothing')
  connection.subscribes[1].resolve()
  await turn()
  t.equal(told(), 1)
  s.close()
})

t.test('no node to move to until one is discovered (+node): followed then', async t => {
  const { connection, subscriber: s, told } = clusterSubscriber()
  await subscribed(connection, s)
  connection.moveTo(null)
  await turn()
  connection.emit('-node')
  await turn()
  t.equal(connection.subscribes.length, 1, 'nothing to follow')
  connection.node = new Node('ready')
  connection.emit('+node')
  await turn()
  t.equal(connection.subscribes.length, 2, 'subscribed on the node it found')
  connection.subscribes[1].resolve()
  await turn()
  t.equal(told(), 1)
  s.close()
})

t.test('a Cluster node gone that was not the subscriber\'s: nothing subscribed again, nothing told', async t => {
  const { connection, subscriber: s, told } = clusterSubscriber()
  const listening = s.listening()
  connection.emit('-node')
  await turn()
  connection.subscribes[0].resolve()
  await listening
  connection.emit('-node')
  connection.emit('+node')
  await turn()
  t.equal(connection.subscribes.length, 1)
  t.equal(told(), 0)
  s.close()
})

t.test('the subscriber node moving before the first subscribe is confirmed: that subscribe is all', async t => {
  const { connection, subscriber: s, told } = clusterSubscriber()
  const listening = s.listening()
  connection.moveTo(new Node('ready'))
  connection.emit('-node')
  await turn()
  t.equal(connection.subscribes.length, 1)
  connection.subscribes[0].resolve()
  await listening
  await turn()
  t.equal(connection.subscribes.length, 1, 'the node it moved to is the one followed from then on')
  t.equal(told(), 0)
  s.close()
})

t.test('a subscribe again that fails (the new node died meanwhile) is tried again 250 ms later, three times at most', async t => {
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => { mock.timers.reset() })
  const { connection, subscriber: s, told } = clusterSubscriber()
  await subscribed(connection, s)
  connection.moveTo(new Node('ready'))
  await turn()
  t.equal(connection.subscribes.length, 2)
  connection.subscribes[1].reject(new Error('Connection is closed.'))
  await turn()
  t.equal(told(), 0, 'not told for a subscribe that failed')
  mock.timers.tick(249)
  t.equal(connection.subscribes.length, 2, 'not at once')
  mock.timers.tick(1)
  t.equal(connection.subscribes.length, 3, 'tried again 250 ms later')
  for (const attempt of [3, 4]) {
    connection.subscribes[attempt - 1].reject(new Error('Connection is closed.'))
    await turn()
    mock.timers.tick(250)
  }
  t.equal(connection.subscribes.length, 5, 'three tries after the first')
  connection.subscribes[4].reject(new Error('Connection is closed.'))
  await turn()
  mock.timers.tick(1_000)
  t.equal(connection.subscribes.length, 5, 'then no more (the next node move subscribes again)')
  t.equal(told(), 0)
  s.close()
})

t.test('a retry due after close: nothing', async t => {
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => { mock.timers.reset() })
  const { connection, subscriber: s, told } = clusterSubscriber()
  await subscribed(connection, s)
  connection.moveTo(new Node('ready'))
  await turn()
  connection.subscribes[1].reject(new Error('Connection is closed.'))
  await turn()
  s.close()
  mock.timers.tick(250)
  t.equal(connection.subscribes.length, 2)
  t.equal(told(), 0)
})

t.test('the subscriber node moving after close: nothing', async t => {
  const { connection, subscriber: s, told } = clusterSubscriber()
  await subscribed(connection, s)
  s.close()
  connection.moveTo(new Node('ready'))
  await turn()
  t.equal(connection.subscribes.length, 1)
  t.equal(told(), 0)
})

t.test('a client without a subscriber node to look at (not ioredis): nothing to follow', async t => {
  const { connection, subscriber: s, told } = clusterSubscriber()
  ;(connection.subscriber as { getInstance?: unknown }).getInstance = undefined
  await subscribed(connection, s)
  connection.emit('-node')
  await turn()
  t.equal(connection.subscribes.length, 1)
  t.equal(told(), 0)
  s.close()
})

t.test('nothing once closed', async t => {
  const { connection, subscriber: s, told } = subscriber()
  const listening = s.listening()
  connection.subscribes[0].resolve()
  await listening
  connection.emit('close')
  connection.emit('ready')
  s.close()
  connection.subscribes[1].resolve()
  connection.emit('ready')
  await turn()
  t.equal(told(), 0)
  t.equal(connection.subscribes.length, 2)
})
