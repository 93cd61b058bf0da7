import type { FastifyBaseLogger } from 'fastify'
import { checkFunction, given, type WorkRules } from '../../rules'
import { resolveCatalogCache, type CatalogCacheOptions, type CatalogWindows } from '../../catalog'
import { InvalidOptionError } from '../../errors'
import { newId } from '../../ids'
import { Signals } from '../signals'
import type { CatalogAction, OpenedWork, OpenRequest, Outcome, QueuedListener, WorkRecord, WorkStore } from '../contract'
import type { RedisClient } from './client'
import { ServerClock } from './clock'
import { canaryChannel, carriedBytes, catalogKey, channels, checkKeyPrefix, defaultKeyPrefix, kindKeys, type KindKeys } from './keys'
import { changeOf, readReply, type Reply } from './reply'
import { ReplicaWait, checkWaitForReplicas, type WaitForReplicas } from './replicas'
import { defineScripts, type Scripts } from './scripts'
import { Subscriber } from './subscriber'
import { IdleRuntimes, resolveIdleRuntimeCache, type IdleRuntimeCacheOptions } from './idle-runtimes'
import { Canary } from './canary'
import { FailoverWatch } from './failover-watch'
import { none } from '../nothing'

export interface RedisWorkStoreOptions {
  /** An ioredis 5 or 6 `Redis` or `Cluster`; the host's, never closed by the store. */
  redis: RedisClient
  /** Key namespace; no `{` or `}`, which would move the hash tag. */
  keyPrefix?: string
  /**
   * The store's clock (epoch ms), which stamps every record. Without it every
   * time is the Redis server's (its TIME), so replicas agree on deadlines.
   * ioredis-mock needs one: its TIME's milliseconds are noise.
   */
  now?: () => number
  /** The catalog cache's windows, or false for none. */
  catalogCache?: CatalogCacheOptions | false
  /** After each state change, WAIT until this many replicas have it (at most timeoutMs); default off. */
  waitForReplicas?: WaitForReplicas
  /** Idle heartbeats answered without Redis (on by default), or false for none. */
  idleRuntimeCache?: IdleRuntimeCacheOptions | false
}

/** The operations that change state: each WAITs for replicas when asked to. */
type Change = 'open' | 'claim' | 'settle' | 'handBack'

function warnUnreadable (keys: string[]): void {
  process.emitWarning(`removed unreadable work records (a field missing or malformed: edited by hand, or written by another version): ${keys.join(', ')}`, 'FastifyModelListWarning')
}

// The record a script answered (or null), with what the script says it changed.
function withChange (record: WorkRecord | undefined, fields: Map<string, string>): WorkRecord | null {
  if (record === undefined) return null
  const change = changeOf(fields)
  if (change !== undefined) record.change = change
  return record
}

/**
 * The work store on Redis, shared by every replica: each operation is one
 * round trip (one script, or one plain command), atomic inside Redis. The key
 * layout is written down in ./keys.ts, the scripts in ./lua.
 */
export class RedisWorkStore implements WorkStore {
  private readonly redis: RedisClient
  private readonly scripts: Scripts
  private readonly keyPrefix: string
  /** The instant scripts take as now: '' has them read the Redis server's clock. */
  private readonly stamp: () => number | ''
  private readonly clock: (() => number) | undefined
  private readonly serverClock: ServerClock | undefined
  private readonly catalogWindows: CatalogWindows | null
  private readonly queuedChannel: string
  private readonly settledChannel: string
  private readonly signals = new Signals()
  private readonly subscriber: Subscriber
  // A Cluster master lost: what it published last may never have gone out.
  private readonly failoverWatch: FailoverWatch
  private readonly replicaWait: ReplicaWait | undefined
  // Runtimes whose probe found nothing, trusted while the canary proves the
  // subscriber hears every signal; null when the cache is off.
  private readonly idle: IdleRuntimes | null
  private readonly canary: Canary | undefined
  // The subscriber's connection when the canary last proved it.
  private provenPath: object | undefined
  private watchingIdle = false
  // Waiting for the cache to be trusted (idleCacheReady).
  private trustWaiters: Array<() => void> = []
  private closed = false
  // Each unreadable record is removed by the script that meets it, so each is told once.
  private unreadable: (keys: string[]) => void = warnUnreadable

  constructor (options: RedisWorkStoreOptions) {
    const { redis } = options ?? {}
    if (typeof redis?.defineCommand !== 'function') {
      throw new InvalidOptionError('redis must be an ioredis Redis or Cluster client')
    }
    this.redis = redis
    const waitForReplicas = checkWaitForReplicas(options.waitForReplicas)
    if (waitForReplicas !== undefined && typeof redis.pipeline !== 'function') {
      throw new InvalidOptionError('waitForReplicas needs a client with pipeline()')
    }
    this.keyPrefix = checkKeyPrefix(given(options.keyPrefix, defaultKeyPrefix))
    if (options.now === undefined) {
      // This process then counts down to deadlines by the server's clock as it last read it.
      this.serverClock = new ServerClock()
      this.stamp = () => ''
    } else {
      this.clock = checkFunction('now', options.now)
      // By `now()`, so a subclass's clock is the one that stamps.
      this.stamp = () => this.now()
    }
    this.catalogWindows = resolveCatalogCache(options.catalogCache)
    const cache = resolveIdleRuntimeCache(options.idleRuntimeCache)
    this.scripts = defineScripts(redis)
    // Channels are not keys: the client's keyPrefix is not applied to them, so we do.
    const clientPrefix = (redis as { options?: { keyPrefix?: string } }).options?.keyPrefix ?? ''
    const { settled, queued } = channels(`${clientPrefix}${this.keyPrefix}`)
    this.settledChannel = settled
    this.queuedChannel = queued
    if (waitForReplicas !== undefined) this.replicaWait = new ReplicaWait(waitForReplicas, this.clock)
    this.idle = cache === null ? null : new IdleRuntimes(cache)
    let signalPath
    if (this.idle !== null) {
      const idle = this.idle
      const channel = canaryChannel(`${clientPrefix}${this.keyPrefix}`, newId())
      const canary = this.canary = new Canary({ redis, channel, proven: () => this.proven(), failed: () => idle.distrust() })
      signalPath = {
        canaryChannel: channel,
        claimable: (runtimeId: string) => idle.signal(runtimeId),
        canary: (message: string) => canary.heard(message),
        down: () => idle.distrust(),
        // ioredis subscribes again right after 'ready': the canary goes out once that is sent.
        up: () => { if (this.watchingIdle && !idle.trusted) setImmediate(() => this.prove()) }
      }
    }
    // Signals published while the subscriber was away are lost: every held poll reads once more.
    this.subscriber = new Subscriber({ redis, channels: { settled, queued }, signals: this.signals, signalPath, onResubscribed: () => { this.signals.wakeAll() } })
    // And once its replica has taken over, they read once more: a report it accepted is there now.
    this.failoverWatch = new FailoverWatch(redis, () => { this.signals.wakeAll() })
  }

  // The canary was heard on the subscriber's connection: trust what is remembered from now on.
  private proven (): void {
    const path = this.subscriber.path()
    if (path === undefined) return
    if (path !== this.provenPath) (this.idle as IdleRuntimes).distrust()
    this.provenPath = path
    ;(this.idle as IdleRuntimes).trust()
    this.wakeTrustWaiters()
  }

  private wakeTrustWaiters (): void {
    for (const wake of this.trustWaiters.splice(0)) wake()
  }

  // The cache listens from the first heartbeat on: subscriber, then the canary.
  private watchIdle (): void {
    if (this.watchingIdle || this.closed) return
    this.watchingIdle = true
    this.subscriber.start()
    this.prove()
  }

  // Once subscribed, a canary now (the first starts the ticks). Not subscribed
  // yet: the subscriber keeps trying, and its next 'ready' comes back here.
  private prove (): void {
    const canary = this.canary as Canary
    this.subscriber.listening().then(() => canary.started ? canary.soon() : canary.start(), () => {})
  }

  /**
   * Resolves once idle heartbeats may be answered without Redis (the first
   * canary heard); at once when the cache is off.
   */
  async idleCacheReady (): Promise<void> {
    if (this.idle === null) return
    this.watchIdle()
    if (this.idle.trusted || this.closed) return
    await new Promise<void>(resolve => this.trustWaiters.push(resolve))
  }

  /** The given clock; without one, the Redis server's as last read. */
  now (): number {
    return this.clock !== undefined ? this.clock() : (this.serverClock as ServerClock).now()
  }

  useLog (log: FastifyBaseLogger): void {
    this.unreadable = keys => log.warn({ keys }, 'fastify-model-list: removed unreadable records (a field missing or malformed: edited by hand, or written by another version)')
    this.subscriber.useLog(log)
    this.replicaWait?.useLog(log)
  }

  // A state change: one script call, or with waitForReplicas the script and
  // WAIT in one pipeline (still one round trip). Reads never wait.
  private async change (operation: Change, ...args: Array<string | number>): Promise<unknown> {
    if (this.replicaWait === undefined) return await this.scripts[operation](...args)
    return await this.replicaWait.run(this.redis, this.scripts.names[operation], args)
  }

  private keys (runtimeId: string, kind: string): KindKeys {
    return kindKeys(this.keyPrefix, runtimeId, kind)
  }

  private read (rules: WorkRules, runtimeId: string, reply: unknown): Reply {
    const read = readReply(rules.kind, runtimeId, reply)
    if (read.discarded.length > 0) this.unreadable(read.discarded)
    return read
  }

  // The arguments every script starts with (see lua/lifecycle.lua).
  private common (rules: WorkRules): [number | '', number, string, string] {
    return [this.stamp(), rules.retentionMs, rules.pendingTimeoutError, rules.runningTimeoutError]
  }

  async open (rules: WorkRules, runtimeId: string, request: OpenRequest): Promise<OpenedWork> {
    const id = newId()
    const windows = this.catalogWindows
    const keys = this.keys(runtimeId, rules.kind)
    const reply = await this.change('open',
      keys.queue, keys.seq, keys.records + id, catalogKey(this.keyPrefix, runtimeId), keys.running, keys.records,
      ...this.common(rules), id, rules.pendingTimeoutMs, request.coalesce ? '1' : '0',
      request.useCache && windows !== null ? '1' : '0', windows?.serveWindowMs ?? 0, windows?.revalidateAfterMs ?? 0,
      this.queuedChannel, runtimeId, rules.kind, request.exclusive ? '1' : '0', request.params ?? '',
      Math.max(rules.retentionMs, rules.pendingTimeoutMs + rules.runningTimeoutMs))
    const { fields, records } = this.read(rules, runtimeId, reply)
    const queued = fields.get('queued') === '1'
    // Heard here before the subscriber hears it: a heartbeat right after the POST finds it.
    if (queued) this.idle?.signal(runtimeId)
    switch (fields.get('opened')) {
      case 'busy': return { busy: fields.get('busy') as string }
      case 'cached': {
        const cached = { result: fields.get('result') as string, storedAt: Number(fields.get('at')) }
        return records.length === 0 ? { cached, queued } : { cached, queued, refresh: records[0] }
      }
      default: return { record: records[0], queued }
    }
  }

  async get (rules: WorkRules, runtimeId: string, id: string): Promise<WorkRecord | null> {
    const reply = await this.scripts.get(this.keys(runtimeId, rules.kind).records + id, ...this.common(rules), id)
    const { fields, records } = this.read(rules, runtimeId, reply)
    this.serverClock?.heard(fields.get('now'))
    return withChange(records[0], fields)
  }

  async probe (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    const generation = this.idle?.begin()
    // Only the clock of the common arguments matters to a count.
    const queues = kinds.map(kind => this.keys(runtimeId, kind).queue)
    const counts = await this.scripts.probe(kinds.length)(...queues, this.stamp(), 0, '', '') as number[]
    const pending = counts.map(count => count > 0)
    if (generation !== undefined && !pending.includes(true)) this.idle?.remember(runtimeId, kinds, generation)
    return pending
  }

  /**
   * An idle heartbeat answered from what this replica remembers, with no
   * command and no allocation; undefined when it must ask Redis.
   */
  probeNow (runtimeId: string, kinds: readonly string[]): boolean[] | undefined {
    const { idle } = this
    if (idle === null) return undefined
    if (!idle.trusted) {
      this.watchIdle()
      return undefined
    }
    // The subscriber moved (a Cluster failover) or is down: what it missed is unknown.
    if (this.subscriber.path() !== this.provenPath) {
      idle.distrust()
      ;(this.canary as Canary).soon()
      return undefined
    }
    return idle.idleFor(runtimeId, kinds) ? none(kinds.length) : undefined
  }

  // The heartbeat's probe. For one kind one plain command, no script, no
  // clock: claims and reports take their entries out of the queue and only
  // entries past their deadline linger there (until a script meets them), so
  // a count may be a spurious "maybe", never a wrong "no". Several kinds in
  // one round trip need the script.
  async mayHavePending (runtimeId: string, kinds: readonly string[]): Promise<boolean[]> {
    if (kinds.length !== 1) return await this.probe(runtimeId, kinds)
    const generation = this.idle?.begin()
    const pending = await this.redis.zcard(this.keys(runtimeId, kinds[0]).queue) > 0
    if (generation !== undefined && !pending) this.idle?.remember(runtimeId, kinds, generation)
    return [pending]
  }

  async claim (rules: WorkRules, runtimeId: string, max: number): Promise<WorkRecord[]> {
    const keys = this.keys(runtimeId, rules.kind)
    const reply = await this.change('claim', keys.queue, keys.running, keys.records, ...this.common(rules), rules.runningTimeoutMs, max)
    return this.read(rules, runtimeId, reply).records
  }

  async settle (rules: WorkRules, runtimeId: string, id: string, outcome: Outcome, cache: CatalogAction): Promise<WorkRecord | null> {
    const payload = outcome.status === 'completed' ? outcome.result : outcome.error
    const windows = this.catalogWindows
    const keys = this.keys(runtimeId, rules.kind)
    const reply = await this.change('settle',
      keys.records + id, keys.queue, catalogKey(this.keyPrefix, runtimeId), keys.running,
      ...this.common(rules), id, outcome.status, payload,
      windows === null ? 'keep' : cache, windows?.serveWindowMs ?? 0, this.settledChannel, runtimeId, rules.kind, carriedBytes)
    const { fields, records } = this.read(rules, runtimeId, reply)
    return withChange(records[0], fields)
  }

  async handBack (rules: WorkRules, runtimeId: string, id: string, claimedAt: number): Promise<WorkRecord | null> {
    const keys = this.keys(runtimeId, rules.kind)
    const reply = await this.change('handBack', keys.records + id, keys.queue, keys.running, ...this.common(rules),
      id, claimedAt, rules.pendingTimeoutMs, this.queuedChannel, `${runtimeId} ${rules.kind} back`)
    const record = this.read(rules, runtimeId, reply).records[0] ?? null
    if (record !== null) this.idle?.signal(runtimeId)
    return record
  }

  async watchSettled (runtimeId: string, id: string, wake: (record?: WorkRecord) => void): Promise<() => void> {
    const unwatch = this.signals.watchSettled(runtimeId, id, wake)
    this.failoverWatch.start()
    try {
      await this.subscriber.listening()
    } catch (error) {
      unwatch()
      throw error
    }
    return unwatch
  }

  onQueued (listener: QueuedListener): () => void {
    const off = this.signals.onQueued(listener)
    // A hint missed while the subscriber connects costs only latency: the next heartbeat claims.
    this.subscriber.start()
    return off
  }

  async listening (): Promise<void> {
    await this.subscriber.listening()
  }

  async close (): Promise<void> {
    // The client is the host's; the subscriber and the canary's publisher are ours.
    this.closed = true
    this.wakeTrustWaiters()
    this.canary?.close()
    this.subscriber.close()
    this.failoverWatch.stop()
  }
}
