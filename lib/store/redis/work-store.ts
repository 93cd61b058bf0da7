import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import { given, Lifecycle, type LifecycleOptions, type Outcome, type WorkRecord, type WorkStatus } from '../lifecycle'
import { catalogKey, channels, kindKeys, type KindKeys } from './redis-keys'
import type { FastifyBaseLogger } from 'fastify'
import { WorkModelListStore, type OpenedWork, type OpenRequest, type WorkBackend, type WorkRules } from '../store'
import { resolveCatalogCache, type CatalogAction, type CatalogCacheOptions, type CatalogWindows } from '../catalog'
import { Signals } from '../signals'
import { kMayHavePending, kUseLog, kWorkBackend } from '../capabilities'
import { InvalidOptionError } from '../errors'
import { checkId, newId } from '../ids'
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

// The key layout is written down in ./redis-keys.ts.

// One script per operation, each prefixed with the shared lifecycle chunk; the
// file name says how many keys the script declares (none: one queue per kind
// probed, so the probe is defined once per number of kinds).
// Even the probe's count is a script: only the server knows the server's time.
const scripts = {
  open: 'open-6',
  get: 'get-1',
  probe: 'probe-n',
  claim: 'claim-3',
  settle: 'settle-4',
  handBack: 'hand-back-3'
} as const
type ScriptName = keyof typeof scripts

// Field/value pairs, as HGETALL answers (see lua/lifecycle.lua). Redis turns
// an empty table into an empty array; ioredis-mock too.
type Pairs = Array<string | number>
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

/** The script as a command of the client; guarded: a second store on the same client reuses the definition. */
function define (redis: Redis | Cluster, name: string, lua: string, numberOfKeys: number): ScriptCall {
  const client = redis as unknown as Record<string, ScriptCall>
  if (typeof client[name] !== 'function') redis.defineCommand(name, { lua, numberOfKeys })
  return client[name].bind(redis)
}

/** Where the keys of removed unreadable records are told, until the plugin gives its logger. */
type Unreadable = (keys: string[]) => void

function warnUnreadable (keys: string[]): void {
  process.emitWarning(`removed unreadable model list records (a field missing or malformed: edited by hand, or written by another version): ${keys.join(', ')}`, 'FastifyModelListWarning')
}

const recordFields: Record<string, (record: WorkRecord, value: string) => void> = {
  s: (record, value) => { record.status = value as WorkStatus },
  c: (record, value) => { record.createdAt = Number(value) },
  u: (record, value) => { record.updatedAt = Number(value) },
  d: (record, value) => { record.deadline = Number(value) },
  r: (record, value) => { record.result = value },
  e: (record, value) => { record.error = value },
  p: (record, value) => { record.params = value }
}

/**
 * A script's answer read by field name: its own fields (`opened`, `queued`,
 * ...), the records it holds (each begins with `id`), and the keys of
 * unreadable records it removed, which go to `unreadable`.
 */
function read (rules: WorkRules, runtimeId: string, reply: Pairs, unreadable: Unreadable): { fields: Map<string, string>, records: WorkRecord[] } {
  const fields = new Map<string, string>()
  const records: WorkRecord[] = []
  let record: WorkRecord | undefined
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field = String(reply[i])
    const value = String(reply[i + 1])
    if (field === 'id') {
      records.push(record = { id: value, runtimeId, kind: rules.kind, status: 'pending', createdAt: 0, updatedAt: 0, deadline: 0 })
    } else if (record !== undefined && field in recordFields) {
      recordFields[field](record, value)
    } else {
      fields.set(field, value)
    }
  }
  const discarded = fields.get('discarded')
  if (discarded !== undefined) unreadable(discarded.split('\n'))
  return { fields, records }
}

/**
 * The Redis server's clock as this process knows it: its own, set right by
 * what the last read said the server's was (a held poll sleeps until a
 * deadline the server stamped). Off by at most that read's latency.
 */
class ServerClock {
  private offset = 0
  readonly now = (): number => Date.now() + this.offset

  heard (serverNow: string | undefined): void {
    if (serverNow !== undefined) this.offset = Number(serverNow) - Date.now()
  }
}

class RedisBackend implements WorkBackend {
  readonly lifecycle: Lifecycle
  readonly signals = new Signals()
  private readonly redis: Redis | Cluster
  private readonly call: Record<ScriptName, ScriptCall>
  private readonly probes = new Map<number, ScriptCall>()
  private readonly keyPrefix: string
  /** The instant scripts take as now: '' has them read the Redis server's clock. */
  private readonly now: () => number | ''
  private readonly serverClock: ServerClock | undefined
  private readonly catalogWindows: CatalogWindows | null
  private readonly settledChannel: string
  private readonly queuedChannel: string
  private subscriber: Redis | Cluster | undefined
  private subscribed: Promise<void> | undefined
  private closed = false
  unreadable: Unreadable = warnUnreadable

  // Takes the structural RedisClient: this class shows in the published types
  // (the store's protected backend), which must not import ioredis.
  constructor (lifecycle: Lifecycle, redis: RedisClient, keyPrefix: string, serverClock: ServerClock | undefined, catalogWindows: CatalogWindows | null) {
    this.lifecycle = lifecycle
    this.redis = redis as unknown as Redis | Cluster
    this.keyPrefix = keyPrefix
    this.serverClock = serverClock
    this.now = serverClock !== undefined ? () => '' : lifecycle.now
    this.catalogWindows = catalogWindows
    // Channels are not keys: the client's keyPrefix is not applied to them, so we do.
    const channelPrefix = `${this.redis.options?.keyPrefix ?? ''}${keyPrefix}`
    const { settled, queued } = channels(channelPrefix)
    this.settledChannel = settled
    this.queuedChannel = queued
    const call = {} as Record<ScriptName, ScriptCall>
    for (const { operation, name, lua, numberOfKeys } of commands) {
      call[operation] = define(this.redis, name, lua, Number.isInteger(numberOfKeys) ? numberOfKeys : 1)
    }
    this.call = call
    this.probes.set(1, call.probe)
  }

  // ioredis-mock cannot take the number of keys per call: one command per number of kinds probed.
  private probeOf (kinds: number): ScriptCall {
    let probe = this.probes.get(kinds)
    if (probe === undefined) {
      const { name, lua } = commands.find(command => command.operation === 'probe') as typeof commands[number]
      this.probes.set(kinds, probe = define(this.redis, `${name}_${kinds}`, lua, kinds))
    }
    return probe
  }

  private keys (runtimeId: string, kind: string): KindKeys {
    return kindKeys(this.keyPrefix, runtimeId, kind)
  }

  private read (rules: WorkRules, runtimeId: string, reply: unknown): { fields: Map<string, string>, records: WorkRecord[] } {
    return read(rules, runtimeId, reply as Pairs, this.unreadable)
  }

  // The arguments every script starts with (see lua/lifecycle.lua).
  private common (rules: WorkRules): [number | '', number, string, string] {
    return [this.now(), rules.retentionMs, rules.pendingTimeoutError, rules.runningTimeoutError]
  }

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    const id = newId()
    const windows = this.catalogWindows
    const keys = this.keys(runtimeId, rules.kind)
    const reply = await this.call.open(
      keys.queue, keys.seq, keys.records + id, catalogKey(this.keyPrefix, runtimeId), keys.running, keys.records,
      ...this.common(rules), id, rules.pendingTimeoutMs, request.coalesce ? '1' : '0',
      request.useCache && windows !== null ? '1' : '0', windows?.serveWindowMs ?? 0, windows?.revalidateAfterMs ?? 0,
      this.queuedChannel, runtimeId, rules.kind, request.exclusive ? '1' : '0', request.params ?? '')
    const { fields, records } = this.read(rules, runtimeId, reply)
    const queued = fields.get('queued') === '1'
    switch (fields.get('opened')) {
      case 'busy': return { busy: fields.get('busy') as string }
      case 'cached': return { cached: { result: fields.get('result') as string, storedAt: Number(fields.get('at')) }, queued }
      default: return { record: records[0], queued }
    }
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    const reply = await this.call.get(this.keys(runtimeId, rules.kind).records + id, ...this.common(rules), id)
    const { fields, records } = this.read(rules, runtimeId, reply)
    this.serverClock?.heard(fields.get('now'))
    return records[0] ?? null
  }

  async probe (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    // Only the clock of the common arguments matters to a count.
    const counts = await this.probeOf(kinds.length)(...kinds.map(kind => this.keys(runtimeId, kind).queue), this.now(), 0, '', '') as number[]
    return counts.map(count => count > 0)
  }

  // The heartbeat's probe. For one kind (the model list alone) one plain
  // command, no script, no clock: claims and reports take their entries out of
  // the queue and only entries past their deadline linger there (until a script
  // meets them), so a count may be a spurious "maybe", never a wrong "no".
  // Several kinds in one round trip need the script.
  async mayHavePending (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    if (kinds.length !== 1) return await this.probe(runtimeId, kinds)
    return [await this.redis.zcard(this.keys(runtimeId, kinds[0]).queue) > 0]
  }

  async claim (rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]> {
    const keys = this.keys(runtimeId, rules.kind)
    const reply = await this.call.claim(keys.queue, keys.running, keys.records, ...this.common(rules), rules.runningTimeoutMs, max)
    return this.read(rules, runtimeId, reply).records
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    const payload = outcome.status === 'completed' ? outcome.result : outcome.error
    const windows = this.catalogWindows
    const keys = this.keys(runtimeId, rules.kind)
    const reply = await this.call.settle(
      keys.records + id, keys.queue, catalogKey(this.keyPrefix, runtimeId), keys.running,
      ...this.common(rules), id, outcome.status, payload,
      windows === null ? 'keep' : cache, windows?.serveWindowMs ?? 0, this.settledChannel, runtimeId)
    return this.read(rules, runtimeId, reply).records[0] ?? null
  }

  async handBack (rules: WorkRules, runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    const keys = this.keys(runtimeId, rules.kind)
    const reply = await this.call.handBack(keys.records + id, keys.queue, keys.running, ...this.common(rules),
      id, claimedAt, rules.pendingTimeoutMs)
    return this.read(rules, runtimeId, reply).records[0] ?? null
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
      const [runtimeId, kind] = message.split(' ')
      this.signals.emitQueued(runtimeId, kind)
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
    // This process then counts down to deadlines by the server's clock as it last read it.
    const serverClock = options.now === undefined && !/RedisMock/.test(redis.constructor.name) ? new ServerClock() : undefined
    const lifecycle = new Lifecycle(serverClock === undefined ? options : { ...options, now: serverClock.now })
    super(new RedisBackend(lifecycle, redis, keyPrefix, serverClock, resolveCatalogCache(options.catalogCache)))
  }

  // Most heartbeats end here: ZCARD instead of hasPending's script (the server's
  // clock and the lifecycle chunk made a heartbeat cost Redis twice a GET).
  async [kMayHavePending] (runtimeId: string): Promise<boolean> {
    checkId('runtimeId', runtimeId)
    const [maybe] = await this.backend.mayHavePending(runtimeId, [this.rules.kind])
    return maybe
  }

  // Each unreadable record is removed by the script that meets it, so each is logged once.
  [kUseLog] (log: FastifyBaseLogger): void {
    this.backend.unreadable = keys => log.warn({ keys }, 'fastify-model-list: removed unreadable records (a field missing or malformed: edited by hand, or written by another version)')
  }

  [kWorkBackend] (): WorkBackend {
    return this.backend
  }
}
