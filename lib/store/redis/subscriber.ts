import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from './client'
import type { Signals } from '../signals'

/** What the subscriber needs of its connection (an ioredis `Redis` or `Cluster`, duplicated). */
interface Connection {
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'message', listener: (channel: string, message: string) => void): unknown
  on(event: 'ready' | 'close', listener: () => void): unknown
  subscribe(...channels: string[]): Promise<unknown>
  disconnect(): void
  status?: string
  isCluster?: boolean
  /** A Cluster's subscriber (ioredis): the node connection signals arrive on now. */
  subscriber?: { getInstance?: () => { status?: string } | null | undefined }
}

/** What the idle runtime cache hears of the signal path. */
export interface SignalPathHooks {
  /** This replica's canary channel. */
  canaryChannel: string
  /** Work became claimable for the runtime (queued, or handed back). */
  claimable: (runtimeId: string) => void
  /** A message on the canary channel. */
  canary: (message: string) => void
  /** The connection closed: what was published meanwhile is lost. */
  down: () => void
  /** The connection is ready again (its channels being subscribed again). */
  up: () => void
}

export interface SubscriberOptions {
  redis: RedisClient
  /** The settled and queued channels, the client's own keyPrefix included. */
  channels: { settled: string, queued: string }
  /** Where what is heard goes. */
  signals: Signals
  /** The idle runtime cache's ears, when it is on. */
  signalPath?: SignalPathHooks
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
  private readonly signalPath: SignalPathHooks | undefined
  private connection: Connection | undefined
  private subscribed: Promise<void> | undefined
  private closed = false
  private log: FastifyBaseLogger | undefined

  constructor (options: SubscriberOptions) {
    this.redis = options.redis
    this.channels = options.channels
    this.signals = options.signals
    this.signalPath = options.signalPath
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
      const { signalPath } = this
      if (signalPath !== undefined) {
        connection.on('close', () => signalPath.down())
        connection.on('ready', () => signalPath.up())
      }
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
    const channels = this.signalPath === undefined ? [settled, queued] : [settled, queued, this.signalPath.canaryChannel]
    const subscribed = this.subscribed = (this.connection as Connection).subscribe(...channels).then(() => {}, (error: unknown) => {
      if (this.subscribed === subscribed) this.subscribed = undefined
      throw error
    })
    await subscribed
  }

  private hear (channel: string, message: string): void {
    const { signalPath } = this
    if (signalPath !== undefined && channel === signalPath.canaryChannel) return signalPath.canary(message)
    // A hand-back says why ('<runtimeId> <kind> back'): claimable again, but not newly queued (no hint).
    const [runtimeId, what, why] = message.split(' ')
    if (channel === this.channels.queued) {
      signalPath?.claimable(runtimeId)
      if (why === undefined) this.signals.emitQueued(runtimeId, what)
    } else {
      this.signals.emitSettled(runtimeId, what)
    }
  }

  /**
   * The node connection signals arrive on, while it is ready; undefined
   * otherwise. A Cluster's subscriber moves to another node without a word
   * (a new connection): a path that is not the one proven is not trusted.
   */
  path (): object | undefined {
    const connection = this.connection
    const node = connection?.isCluster === true ? connection.subscriber?.getInstance?.() : connection
    return node?.status === 'ready' ? node : undefined
  }

  close (): void {
    this.closed = true
    this.connection?.disconnect()
  }
}
