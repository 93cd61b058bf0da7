// Hostile requests for a declared kind's routes, made from its declared
// schemas: a valid value (or one with a single certain fault) is generated
// from the params and result schemas themselves, so any kind can be fuzzed
// without hand-written bodies. Bodies are JSON text built by ./fuzz.ts.
import { randomUUID } from 'node:crypto'
import type { TSchema } from '@sinclair/typebox'
import type { DaemonWork } from '../../lib/index'
import { Entries, idVariant, jsonText, jsonTypes, nest, obj, objectKeys, objectsIn, oddTypes, pastLimit, setField, text, wrongValues, type Json } from './fuzz'
import type { Random } from './random'

type Schema = TSchema & {
  type?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  maxLength?: number
  maxItems?: number
  minimum?: number
}

/** A value the schema accepts: every required field, some optional ones, short strings of odd characters. */
export function validValue (rng: Random, schema: Schema): Json {
  switch (schema.type) {
    case 'object': {
      const fields: Record<string, Json> = {}
      for (const [key, inner] of Object.entries(schema.properties ?? {})) {
        if ((schema.required ?? []).includes(key) || rng.chance(0.5)) fields[key] = validValue(rng, inner)
      }
      return obj(fields)
    }
    case 'string': return text(rng, rng.int(0, Math.min(schema.maxLength ?? 16, 16)))
    case 'integer': return (schema.minimum ?? 0) + rng.int(0, 1_000)
    case 'number': return (schema.minimum ?? 0) + rng.next() * 1_000
    case 'boolean': return rng.chance(0.5)
    case 'array': return Array.from({ length: rng.int(0, Math.min(schema.maxItems ?? 3, 3)) }, () => validValue(rng, schema.items as Schema))
    default: throw new Error(`no generator for a schema of type ${String(schema.type)}`)
  }
}

/** Values no reading of `schema` accepts (strict validation: no coercion). */
function wrongFor (rng: Random, schema: Schema): Json {
  const wrong: Record<string, Json[]> = {
    object: ['x', 1, true, [], [obj({})]],
    string: [1, 0, true, obj({}), [], ['x']],
    integer: ['2', 1.5, true, obj({}), [1]],
    number: ['2', true, obj({}), [1]],
    boolean: ['true', 'false', 1, 0, obj({})],
    array: ['x', 1, obj({}), true]
  }
  // null is wrong for every type here, and the one a lax validator coerces most often.
  return rng.chance(0.2) ? null : rng.pick(wrong[schema.type as string])
}

/** Every sub-schema of `schema` with the path to it, the root first. */
function places (schema: Schema, path: string[] = [], found: Array<{ path: string[], schema: Schema }> = []): Array<{ path: string[], schema: Schema }> {
  found.push({ path, schema })
  if (schema.type === 'object') for (const [key, inner] of Object.entries(schema.properties ?? {})) places(inner, [...path, key], found)
  if (schema.type === 'array') places(schema.items as Schema, [...path, '0'], found)
  return found
}

/** `value` with `at` (a path of keys and indexes) replaced, made on the way when missing. */
function plant (rng: Random, schema: Schema, value: Json, at: string[], leaf: (current: Json | undefined) => Json | undefined): Json {
  if (at.length === 0) return leaf(value) as Json
  const [key, ...rest] = at
  if (schema.type === 'array') {
    const items = Array.isArray(value) && value.length > 0 ? [...value] : [validValue(rng, schema.items as Schema)]
    items[0] = plant(rng, schema.items as Schema, items[0], rest, leaf)
    return items
  }
  const entries = value instanceof Entries ? [...value.entries] : []
  const index = entries.findIndex(([k]) => k === key)
  const inner = (schema.properties as Record<string, Schema>)[key]
  const current = index === -1 ? validValue(rng, inner) : entries[index][1]
  const next = rest.length === 0 ? leaf(current) : plant(rng, inner, current, rest, leaf)
  if (next === undefined) {
    if (index !== -1) entries.splice(index, 1)
  } else if (index === -1) {
    entries.push([key, next])
  } else {
    entries[index] = [key, next]
  }
  return new Entries(entries)
}

/** A value with one certain fault somewhere in it (a wrong type, a bound passed, a required field missing). */
export function brokenValue (rng: Random, schema: Schema): { value: Json, label: string } {
  const value = validValue(rng, schema)
  const candidates = places(schema)
  const faults: Array<() => { value: Json, label: string }> = []
  for (const { path, schema: inner } of candidates) {
    const where = path.length === 0 ? 'the body' : path.join('.')
    faults.push(() => ({ value: plant(rng, schema, value, path, () => wrongFor(rng, inner)), label: `${where} of the wrong type` }))
    if (inner.maxLength !== undefined) faults.push(() => ({ value: plant(rng, schema, value, path, () => 'x'.repeat((inner.maxLength as number) + rng.int(1, 50))), label: `${where} past maxLength` }))
    if (inner.minimum !== undefined) faults.push(() => ({ value: plant(rng, schema, value, path, () => (inner.minimum as number) - rng.int(1, 3)), label: `${where} under its minimum` }))
    if (inner.maxItems !== undefined) {
      faults.push(() => ({ value: plant(rng, schema, value, path, () => Array.from({ length: (inner.maxItems as number) + 1 }, () => validValue(rng, inner.items as Schema))), label: `${where} past maxItems` }))
    }
    for (const required of inner.required ?? []) {
      faults.push(() => ({ value: plant(rng, schema, value, [...path, required], () => undefined), label: `${[...path, required].join('.')} missing` }))
    }
  }
  return rng.pick(faults)()
}

/** Unknown fields (some named like Object.prototype's members) planted at any depth: dropped, not refused. */
function withUnknownFields (rng: Random, value: Json): Json {
  const objects = objectsIn(value)
  if (objects.length === 0) return value
  for (let i = rng.int(1, 3); i > 0; i--) {
    rng.pick(objects).entries.push([rng.pick(['extra', 'constructor', 'prototype', ...objectKeys]), rng.pick([...wrongValues(), obj({ polluted: 'yes' })])])
  }
  return value
}

/** One certain fault of JSON itself, or of a body as JSON (for every route that takes one). */
function hostileJson (rng: Random, good: Json): { body: string | Json, label: string } {
  switch (rng.int(0, 3)) {
    case 0: {
      const textOf = jsonText(good)
      return { body: rng.pick([textOf.slice(0, Math.max(1, textOf.length - 1)), `${textOf},`, `{${textOf}`, '}{', '{"a":1,}', "{'a':1}", 'nul', '\u0000']), label: 'malformed JSON' }
    }
    case 1: {
      // `__proto__` anywhere, or a `constructor` holding a `prototype`: refused by the JSON parser.
      const body = good instanceof Entries ? good : obj({ body: good })
      rng.pick(objectsIn(body)).entries.push(rng.chance(0.5) ? ['__proto__', obj({ polluted: 'yes' })] : ['constructor', obj({ prototype: obj({ polluted: 'yes' }) })])
      return { body, label: 'prototype poisoning' }
    }
    // Arrays: an object nested deep is only unknown fields, which a kind whose params require nothing accepts.
    case 2: return { body: nest(rng.int(2, 20_000), 1, false), label: 'deep nesting as the body' }
    default: return { body: rng.pick<Json>([[], [good], 'x', 1, true, 0]), label: 'not an object' }
  }
}

export type KindRoute = 'create' | 'get' | 'report'

/** The requests a case may aim at, by kind: live ones (a report may change them) and settled ones. */
export interface KindTargets {
  /** Online, and the daemon authorized. */
  runtimes: string[]
  /** Shown to the frontend but offline: a create answers 503. */
  offline: string
  /** Neither shown nor authorized: 404. */
  unknown: string
  live: string[]
  settled: string[]
}

export interface KindCase {
  kind: string
  route: KindRoute
  label: string
  method: 'GET' | 'HEAD' | 'POST'
  url: string
  headers: Record<string, string>
  payload?: string | Buffer
  /** Certainly refused with a 4xx, before the store. */
  refused: boolean
  tooLarge: boolean
}

/** A create body for `kind`: valid (maybe with unknown fields), or certainly refused. */
function createBody (rng: Random, kind: DaemonWork): { body?: Json | string, label: string, broken: boolean } {
  const params = kind.params as Schema | undefined
  const roll = rng.next()
  if (roll < 0.35) {
    if (params === undefined) return { body: rng.pick<Json | string | undefined>([undefined, '', '{}', 'null', obj({})]), label: 'no params', broken: false }
    return { body: validValue(rng, params), label: 'valid params', broken: false }
  }
  if (roll < 0.5) return { body: withUnknownFields(rng, params === undefined ? obj({ force: true }) : validValue(rng, params)), label: 'unknown fields, dropped', broken: false }
  if (roll < 0.8 && params !== undefined) {
    const { value, label } = brokenValue(rng, params)
    return { body: value, label, broken: true }
  }
  const { body, label } = hostileJson(rng, params === undefined ? obj({}) : validValue(rng, params))
  return { body, label, broken: true }
}

/** A report body for `kind`: valid, tolerated, or certainly refused. */
function reportBody (rng: Random, kind: DaemonWork): { body: Json | string, label: string, broken: boolean } {
  const result = kind.result as Schema
  const roll = rng.next()
  if (roll < 0.25) return { body: obj({ status: 'completed', result: validValue(rng, result) }), label: 'completed', broken: false }
  if (roll < 0.35) return { body: obj({ status: 'failed', error: text(rng, rng.int(0, rng.chance(0.2) ? 300_000 : 40)) }), label: 'failed', broken: false }
  if (roll < 0.45) return { body: withUnknownFields(rng, obj({ status: 'completed', result: validValue(rng, result) })), label: 'completed with unknown fields', broken: false }
  if (roll < 0.85) {
    const report = obj({ status: 'completed', result: validValue(rng, result) })
    switch (rng.int(0, 4)) {
      case 0: setField(report, 'status', rng.pick<Json>(['done', 'COMPLETED', 'pending', 'timeout', '', 1, null, obj({})])); return { body: report, label: 'bad status', broken: true }
      case 1: report.entries.splice(1, 1); return { body: report, label: 'completed without a result', broken: true }
      case 2: setField(report, 'status', 'failed'); setField(report, 'error', rng.pick<Json>([5, null, false, obj({}), []])); return { body: report, label: 'error of the wrong type', broken: true }
      case 3: report.entries.push(['status', rng.pick<Json>([5, 'nope', null])]); return { body: report, label: 'duplicate status, the last one bad', broken: true }
      default: {
        const { value, label } = brokenValue(rng, result)
        setField(report, 'result', value)
        return { body: report, label: `result: ${label}`, broken: true }
      }
    }
  }
  const { body, label } = hostileJson(rng, obj({ status: 'completed', result: validValue(rng, result) }))
  return { body, label, broken: true }
}

/** One hostile request on one of `kind`'s routes; `oversize` makes a create or report body past 1 MiB. */
export function kindCase (rng: Random, kind: DaemonWork, route: KindRoute, targets: KindTargets, oversize: boolean): KindCase {
  const pickedRuntime = rng.chance(0.8) ? rng.pick(targets.runtimes) : rng.pick([targets.offline, targets.unknown])
  const rt = rng.chance(0.75) ? { raw: pickedRuntime, valid: true } : idVariant(rng, pickedRuntime)
  const requestId = rng.pick([...targets.live, ...targets.settled, randomUUID()])
  const id = rng.chance(0.7) ? { raw: requestId, valid: true } : idVariant(rng, requestId)
  const idsValid = rt.valid && id.valid
  const headers: Record<string, string> = {}
  const base = { kind: kind.name, route }

  if (route === 'get') {
    // A wait_ms that holds only on settled requests (answered at once); the others are 400.
    const settled = targets.settled.includes(requestId)
    const query = rng.pick(['', '?wait_ms=0', '?wait_ms=-1', '?wait_ms=30001', '?wait_ms=abc', '?wait_ms=1.5', '?wait_ms[]=1', '?__proto__[polluted]=yes', ...(settled ? ['?wait_ms=5'] : [])])
    const method = rng.chance(0.9) ? 'GET' : 'HEAD'
    // Keys the query schema does not name are dropped, bracketed ones too.
    const badQuery = !['', '?wait_ms=0', '?wait_ms=5', '?wait_ms[]=1', '?__proto__[polluted]=yes'].includes(query)
    return { ...base, label: `${method}${query === '' ? '' : ` ${query}`}`, method, url: `/api/runtimes/${rt.raw}/${kind.path}/${id.raw}${query}`, headers, refused: !idsValid || badQuery, tooLarge: false }
  }

  const contentType = rng.chance(0.8) ? rng.pick(jsonTypes) : rng.pick(oddTypes)
  headers['content-type'] = contentType
  if (oversize) {
    headers['content-type'] = 'application/json'
    const url = route === 'create' ? `/api/runtimes/${pickedRuntime}/${kind.path}` : `/api/daemon/runtimes/${pickedRuntime}/${kind.path}/${requestId}/result`
    // An unknown runtime's report is refused (404) before its body is read.
    return { ...base, label: `${route} over 1 MiB`, method: 'POST', url, headers, payload: pastLimit(rng), refused: true, tooLarge: pickedRuntime !== targets.unknown || route === 'create' }
  }
  const { body, label, broken } = route === 'create' ? createBody(rng, kind) : reportBody(rng, kind)
  // A fault is certain only where the body is read as JSON (or as text, which no schema here takes).
  const certain = broken && (jsonTypes.includes(contentType) || contentType === 'text/plain')
  const url = route === 'create' ? `/api/runtimes/${rt.raw}/${kind.path}` : `/api/daemon/runtimes/${rt.raw}/${kind.path}/${id.raw}/result`
  return {
    ...base,
    label: `${label} as ${contentType}`,
    method: 'POST',
    url,
    headers,
    payload: body === undefined || typeof body === 'string' ? body : jsonText(body),
    refused: certain || !rt.valid || (route === 'report' && !id.valid),
    tooLarge: false
  }
}
