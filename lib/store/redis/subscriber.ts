import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from './client'
import type { Signals } from '../signals'
import { readSettled } from './reply'

/** A Cluster's connection to the one node its subscriber listens on (an ioredis `Redis`). */
interface NodeConnection {
  status?: string
  once(event: 'ready' | 'end', listener: () => void): unknown
}

/** What the subscriber needs of its connection (an ioredis `Redis` or `Cluster`, duplicated). */
interface Connection {
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'message', listener: (channel: string, message: string) => void): unknown
  on(event: 'ready' | 'close' | '-node' | '+node', listener: () => void): unknown
  subscribe(...channels: string[]): Promise<unknown>
  disconnect(): void
  status?: string
  isCluster?: boolean
  /** A Cluster's subscriber (ioredis): the node connection signals arrive on now. */
  subscriber?: { getInstance?: () => NodeConnection | null | undefined }
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
  /**
   * Called once the channels are subscribed again after the connection came
   * back or moved (never for the first subscribe): what was published
   * meanwhile was lost, so held polls read once more.
   */
  onResubscribed?: () => void
}

// A subscribe again that failed (the node it went to is down too) is tried once more after this.
const resubscribeRetryMs = 250

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
  private readonly onResubscribed: (() => void) | undefined
  // Set once the first subscribe is confirmed: only later ones are re-subscriptions.
  private everSubscribed = false
  // The connection closed after that first subscribe: its next 'ready' is a reconnect.
  private dropped = false
  // A Cluster: the node connection the subscriber listened on when last looked at.
  private followed: NodeConnection | undefined

  constructor (options: SubscriberOptions) {
    this.redis = options.redis
    this.channels = options.channels
    this.signals = options.signals
    this.signalPath = options.signalPath
    this.onResubscribed = options.onResubscribed
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
      connection.on('ready', () => {
        // A first SUBSCRIBE that failed (Redis was down) is sent again now.
        if (this.subscribed === undefined) this.subscribe().catch(error => this.failed(error))
      })
      // Back after a reconnect (a restart, CLIENT KILL): subscribe again
      // ourselves and, once Redis confirms it, tell.
      // A 'ready' counts only after a 'close': a client (ioredis-mock) may confirm the
      // first SUBSCRIBE before its first 'ready', which is no reconnect.
      connection.on('close', () => { if (this.everSubscribed) this.dropped = true })
      connection.on('ready', () => {
        if (!this.dropped) return
        this.dropped = false
        this.resubscribe()
      })
      // A Cluster moves its subscriber to another node without a word (its
      // node died, or left the slots map): the node connection is followed.
      // The client picks the new one after these events, so we look after it.
      const look = (): void => { setImmediate(() => { this.follow() }) }
      connection.on('-node', look)
      connection.on('+node', look)
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

  private channelList (): string[] {
    const { settled, queued } = this.channels
    return this.signalPath === undefined ? [settled, queued] : [settled, queued, this.signalPath.canaryChannel]
  }

  private async subscribe (): Promise<void> {
    const subscribed = this.subscribed = (this.connection as Connection).subscribe(...this.channelList()).then(() => {
      this.everSubscribed = true
      this.follow()
    }, (error: unknown) => {
      if (this.subscribed === subscribed) this.subscribed = undefined
      throw error
    })
    await subscribed
  }

  /** After the first subscribe (only then called): subscribes again (Redis takes a channel twice as once), then onResubscribed. */
  private resubscribe (retries = 3): void {
    if (this.closed) return
    ;(this.connection as Connection).subscribe(...this.channelList()).then(() => {
      if (!this.closed) this.onResubscribed?.()
    }, (error: unknown) => {
      this.failed(error)
      if (retries > 0) setTimeout(() => { this.resubscribe(retries - 1) }, resubscribeRetryMs).unref()
    })
  }

  /**
   * A Cluster's subscriber node connection, followed from the first confirmed
   * subscribe on. When it ends (its node died: no reconnect), ioredis picks
   * another node and subscribes the channels there; once that connection is
   * ready we subscribe again (confirmed after ioredis's own) and tell, so
   * every held poll reads once more: what was published meanwhile is lost.
   */
  private follow (): void {
    if (this.closed || !this.everSubscribed) return
    const node = (this.connection as Connection).subscriber?.getInstance?.() ?? undefined
    if (node === undefined || node === this.followed) return
    const moved = this.followed !== undefined
    this.followed = node
    // ioredis's own 'end' listener (added first) picks the next node; we look after it.
    node.once('end', () => { setImmediate(() => { this.follow() }) })
    if (!moved) return
    if (node.status === 'ready') this.resubscribe()
    else node.once('ready', () => { if (this.followed === node) this.resubscribe() })
  }

  private hear (channel: string, message: string): void {
    const { signalPath } = this
    if (signalPath !== undefined && channel === signalPath.canaryChannel) return signalPath.canary(message)
    if (channel === this.channels.queued) {
      // A hand-back says why ('<runtimeId> <kind> back'): claimable again, but not newly queued (no hint).
      const [runtimeId, kind, why] = message.split(' ')
      signalPath?.claimable(runtimeId)
      if (why === undefined) this.signals.emitQueued(runtimeId, kind)
    } else {
      const settled = readSettled(message)
      if (settled !== undefined) this.signals.emitSettled(settled.runtimeId, settled.id, settled.record)
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
