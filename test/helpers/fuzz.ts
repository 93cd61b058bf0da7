// Hostile requests for every route, from a seed. JSON is built as text from a
// tree of entries, so a body can carry what JSON.stringify never writes:
// duplicate keys and `__proto__` keys, at any depth.
import { randomUUID } from 'node:crypto'
import type { Random } from './random'

export type Json = null | boolean | number | string | Json[] | Entries | Raw
export class Entries {
  constructor (readonly entries: Array<[string, Json]>) {}
}
/** JSON text as is: nesting tens of thousands deep is written without recursion. */
export class Raw {
  constructor (readonly text: string) {}
}
export const obj = (fields: Record<string, Json>): Entries => new Entries(Object.entries(fields))

export function jsonText (value: Json): string {
  if (value instanceof Entries) return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${jsonText(item)}`).join(',')}}`
  if (value instanceof Raw) return value.text
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`
  return JSON.stringify(value)
}

export interface FuzzTargets {
  /** Runtimes the host shows and authorizes. */
  runtimes: string[]
  /** Requests a report could change: only bodies certainly refused go to them. */
  live: string[]
  /** Terminal requests: a report that gets through changes nothing. */
  settled: string[]
}

export type Route = 'create' | 'get' | 'report'

export interface FuzzCase {
  route: Route
  label: string
  method: string
  url: string
  headers: Record<string, string>
  payload?: string | Buffer
  /** Certainly refused with a 4xx, before the hooks and the store. */
  refused: boolean
  /** Past the body limit with good ids: 413. */
  tooLarge: boolean
}

const bodyLimit = 1_048_576
const idGrammar = /^[A-Za-z0-9_-]{1,100}$/
// Keys that mean something to JavaScript objects; `__proto__` (and a
// `constructor` holding a `prototype`) are refused by Fastify's JSON parser.
export const prototypeKeys = ['__proto__', 'constructor', 'prototype']
export const objectKeys = ['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', 'then']
// A function: planted objects get keys planted into them, so none is shared.
export const wrongValues = (): Json[] => [1, -1, 0, 1.5, true, false, null, '', 'x', [], [1], obj({}), obj({ a: 1 })]
export const jsonTypes = ['application/json', 'application/json; charset=utf-8']
export const oddTypes = [
  'text/plain', 'text/json', 'application/JSON', 'application/json; charset=utf-16', 'application/json; charset=latin1',
  'application/vnd.api+json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/octet-stream', 'application/json, text/plain', '*/*', 'application/', ';', 'application/json;;;'
]

export function nest (depth: number, leaf: Json, asObject: boolean): Raw {
  const [open, close] = asObject ? ['{"a":', '}'] : ['[', ']']
  return new Raw(`${open.repeat(depth)}${jsonText(leaf)}${close.repeat(depth)}`)
}

export function text (rng: Random, length: number): string {
  return rng.pick(['a', 'é', '\u0000', '\uD83D\uDE00', '"', '\\', '<', '%']).repeat(length)
}

function validModel (rng: Random, n: number): Entries {
  const model: Record<string, Json> = { id: `m-${n}`, label: `Model ${n}` }
  if (rng.chance(0.5)) model.provider = 'p'
  if (rng.chance(0.3)) model.default = rng.chance(0.5)
  if (rng.chance(0.3)) model.thinking = obj({ supported_levels: [obj({ value: 'low', label: 'Low' })], default_level: 'low' })
  if (rng.chance(0.3)) model.service_tiers = [obj({ id: 't', name: 'Tier', description: 'd' })]
  return obj(model)
}

function validReport (rng: Random): Entries {
  if (rng.chance(0.4)) return obj({ status: 'failed', error: 'fuzz' })
  const fields: Record<string, Json> = { status: 'completed', models: Array.from({ length: rng.int(0, 3) }, (_, i) => validModel(rng, i)) }
  if (rng.chance(0.3)) fields.supported = rng.chance(0.5)
  if (rng.chance(0.2)) fields.fallback = rng.chance(0.5)
  return obj(fields)
}

/** Every object in the tree, so a key can be planted at any depth. */
export function objectsIn (value: Json, found: Entries[] = []): Entries[] {
  if (value instanceof Entries) {
    found.push(value)
    for (const [, item] of value.entries) objectsIn(item, found)
  } else if (Array.isArray(value)) {
    for (const item of value) objectsIn(item, found)
  }
  return found
}

export function setField (report: Entries, key: string, value: Json): void {
  const index = report.entries.findIndex(([k]) => k === key)
  if (index === -1) report.entries.push([key, value])
  else report.entries[index] = [key, value]
}

/** A report body no reading of the contract accepts: one certain fault, planted at some depth. */
function brokenReport (rng: Random): { body: Json | string, label: string } {
  const report = validReport(rng)
  const model = validModel(rng, 0)
  const withModel = (): Entries => { setField(report, 'status', 'completed'); setField(report, 'models', [model]); return report }
  switch (rng.int(0, 14)) {
    case 0: setField(report, 'status', rng.pick([1, 'done', 'COMPLETED', '', null, true, [], obj({}), 'pending', 'timeout'])); return { body: report, label: 'bad status' }
    case 1: return { body: obj({ models: [model] }), label: 'no status' }
    case 2: setField(report, 'status', 'completed'); setField(report, 'models', rng.pick(['x', 1, obj({}), true, [1], ['x'], [null], [[]]])); return { body: report, label: 'models of the wrong type' }
    case 3: {
      const field = rng.pick(['id', 'label', 'provider', 'default'])
      setField(model, field, rng.pick<Json>(field === 'default' ? ['true', 1, null, obj({}), []] : [1, null, obj({}), [], true]))
      return { body: withModel(), label: 'model field of the wrong type' }
    }
    case 4: model.entries.splice(rng.int(0, 1), 1); return { body: withModel(), label: 'model missing id or label' }
    case 5: setField(model, 'thinking', rng.pick(['x', obj({ supported_levels: 'x' }), obj({ supported_levels: [obj({ value: 1, label: 'a' })] }), obj({ default_level: 'x' }), obj({ supported_levels: [obj({ value: 'a' })] })])); return { body: withModel(), label: 'bad thinking' }
    case 6: setField(report, rng.pick(['supported', 'fallback']), rng.pick(['true', 'false', 1, 0, null, obj({})])); return { body: report, label: 'boolean of the wrong type' }
    case 7: setField(report, 'status', 'failed'); setField(report, 'error', rng.pick([5, obj({}), [], null, false])); return { body: report, label: 'error of the wrong type' }
    case 8: {
      const bound = rng.int(0, 4)
      if (bound === 0) { setField(report, 'status', 'completed'); setField(report, 'models', Array.from({ length: 1001 }, (_, i) => obj({ id: `m${i}`, label: 'L' }))); return { body: report, label: '1001 models' } }
      if (bound === 1) setField(model, rng.pick(['id', 'label', 'provider']), 'x'.repeat(257))
      if (bound === 2) setField(model, 'service_tiers', [obj({ id: 't', name: 'n', description: 'd'.repeat(1025) })])
      if (bound === 3) setField(model, 'thinking', obj({ supported_levels: Array.from({ length: 33 }, () => obj({ value: 'v', label: 'l' })) }))
      if (bound === 4) setField(model, 'service_tiers', Array.from({ length: 33 }, () => obj({ id: 't', name: 'n' })))
      return { body: withModel(), label: 'past a bound' }
    }
    case 9: setField(report, 'status', 'completed'); setField(report, 'models', nest(rng.int(2, 20_000), 1, rng.chance(0.5))); return { body: report, label: 'deep nesting where models belong' }
    case 10: {
      // `__proto__` anywhere, or a `constructor` holding a `prototype`: refused by the JSON parser.
      const target = rng.pick(objectsIn(report))
      target.entries.splice(rng.int(0, target.entries.length), 0, rng.chance(0.5)
        ? ['__proto__', rng.pick([obj({ polluted: 'yes' }), 1, null, [obj({ polluted: 'yes' })]])]
        : ['constructor', obj({ prototype: obj({ polluted: 'yes' }) })])
      return { body: report, label: 'prototype poisoning' }
    }
    case 11: return { body: rng.pick([[], [report], 'x', 1, null, true, 0]), label: 'not an object' }
    case 12: {
      const good = jsonText(report)
      return { body: rng.pick([good.slice(0, rng.int(1, good.length - 1)), `${good},`, good.replace(/"/g, "'"), `{${good}`, '{"status":NaN}', '{"status":"failed",}', '// x\n{}', '\u0000', '}{'].filter(broken => broken !== '{}')), label: 'malformed JSON' }
    }
    case 13: report.entries.push(['status', rng.pick([5, 'nope', null])]); return { body: report, label: 'duplicate key, the last one bad' }
    default: setField(model, 'thinking', obj({ supported_levels: [obj({ value: 'v', label: nest(rng.int(1, 5_000), 'x', rng.chance(0.5)) })] })); return { body: withModel(), label: 'deep nesting in a string field' }
  }
}

/** A body that may be accepted (unknown fields are dropped): only for requests it cannot change. */
function oddReport (rng: Random): { body: Json | string | Buffer, label: string } {
  const report = validReport(rng)
  switch (rng.int(0, 7)) {
    case 0: {
      for (let i = rng.int(1, 4); i > 0; i--) {
        const target = rng.pick(objectsIn(report))
        target.entries.push([rng.pick([...prototypeKeys.slice(1), ...objectKeys]), rng.pick([...wrongValues(), obj({ polluted: 'yes' })])])
      }
      return { body: report, label: 'prototype and object keys, tolerated' }
    }
    case 1: report.entries.push(['extra', nest(rng.int(100, 50_000), rng.pick(wrongValues()), rng.chance(0.5))]); return { body: report, label: 'deep nesting in an unknown field' }
    case 2: report.entries.push(['extra', Array.from({ length: rng.int(1_000, 100_000) }, () => 0)]); return { body: report, label: 'huge unknown array' }
    case 3: setField(report, 'status', 'failed'); setField(report, 'error', text(rng, rng.int(4_000, 300_000))); return { body: report, label: 'huge error' }
    case 4: report.entries.unshift(['status', 'nope']); return { body: report, label: 'duplicate key, the last one good' }
    case 5: {
      const good = Buffer.from(jsonText(obj({ status: 'failed', error: 'ENC' })))
      const at = good.indexOf('ENC')
      const bad = rng.pick([[0xff, 0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]])
      return { body: Buffer.concat([good.subarray(0, at), Buffer.from(bad), good.subarray(at + 3)]), label: 'invalid UTF-8' }
    }
    case 6: return { body: rng.pick([Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(jsonText(report))]), Buffer.from(jsonText(report), 'utf16le'), '{"status":"failed","error":"\\ud800"}']), label: 'odd encoding' }
    default: report.entries.push(['models_extra', [obj({ __proto: 1, 'constructor ': 2, '': 3 })]]); return { body: report, label: 'near-miss keys' }
  }
}

/** A create body: certainly refused (`refused`) or one a join absorbs. */
function createBody (rng: Random): { body?: Json | string | Buffer, label: string, refused: boolean } {
  switch (rng.int(0, 6)) {
    case 0: return { body: rng.pick([[], [obj({})], 'x', 1, true, 0, false]), label: 'create body not an object', refused: true }
    case 1: return { body: rng.pick(['{', '{"force":}', "{'a':1}", '}{', '[', '{"a":1,}', 'nul']), label: 'malformed create body', refused: true }
    case 2: {
      const body = obj({ force: true, x: obj({ y: obj({}) }) })
      rng.pick(objectsIn(body)).entries.push(rng.chance(0.5) ? ['__proto__', obj({ polluted: 'yes' })] : ['constructor', obj({ prototype: obj({ polluted: 'yes' }) })])
      return { body, label: 'create body with prototype poisoning', refused: true }
    }
    case 3: return { body: obj({ [rng.pick([...prototypeKeys.slice(1), ...objectKeys])]: rng.pick(wrongValues()), force: rng.pick(wrongValues()) }), label: 'create body with odd keys', refused: false }
    case 4: return { body: obj({ deep: nest(rng.int(100, 50_000), 1, rng.chance(0.5)) }), label: 'deep create body', refused: false }
    case 5: return { body: rng.pick(['', 'null', '{}', '{"force":true,"force":false}', undefined]), label: 'empty or null create body', refused: false }
    default: return { body: Buffer.from([0x7b, 0xff, 0x7d]), label: 'create body in bad UTF-8', refused: false }
  }
}

/** Ids that look like the real one, or climb out of the route; `valid` when the decoded id fits the grammar. */
export function idVariant (rng: Random, id: string): { raw: string, valid: boolean } {
  const variants = [
    id, id.toUpperCase(), `${id}x`, id.slice(0, -1), `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`, `${id}%20`, `%20${id}`,
    `${id}%00`, `${id}%2F..`, '..', '%2e%2e', '..%2F..%2Fdaemon', `${id}%2F..%2F..`, '%2F', `${id};x`, `${id}%3F`, `${id}%23`,
    encodeURIComponent(`${id}\u200b`), encodeURIComponent(`${id.slice(0, -1)}\u0430`), encodeURIComponent(`${id}\uff11`),
    '%ED%A0%80', '%E0%A4%A', '%', 'x'.repeat(100), 'x'.repeat(101), '__proto__', 'constructor', 'prototype',
    'hasOwnProperty', id.replace(/-/g, '%2D'), id.replace(/-/g, '\u2010'), randomUUID(), `${id}.json`, '*', '-', '_'
  ]
  const raw = rng.pick(variants)
  let decoded: string | undefined
  try { decoded = decodeURIComponent(raw) } catch { decoded = undefined }
  // An id past Fastify's maxParamLength (100) never reaches a handler either way.
  return { raw, valid: decoded !== undefined && idGrammar.test(decoded) && raw.length <= 100 }
}

export function pastLimit (rng: Random): string {
  const filler = 'x'.repeat(bodyLimit + rng.int(1, 4096))
  return rng.chance(0.5) ? jsonText(obj({ status: 'failed', error: filler })) : jsonText(obj({ force: true, pad: filler }))
}

/** One hostile request for `route`; `oversize` makes a create or report body past 1 MiB. */
export function fuzzCase (rng: Random, route: Route, targets: FuzzTargets, oversize = false): FuzzCase {
  const runtimeId = rng.pick(targets.runtimes)
  const rt = rng.chance(0.7) ? { raw: runtimeId, valid: true } : idVariant(rng, runtimeId)
  const headers: Record<string, string> = {}
  const contentType = rng.chance(0.75) ? rng.pick(jsonTypes) : rng.pick(oddTypes)
  const tooLarge = route !== 'get' && oversize

  if (route === 'get') {
    const requestId = rng.pick([...targets.live, ...targets.settled])
    const id = rng.chance(0.6) ? { raw: requestId, valid: true } : idVariant(rng, requestId)
    const settled = targets.settled.includes(requestId)
    // A valid wait_ms would hold a live request's poll: only settled ones get one.
    const query = rng.pick(['', '?wait_ms=abc', '?wait_ms=-1', '?wait_ms=30001', '?wait_ms=1.5', '?wait_ms=', '?wait_ms[]=1',
      '?__proto__[polluted]=yes', '?constructor[prototype][polluted]=yes', '?a=1&a=2', `?${'q'.repeat(10_000)}=1`, ...(settled ? ['?wait_ms=0', '?wait_ms=10'] : [])])
    const method = rng.chance(0.9) ? 'GET' : rng.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS'])
    const withBody = rng.chance(0.1)
    if (withBody) headers['content-type'] = contentType
    return {
      route,
      label: `GET ${method}${query === '' ? '' : ' query'}${withBody ? ' with a body' : ''}`,
      method,
      url: `/api/runtimes/${rt.raw}/models/${id.raw}${query}`,
      headers,
      payload: withBody ? '{"__proto__":{"polluted":"yes"}}' : undefined,
      refused: !rt.valid || !id.valid,
      tooLarge: false
    }
  }

  headers['content-type'] = contentType
  if (route === 'create') {
    if (tooLarge) {
      headers['content-type'] = 'application/json'
      return { route, label: 'create over 1 MiB', method: 'POST', url: `/api/runtimes/${runtimeId}/models`, headers, payload: pastLimit(rng), refused: true, tooLarge: true }
    }
    const { body, label, refused } = createBody(rng)
    const certain = refused && (jsonTypes.includes(contentType) || contentType === 'text/plain')
    return {
      route,
      label: `${label} as ${contentType}`,
      method: 'POST',
      url: `/api/runtimes/${rt.raw}/models`,
      headers,
      payload: body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : jsonText(body),
      refused: certain || !rt.valid,
      tooLarge: false
    }
  }

  const broken = tooLarge ? undefined : rng.chance(0.6) ? brokenReport(rng) : undefined
  // A body that may get through goes only where it changes nothing.
  const requestId = broken !== undefined || tooLarge
    ? rng.pick([...targets.live, ...targets.settled])
    : rng.pick([...targets.settled, randomUUID()])
  const id = rng.chance(0.6) || tooLarge ? { raw: requestId, valid: true } : idVariant(rng, requestId)
  const mayChange = targets.live.includes(requestId)
  if (tooLarge) {
    headers['content-type'] = 'application/json'
    return { route, label: 'report over 1 MiB', method: 'POST', url: `/api/daemon/runtimes/${runtimeId}/models/${requestId}/result`, headers, payload: pastLimit(rng), refused: true, tooLarge: true }
  }
  const { body, label } = broken ?? oddReport(rng)
  // An id variant of a live request may decode to that very request: keep those to broken bodies.
  if (broken === undefined && mayChange) throw new Error('a tolerated body aimed at a live request')
  return {
    route,
    label: `${label} as ${contentType}`,
    method: 'POST',
    url: `/api/daemon/runtimes/${rt.raw}/models/${id.raw}/result`,
    headers,
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : jsonText(body),
    refused: broken !== undefined || !rt.valid || !id.valid,
    tooLarge: false
  }
}
