import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import { given, Lifecycle, type LifecycleOptions, type Outcome, type WorkRecord, type WorkStatus } from '../lifecycle'
import type { FastifyBaseLogger } from 'fastify'
import { WorkModelListStore, type WorkBackend } from '../store'
import { kUseLog } from '../capabilities'
import { InvalidOptionError } from '../errors'
import { newId } from '../ids'
import type { RedisClient } from './redis-client'

export interface RedisModelListStoreOptions extends LifecycleOptions {
  /** An ioredis 5 or 6 `Redis` or `Cluster`. */
  redis: RedisClient
  /** Key namespace; no `{` or `}`, which would move the hash tag. */
  keyPrefix?: string
}

const defaultKeyPrefix = 'model-list'

// Key layout (every key of a runtime carries the hash tag {runtimeId}, so a
// Cluster spreads runtimes over its masters and no script spans two slots):
//   <prefix>:{<runtimeId>}:queue            sorted set of pending requests, scored by
//                                            deadline; members '<sequence>:<requestId>'
//   <prefix>:{<runtimeId>}:seq              the sequence that keeps equal deadlines in order
//   <prefix>:{<runtimeId>}:req:<requestId>  hash: s status, c created, u updated,
//                                            d deadline, r result, e error, m queue member
// Each key expires `retentionMs` after its last change.

// One script per operation, each prefixed with the shared lifecycle chunk; the
// file name says how many keys the script declares. Even hasPending's count is
// a script: only the server knows the server's time.
const scripts = {
  create: 'create-3',
  get: 'get-1',
  hasPending: 'has-pending-1',
  popPending: 'pop-pending-1',
  settle: 'settle-2',
  handBack: 'hand-back-2'
} as const
type ScriptName = keyof typeof scripts

// Redis turns a script's false into null; ioredis-mock keeps it false.
type Missing = null | false
// id s c u d r e, then the keys of unreadable records the script removed (one per
// line, when there were any); id '' when there is no record.
type Reply = [string, WorkStatus, string, string, string, string | Missing, string | Missing, (string | Missing)?] | Missing
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
  private readonly lifecycle: Lifecycle
  private readonly call: Record<ScriptName, ScriptCall>
  private readonly keyPrefix: string
  /** The instant scripts take as now: '' has them read the Redis server's clock. */
  private readonly now: () => number | ''
  unreadable: Unreadable = warnUnreadable

  constructor (lifecycle: Lifecycle, redis: Redis | Cluster, keyPrefix: string, serverClock: boolean) {
    this.lifecycle = lifecycle
    this.keyPrefix = keyPrefix
    this.now = serverClock ? () => '' : lifecycle.now
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

  private parse (runtimeId: string, reply: Reply): WorkRecord | null {
    return parse(runtimeId, reply, this.unreadable)
  }

  // The arguments every script starts with (see lua/lifecycle.lua).
  private common (): [number | '', number, string, string] {
    const { lifecycle } = this
    return [this.now(), lifecycle.retentionMs, lifecycle.pendingTimeoutError, lifecycle.runningTimeoutError]
  }

  async create (runtimeId: string, coalesce: boolean): Promise<WorkRecord> {
    const id = newId()
    const reply = await this.call.create(this.queueKey(runtimeId), this.sequenceKey(runtimeId), this.recordKey(runtimeId, id), ...this.common(),
      id, this.lifecycle.pendingTimeoutMs, coalesce ? '1' : '0') as Reply
    return this.parse(runtimeId, reply) as WorkRecord
  }

  async get (runtimeId: string, id: string): Promise<WorkRecord | null> {
    const reply = await this.call.get(this.recordKey(runtimeId, id), ...this.common(), id) as Reply
    return this.parse(runtimeId, reply)
  }

  async hasPending (runtimeId: string): Promise<boolean> {
    return await this.call.hasPending(this.queueKey(runtimeId), ...this.common()) as number > 0
  }

  async popPending (runtimeId: string): Promise<WorkRecord | null> {
    const reply = await this.call.popPending(this.queueKey(runtimeId), ...this.common(), this.lifecycle.runningTimeoutMs) as Reply
    return this.parse(runtimeId, reply)
  }

  async settle (runtimeId: string, id: string, outcome: Outcome): Promise<WorkRecord | null> {
    const payload = outcome.status === 'completed' ? outcome.result : outcome.error
    const reply = await this.call.settle(this.recordKey(runtimeId, id), this.queueKey(runtimeId), ...this.common(),
      id, outcome.status, payload) as Reply
    return this.parse(runtimeId, reply)
  }

  async handBack (runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    const reply = await this.call.handBack(this.recordKey(runtimeId, id), this.queueKey(runtimeId), ...this.common(),
      id, claimedAt, this.lifecycle.pendingTimeoutMs) as Reply
    return this.parse(runtimeId, reply)
  }

  async close (): Promise<void> {
    // The client is the host's: nothing of ours to release yet.
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
    super(new RedisBackend(new Lifecycle(options), redis as unknown as Redis | Cluster, keyPrefix, serverClock))
  }

  // Each unreadable record is removed by the script that meets it, so each is logged once.
  [kUseLog] (log: FastifyBaseLogger): void {
    this.backend.unreadable = keys => log.warn({ keys }, 'fastify-model-list: removed unreadable records (a field missing or malformed: edited by hand, or written by another version)')
  }
}
