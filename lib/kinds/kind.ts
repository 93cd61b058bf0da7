import type { TSchema } from '@sinclair/typebox'
import type { WorkRules } from '../rules'
import type { WithoutBody } from '../routes/create-body'
import type { CachedResult, CatalogAction, OpenRequest, Outcome, WorkRecord } from '../store/contract'

/** An answer already written as JSON (a cache answer around the stored bytes): the route sends it as is. */
export class WrittenAnswer {
  constructor (readonly id: string, private readonly parts: string[]) {}

  /**
   * The answer's bytes, written once into one buffer: joining a large stored
   * catalog into a new string first would cost a second copy of it per answer.
   */
  bytes (): Buffer {
    let length = 0
    for (const part of this.parts) length += Buffer.byteLength(part)
    const bytes = Buffer.allocUnsafe(length)
    let at = 0
    for (const part of this.parts) at += bytes.write(part, at)
    return bytes
  }
}

/** What documentation tools read off one route. */
export interface RouteDoc {
  operationId: string
  summary: string
  description: string
}

/**
 * A kind of work as the plugin runs it: the model list (built in) or a
 * declared one. Routes, validation, the heartbeat answer and the typed face
 * are all made from this; the kind's codec maps stored records to its wire
 * shapes and its wire bodies to what the store is asked.
 */
export interface Kind<Wire = unknown> {
  readonly name: string
  /** Where its routes mount: `/runtimes/:runtimeId/<path>`. */
  readonly path: string
  /** Its key in the heartbeat answer: `pending_<name>`. */
  readonly key: string
  readonly rules: WorkRules
  readonly exclusive: boolean
  readonly claimBatch: number
  readonly schemas: {
    /** The create route's body (JSON). */
    readonly create: TSchema
    /** What a create without a body (none, an empty JSON one, or JSON null) counts as. */
    readonly withoutBody: WithoutBody
    /** The create route's body limit, when not Fastify's. */
    readonly createBodyLimit: number | undefined
    readonly request: TSchema
    readonly report: TSchema
    /** Error answers beyond every route's (409 for declared kinds). */
    readonly createErrors: Record<number, TSchema>
  }
  /** Its OpenAPI tag, and what tools read off each route. */
  readonly docs: { tag: string, create: RouteDoc, get: RouteDoc, report: RouteDoc }
  /** What a POST with this body asks of the store. */
  openRequest(body: unknown): OpenRequest
  /** A stored record on the wire. */
  toWire(record: WorkRecord): Wire
  /** A cache answer on the wire (or already written), or null when the cached result cannot be read (a miss); a kind without a cache has none. */
  cacheAnswer?(runtimeId: string, cached: CachedResult): Wire | WrittenAnswer | null
  /** What a report body does: its outcome, and what an accepted one does to the cache. */
  report(body: unknown): { outcome: Outcome, cache: CatalogAction }
  /** What the heartbeat hands the daemon for the records it claimed. */
  pending(claimed: WorkRecord[]): unknown
}

// A daemon that fails without saying why still ends the request.
export const unexplainedFailure = 'daemon reported a failure without a message'

// Never ends on half of a surrogate pair: the stored error stays well-formed.
export function truncate (error: string, max: number): string {
  if (error.length <= max) return error
  const cut = error.slice(0, max)
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut
}
