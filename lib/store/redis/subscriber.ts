import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from './client'
import type { Signals } from '../signals'

/** What the subscriber needs of its connection (an ioredis `Redis` or `Cluster`, duplicated). */
interface Connection {
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'message', listener: (channel: string, message: string) => void): unknown
  on(event: 'ready', listener: () => void): unknown
  subscribe(...channels: string[]): Promise<unknown>
  disconnect(): void
}

export interface SubscriberOptions {
  redis: RedisClient
  /** The settled and queued channels, the client's own keyPrefix included. */
  channels: { settled: string, queued: string }
  /** Where what is heard goes. */
  signals: Signals
}

/**
 * The store's one subscriber connection (a duplicate of the client), made on
 * first need, carrying every cross-replica signal. ioredis subscribes again
 * after a reconnect; what was published meanwhile is lost, so held polls are
 * woken to read again.
 */
export class Subscriber {
  private readonly redis: RedisClient
  private readonly channels: { settled: string, queued: string }
  private readonly signals: Signals
  private connection: Connection | undefined
  private subscribed: Promise<void> | undefined
  private closed = false
  private log: FastifyBaseLogger | undefined

  constructor (options: SubscriberOptions) {
    this.redis = options.redis
    this.channels = options.channels
    this.signals = options.signals
  }

  useLog (log: FastifyBaseLogger): void {
    this.log = log
  }

  /** Resolves once both channels are subscribed. */
  async listening (): Promise<void> {
    if (this.closed) throw new Error('work store is closed')
    if (this.connection === undefined) {
      const connection = this.connection = this.redis.duplicate() as Connection
      // Debug only: its failures show where they matter (a route's store call
      // answers 503), and ioredis reports each reconnect attempt. Without a
      // logger (a store used outside the plugin) there is nowhere to tell.
      connection.on('error', error => this.failed(error))
      connection.on('message', (channel, message) => this.hear(channel, message))
      let connections = 0
      connection.on('ready', () => {
        if (++connections > 1) this.signals.wakeAll()
        // A first SUBSCRIBE that failed (Redis was down) is sent again now.
        if (this.subscribed === undefined) this.subscribe().catch(error => this.failed(error))
      })
    }
    await (this.subscribed ?? this.subscribe())
  }

  /** Listens in the background: a connection that cannot be made yet keeps trying. */
  start (): void {
    this.listening().catch(error => this.failed(error))
  }

  private failed (error: unknown): void {
    this.log?.debug({ err: error }, 'fastify-model-list: the work store\'s subscriber connection failed')
  }

  private async subscribe (): Promise<void> {
    const { settled, queued } = this.channels
    const subscribed = this.subscribed = (this.connection as Connection).subscribe(settled, queued).then(() => {}, (error: unknown) => {
      if (this.subscribed === subscribed) this.subscribed = undefined
      throw error
    })
    await subscribed
  }

  private hear (channel: string, message: string): void {
    const [runtimeId, what] = message.split(' ')
    if (channel === this.channels.queued) this.signals.emitQueued(runtimeId, what)
    else this.signals.emitSettled(runtimeId, what)
  }

  close (): void {
    this.closed = true
    this.connection?.disconnect()
  }
}
