import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import { given, Lifecycle, type LifecycleOptions, type Outcome, type WorkRecord, type WorkStatus } from '../lifecycle'
import type { FastifyBaseLogger } from 'fastify'
import { WorkModelListStore, type OpenedWork, type WorkBackend } from '../store'
import { resolveCatalogCache, type CatalogAction, type CatalogCacheOptions, type CatalogWindows } from '../catalog'
import { Signals } from '../signals'
import { kUseLog } from '../capabilities'
import { InvalidOptionError } from '../errors'
import { newId } from '../ids'
import type { RedisClient } from './redis-client'

export interface RedisModelListStoreOptions extends LifecycleOptions {
  /** An ioredis 5 or 6 `Redis` or `Cluster`. */
  redis: RedisClient
  /** Key namespace; no `{` or `}`, which would move the hash tag. */
  keyPrefix?: string
  /** The catalog cache's windows, or false for none. */
  catalogCache?: CatalogCacheOptions | false
}

const defaultKeyPrefix = 'model-list'

// Key layout (every key of a runtime carries the hash tag {runtimeId}, so a
// Cluster spreads runtimes over its masters and no script spans two slots):
//   <prefix>:{<runtimeId>}:queue            sorted set of pending requests, scored by
//                                            deadline; members '<sequence>:<requestId>'
//   <prefix>:{<runtimeId>}:seq              the sequence that keeps equal deadlines in order
//   <prefix>:{<runtimeId>}:running          sorted set of claimed request ids, scored by deadline
//   <prefix>:{<runtimeId>}:req:<requestId>  hash: s status, c created, u updated,
//                                            d deadline, r result, e error, m queue member
//   <prefix>:{<runtimeId>}:catalog          hash: r the last catalog (result JSON), t when stored;
//                                            expires serveWindowMs after it was stored
// Each other key expires `retentionMs` after its last change.
// Channels (classic pub/sub, published from inside the scripts, each heard by
// one subscriber connection per store; the client's own keyPrefix leads both):
//   <prefix>:settled   '<runtimeId> <requestId>' when a report is accepted (wakes held polls)
//   <prefix>:queued    '<runtimeId>' when a request is queued (the wake-up hint)

// One script per operation, each prefixed with the shared lifecycle chunk; the
// file name says how many keys the script declares. Even hasPending's count is
// a script: only the server knows the server's time.
const scripts = {
  open: 'open-5',
  get: 'get-1',
  hasPending: 'has-pending-1',
  popPending: 'pop-pending-2',
  settle: 'settle-4',
  handBack: 'hand-back-3'
} as const
type ScriptName = keyof typeof scripts

// Redis turns a script's false into null; ioredis-mock keeps it false.
type Missing = null | false
// id s c u d r e, then the keys of unreadable records the script removed (one per
// line, when there were any); id '' when there is no record.
type RecordReply = [string, WorkStatus, string, string, string, string | Missing, string | Missing, (string | Missing)?]
type Reply = RecordReply | Missing
type OpenReply = ['record', '0' | '1', RecordReply] | ['cached', '0' | '1', string, string, string | Missing]
type ScriptCall = (...args: Array<string | number>) => Promise<unknown>

const luaDir = join(__dirname, 'lua')
const prelude = readFileSync(join(luaDir, 'lifecycle.lua'), 'utf8')
const commands = Object.entries(scripts).map(([operation, file]) => {
  const lua = `${prelude}\n${readFileSync(join(luaDir, `${file}.lua`), 'utf8')}`
  // The name carries the script's hash: two versions of this package on one
  // client never call each other's scripts.
  const hash = createHash('sha1').update(lua).digest('hex').slice(0, 12)
  return { operation: operation as ScriptName, name: `modelList_${operation}_${hash}`, lua, numberOfKeys: Number(file.split('-').pop()) }
})

/** Where the keys of removed unreadable records are told, until the plugin gives its logger. */
type Unreadable = (keys: string[]) => void

function warnUnreadable (keys: string[]): void {
  process.emitWarning(`removed unreadable model list records (a field missing or malformed: edited by hand, or written by another version): ${keys.join(', ')}`, 'FastifyModelListWarning')
}

function parse (runtimeId: string, reply: Reply, unreadable: Unreadable): WorkRecord | null {
  if (reply === null || reply === false) return null
  const [id, status, created, updated, deadline, result, error, discarded] = reply
  if (typeof discarded === 'string') unreadable(discarded.split('\n'))
  if (id === '') return null
  const record: WorkRecord = { id, runtimeId, status, createdAt: Number(created), updatedAt: Number(updated), deadline: Number(deadline) }
  if (typeof result === 'string') record.result = result
  if (typeof error === 'string') record.error = error
  return record
}

class RedisBackend implements WorkBackend {
  readonly lifecycle: Lifecycle
  readonly signals = new Signals()
  private readonly redis: Redis | Cluster
  private readonly call: Record<ScriptName, ScriptCall>
  private readonly keyPrefix: string
  /** The instant scripts take as now: '' has them read the Redis server's clock. */
  private readonly now: () => number | ''
  private readonly catalogWindows: CatalogWindows | null
  private readonly settledChannel: string
  private readonly queuedChannel: string
  private subscriber: Redis | Cluster | undefined
  private subscribed: Promise<void> | undefined
  private closed = false
  unreadable: Unreadable = warnUnreadable

  constructor (lifecycle: Lifecycle, redis: Redis | Cluster, keyPrefix: string, serverClock: boolean, catalogWindows: CatalogWindows | null) {
    this.lifecycle = lifecycle
    this.redis = redis
    this.keyPrefix = keyPrefix
    this.now = serverClock ? () => '' : lifecycle.now
    this.catalogWindows = catalogWindows
    // Channels are not keys: the client's keyPrefix is not applied to them, so we do.
    const channelPrefix = `${redis.options?.keyPrefix ?? ''}${keyPrefix}`
    this.settledChannel = `${channelPrefix}:settled`
    this.queuedChannel = `${channelPrefix}:queued`
    const client = redis as unknown as Record<string, ScriptCall>
    const call = {} as Record<ScriptName, ScriptCall>
    for (const { operation, name, lua, numberOfKeys } of commands) {
      // Guarded: a second store on the same client reuses the definition.
      if (typeof client[name] !== 'function') redis.defineCommand(name, { lua, numberOfKeys })
      call[operation] = client[name].bind(redis)
    }
    this.call = call
  }

  private runtimeKey (runtimeId: string): string {
    return `${this.keyPrefix}:{${runtimeId}}`
  }

  private recordKey (runtimeId: string, id: string): string {
    return `${this.runtimeKey(runtimeId)}:req:${id}`
  }

  // lua/lifecycle.lua builds record keys from this name: keep the two in step.
  private queueKey (runtimeId: string): string {
    return `${this.runtimeKey(runtimeId)}:queue`
  }

  private sequenceKey (runtimeId: string): string {
    return `${this.runtimeKey(runtimeId)}:seq`
  }

  private runningKey (runtimeId: string): string {
    return `${this.runtimeKey(runtimeId)}:running`
  }

  private catalogKey (runtimeId: string): string {
    return `${this.runtimeKey(runtimeId)}:catalog`
  }

  private parse (runtimeId: string, reply: Reply): WorkRecord | null {
    return parse(runtimeId, reply, this.unreadable)
  }

  // The arguments every script starts with (see lua/lifecycle.lua).
  private common (): [number | '', number, string, string] {
    const { lifecycle } = this
    return [this.now(), lifecycle.retentionMs, lifecycle.pendingTimeoutError, lifecycle.runningTimeoutError]
  }

  async open (runtimeId: string, coalesce: boolean, useCache: boolean): Promise<OpenedWork> {
    const id = newId()
    const windows = this.catalogWindows
    const reply = await this.call.open(
      this.queueKey(runtimeId), this.sequenceKey(runtimeId), this.recordKey(runtimeId, id), this.catalogKey(runtimeId), this.runningKey(runtimeId),
      ...this.common(), id, this.lifecycle.pendingTimeoutMs, coalesce ? '1' : '0',
      useCache && windows !== null ? '1' : '0', windows?.serveWindowMs ?? 0, windows?.revalidateAfterMs ?? 0,
      this.queuedChannel, runtimeId) as OpenReply
    const queued = reply[1] === '1'
    if (reply[0] === 'cached') {
      if (typeof reply[4] === 'string') this.unreadable(reply[4].split('\n'))
      return { cached: { result: reply[2], storedAt: Number(reply[3]) }, queued }
    }
    return { record: this.parse(runtimeId, reply[2]) as WorkRecord, queued }
  }

  async get (runtimeId: string, id: string): Promise<WorkRecord | null> {
    const reply = await this.call.get(this.recordKey(runtimeId, id), ...this.common(), id) as Reply
    return this.parse(runtimeId, reply)
  }

  async hasPending (runtimeId: string): Promise<boolean> {
    return await this.call.hasPending(this.queueKey(runtimeId), ...this.common()) as number > 0
  }

  async popPending (runtimeId: string): Promise<WorkRecord | null> {
    const reply = await this.call.popPending(this.queueKey(runtimeId), this.runningKey(runtimeId), ...this.common(), this.lifecycle.runningTimeoutMs) as Reply
    return this.parse(runtimeId, reply)
  }

  async settle (runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    const payload = outcome.status === 'completed' ? outcome.result : outcome.error
    const windows = this.catalogWindows
    const reply = await this.call.settle(
      this.recordKey(runtimeId, id), this.queueKey(runtimeId), this.catalogKey(runtimeId), this.runningKey(runtimeId),
      ...this.common(), id, outcome.status, payload,
      windows === null ? 'keep' : cache, windows?.serveWindowMs ?? 0, this.settledChannel, runtimeId) as Reply
    return this.parse(runtimeId, reply)
  }

  async handBack (runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    const reply = await this.call.handBack(this.recordKey(runtimeId, id), this.queueKey(runtimeId), this.runningKey(runtimeId), ...this.common(),
      id, claimedAt, this.lifecycle.pendingTimeoutMs) as Reply
    return this.parse(runtimeId, reply)
  }

  /**
   * One subscriber connection (a duplicate of the client), made on first need.
   * ioredis subscribes again after a reconnect; what was published meanwhile
   * is lost, so held polls are woken to read again.
   */
  async listen (): Promise<void> {
    if (this.closed) throw new Error('model list store is closed')
    if (this.subscriber === undefined) {
      const subscriber = this.subscriber = this.redis.duplicate()
      // Its failures show where they matter: a route's store call answers 503.
      subscriber.on('error', () => {})
      subscriber.on('message', (channel: string, message: string) => this.hear(channel, message))
      let connections = 0
      subscriber.on('ready', () => {
        if (++connections > 1) this.signals.wakeAll()
        // A first SUBSCRIBE that failed (Redis was down) is sent again now.
        if (this.subscribed === undefined) this.subscribe().catch(() => {})
      })
    }
    await (this.subscribed ?? this.subscribe())
  }

  private async subscribe (): Promise<void> {
    const subscribed = this.subscribed = (this.subscriber as Redis).subscribe(this.settledChannel, this.queuedChannel).then(() => {}, (error: unknown) => {
      if (this.subscribed === subscribed) this.subscribed = undefined
      throw error
    })
    await subscribed
  }

  private hear (channel: string, message: string): void {
    if (channel === this.queuedChannel) {
      this.signals.emitQueued(message)
    } else {
      const [runtimeId, requestId] = message.split(' ')
      this.signals.emitSettled(runtimeId, requestId)
    }
  }

  async close (): Promise<void> {
    // The client is the host's; the subscriber is ours.
    this.closed = true
    this.subscriber?.disconnect()
  }
}

// A brace would move the hash tag off the runtime id.
export function checkKeyPrefix (keyPrefix: unknown): string {
  if (typeof keyPrefix !== 'string' || keyPrefix === '' || /[{}]/.test(keyPrefix)) {
    throw new InvalidOptionError(`keyPrefix must be a non-empty string without '{' or '}', got ${JSON.stringify(keyPrefix)}`)
  }
  return keyPrefix
}

export class RedisModelListStore extends WorkModelListStore {
  declare protected readonly backend: RedisBackend

  constructor (options: RedisModelListStoreOptions) {
    const { redis } = options ?? {}
    if (typeof redis?.defineCommand !== 'function') {
      throw new InvalidOptionError('redis must be an ioredis Redis or Cluster client')
    }
    const keyPrefix = checkKeyPrefix(given(options.keyPrefix, defaultKeyPrefix))
    // The backend works with ioredis's own types; the public option is structural.
    // Given no clock, every time is the Redis server's: replicas agree on deadlines.
    // ioredis-mock's server is this process, and its TIME's milliseconds are
    // noise: there, this process's clock is the server's.
    const serverClock = options.now === undefined && !/RedisMock/.test(redis.constructor.name)
    super(new RedisBackend(new Lifecycle(options), redis as unknown as Redis | Cluster, keyPrefix, serverClock, resolveCatalogCache(options.catalogCache)))
  }

  // Each unreadable record is removed by the script that meets it, so each is logged once.
  [kUseLog] (log: FastifyBaseLogger): void {
    this.backend.unreadable = keys => log.warn({ keys }, 'fastify-model-list: removed unreadable records (a field missing or malformed: edited by hand, or written by another version)')
  }
}
