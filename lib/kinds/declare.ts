import type { SchemaStatic, WorkSchema } from '../schemas/static'
import { checkDuration, modelListKind } from '../rules'
import { InvalidOptionError, shown } from '../errors'

// A kind of daemon work is data: a declaration the plugin reads to make its
// routes, validation, storage and heartbeat answer. The model list is the
// first kind (built in); a host declares the others with `daemonWork`.

const namePattern = /^[a-z][a-z0-9_]{0,31}$/
const pathPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/
export const maxClaimBatch = 50
const kDaemonWork = Symbol.for('fastify-model-list.daemonWork')
const knownFields = new Set(['name', 'path', 'params', 'result', 'pendingTimeoutMs', 'runningTimeoutMs', 'retentionMs', 'coalesce', 'exclusive', 'claimBatch'])

export interface DaemonWorkOptions<Name extends string, Params extends WorkSchema | undefined, Result extends WorkSchema, Batch extends number> {
  /** `[a-z][a-z0-9_]{0,31}`; 'model_list' is taken. The heartbeat answers it as `pending_<name>`. */
  name: Name
  /** Where its routes mount (one path segment); default: the name with '_' as '-'. */
  path?: string
  /** The POST body, which the daemon receives (a TypeBox schema, from @sinclair/typebox or typebox); default: none. */
  params?: Params
  /** What a completed report carries (a TypeBox schema, from @sinclair/typebox or typebox). */
  result: Result
  /** Default: the plugin's. */
  pendingTimeoutMs?: number
  /** Default: the plugin's. */
  runningTimeoutMs?: number
  /** Default: the plugin's, or twice the kind's longest timeout when that is longer. */
  retentionMs?: number
  /** Default true: a POST joins a claimable pending request with equal params. */
  coalesce?: boolean
  /** True: while one is pending or running, another POST answers 409. */
  exclusive?: boolean
  /** How many one heartbeat claims, 1 to 50; default 1. Above 1 the heartbeat answers an array. */
  claimBatch?: Batch
}

/** A declared kind of daemon work, as `daemonWork` answers it. */
export interface DaemonWork<Name extends string = string, Params extends WorkSchema | undefined = WorkSchema | undefined, Result extends WorkSchema = WorkSchema, Batch extends number = number> {
  readonly name: Name
  readonly path: string
  readonly params: Params
  readonly result: Result
  readonly pendingTimeoutMs: number | undefined
  readonly runningTimeoutMs: number | undefined
  readonly retentionMs: number | undefined
  readonly coalesce: boolean
  readonly exclusive: boolean
  readonly claimBatch: Batch
}

/** The params a kind's POST takes and its daemon receives (undefined for a kind without). */
export type WorkParams<Kind> = Kind extends DaemonWork<string, infer Params, WorkSchema, number>
  ? Params extends WorkSchema ? SchemaStatic<Params> : undefined
  : never

/** What a kind's completed report carries. */
export type WorkResult<Kind> = Kind extends DaemonWork<string, WorkSchema | undefined, infer Result, number> ? SchemaStatic<Result> : never

/** One claimed request as the heartbeat hands it to the daemon. */
export type PendingWorkItem<Kind> = WorkParams<Kind> extends undefined ? { id: string } : { id: string, params: WorkParams<Kind> }

/**
 * The heartbeat answer of `claimPendingWork` for these kinds: a key per kind
 * that had work; an array for a kind that claims more than one at a time.
 */
export type PendingWork<Kinds extends readonly DaemonWork[] = []> = { pending_model_list?: { id: string } } & {
  [Kind in Kinds[number] as `pending_${Kind['name']}`]?: Kind['claimBatch'] extends 1 ? PendingWorkItem<Kind> : Array<PendingWorkItem<Kind>>
}

/** A kind's name as its operation ids spell it: `local_skills` in `createLocalSkillsRequest`. */
export function operationName (name: string): string {
  return name.split('_').map(part => part.charAt(0).toUpperCase() + part.slice(1)).join('')
}

function isSchema (value: unknown): value is WorkSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function optionalDuration (name: string, value: unknown): number | undefined {
  return value === undefined ? undefined : checkDuration(name, value)
}

function optionalBoolean (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${name} must be a boolean, got ${shown(value)}`)
  return value
}

/** Declares a kind of daemon work; `register`'s `work` option takes it. Mistakes throw here, naming the field. */
export function daemonWork<const Name extends string, Result extends WorkSchema, Params extends WorkSchema | undefined = undefined, const Batch extends number = 1> (
  options: DaemonWorkOptions<Name, Params, Result, Batch>
): DaemonWork<Name, Params, Result, Batch> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('daemonWork needs an options object')
  const { name } = options
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new InvalidOptionError(`daemonWork name must match [a-z][a-z0-9_]{0,31}, got ${shown(name)}`)
  }
  if (name === modelListKind) throw new InvalidOptionError(`daemonWork name '${name}' is taken`)
  const field = (key: string): string => `${name}.${key}`
  // A typo (`claimbatch`) would otherwise be silently ignored.
  const unknown = Object.keys(options).filter(key => !knownFields.has(key))
  if (unknown.length > 0) throw new InvalidOptionError(`${name}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`)
  const path = options.path ?? name.replace(/_/g, '-')
  if (typeof path !== 'string' || !pathPattern.test(path)) {
    throw new InvalidOptionError(`${field('path')} must be one path segment of [a-z0-9_-] (up to 64), got ${shown(path)}`)
  }
  if (options.params !== undefined && !isSchema(options.params)) throw new InvalidOptionError(`${field('params')} must be a TypeBox schema, got ${shown(options.params)}`)
  if (!isSchema(options.result)) throw new InvalidOptionError(`${field('result')} must be a TypeBox schema, got ${shown(options.result)}`)
  const claimBatch = options.claimBatch ?? 1
  if (!Number.isInteger(claimBatch) || claimBatch < 1 || claimBatch > maxClaimBatch) {
    throw new InvalidOptionError(`${field('claimBatch')} must be an integer from 1 to ${maxClaimBatch}, got ${shown(claimBatch)}`)
  }
  const kind = {
    name,
    path,
    params: options.params as Params,
    result: options.result,
    pendingTimeoutMs: optionalDuration(field('pendingTimeoutMs'), options.pendingTimeoutMs),
    runningTimeoutMs: optionalDuration(field('runningTimeoutMs'), options.runningTimeoutMs),
    retentionMs: optionalDuration(field('retentionMs'), options.retentionMs),
    coalesce: optionalBoolean(field('coalesce'), options.coalesce, true),
    exclusive: optionalBoolean(field('exclusive'), options.exclusive, false),
    claimBatch: claimBatch as Batch
  }
  Object.defineProperty(kind, kDaemonWork, { value: true })
  return Object.freeze(kind)
}

/** Whether `value` came from `daemonWork`. */
export function isDaemonWork (value: unknown): value is DaemonWork {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kDaemonWork] === true
}
