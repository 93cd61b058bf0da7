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

function subscriber (): { connection: Connection, subscriber: Subscriber, told: () => number } {
  const connection = new Connection()
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

t.test('a Cluster node gone: subscribes again after the client picked its new subscriber node; a failed one is tried again', async t => {
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => { mock.timers.reset() })
  const { connection, subscriber: s, told } = subscriber()
  const listening = s.listening()
  connection.subscribes[0].resolve()
  await listening
  connection.emit('-node')
  t.equal(connection.subscribes.length, 1, 'not during the event: the client moves its subscriber after it')
  await turn()
  t.equal(connection.subscribes.length, 2, 'then subscribed again')
  connection.subscribes[1].reject(new Error('Connection is closed.'))
  await turn()
  t.equal(told(), 0, 'not told for a subscribe that failed')
  t.equal(connection.subscribes.length, 2, 'not at once')
  mock.timers.tick(250)
  t.equal(connection.subscribes.length, 3, 'tried again 250 ms later')
  connection.subscribes[2].resolve()
  await turn()
  t.equal(told(), 1)
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
