// The small pieces behind host-proof routes, on their own: the outage log, the
// early validation error, and the schema Ajv is given.
import t from 'tap'
import type { FastifyBaseLogger, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import { Type } from '@sinclair/typebox'
import { OutageLog } from '../lib/outage-log'
import { fastifyFormatter, formatterOf, validationError } from '../lib/routes/validation-error'
import { ajvSchema } from '../lib/routes/ajv-schema'
import { strictValidatorCompiler } from '../lib/routes/validator'
import { Clock } from './helpers/clock'

interface Line { fields: Record<string, unknown>, msg: string }

function recorder (): { log: FastifyBaseLogger, lines: Line[] } {
  const lines: Line[] = []
  const log = { error: (fields: Record<string, unknown>, msg: string) => { lines.push({ fields, msg }) } } as unknown as FastifyBaseLogger
  return { log, lines }
}

t.test('OutageLog: one line per kind of failure per interval, with a count', async t => {
  const clock = new Clock()
  const outage = new OutageLog('claim failed', clock.now, 1_000)
  const { log, lines } = recorder()
  t.equal(outage.active, false)

  const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' })
  outage.failed(log, 'probe', reset, { runtimeId: 'rt-1' })
  outage.failed(log, 'probe', reset, { runtimeId: 'rt-2' })
  outage.failed(log, 'claim', reset, { runtimeId: 'rt-1' })
  outage.failed(log, 'probe', new TypeError('bad'), {})
  outage.failed(log, 'probe', 'a string', {})
  outage.failed(log, 'probe', undefined, {})
  t.strictSame(lines.map(line => line.fields.kind), ['probe ECONNRESET', 'claim ECONNRESET', 'probe TypeError', 'probe error'],
    'kinds by code, else name, else "error"; the repeat counted, not written')
  t.equal(lines[0]?.fields.runtimeId, 'rt-1')
  t.equal(lines[0]?.fields.err, reset)
  t.notOk('repeatedSinceLastLine' in lines[0]!.fields)
  t.equal(outage.active, true)

  clock.advance(999)
  outage.failed(log, 'probe', reset, {})
  t.equal(lines.length, 4, 'still within the interval')
  clock.advance(1)
  outage.failed(log, 'probe', reset, {})
  t.equal(lines.length, 5, 'the next interval: a line')
  t.equal(lines[4]?.fields.repeatedSinceLastLine, 2, 'counting the two it stood for')
  clock.advance(1_000)
  outage.failed(log, 'claim', reset, {})
  t.notOk('repeatedSinceLastLine' in lines[5]!.fields, 'nothing was repeated: no count')

  outage.recovered(log)
  t.strictSame(lines.slice(6).map(line => [line.fields.kind, line.fields.repeatedSinceLastLine]), [['probe error', 1]],
    'recovery writes a line only for kinds with something counted')
  t.equal(outage.active, false)
  outage.failed(log, 'probe', reset, {})
  t.equal(lines.length, 8, 'after recovery the next failure is written at once')
})

t.test('OutageLog: kinds are bounded', async t => {
  const outage = new OutageLog('claim failed', () => 0)
  const { log, lines } = recorder()
  for (let i = 0; i < 100; i++) outage.failed(log, 'probe', { code: `E${i}` }, {})
  t.equal(lines.length, 33, '32 kinds, then one for all the others')
  t.equal(lines[32]?.fields.kind, 'probe other')
})

t.test("validationError: Fastify's shape, with the route's formatter or Fastify's wording", async t => {
  const errors = [{ keyword: 'pattern', instancePath: '/runtimeId', schemaPath: '#/properties/runtimeId/pattern', params: { pattern: 'x' }, message: 'must match pattern "x"' }] as FastifySchemaValidationError[]
  t.equal(fastifyFormatter(errors, 'params').message, 'params/runtimeId must match pattern "x"')

  const noContext = {} as FastifyRequest
  t.equal(formatterOf(noContext), fastifyFormatter, 'no route context found: Fastify\'s wording')
  const error = validationError(noContext, errors, 'params')
  t.match(error, { statusCode: 400, code: 'FST_ERR_VALIDATION', validation: errors, validationContext: 'params', message: 'params/runtimeId must match pattern "x"' })

  const context = Symbol('fastify.context')
  const withoutFormatter = { [context]: {} } as unknown as FastifyRequest
  t.equal(formatterOf(withoutFormatter), fastifyFormatter, 'a context without a formatter: Fastify\'s wording')
  const custom = (): Error => Object.assign(new Error('custom'), { statusCode: 422, code: 'HOST_VALIDATION' })
  const withFormatter = { [context]: { schemaErrorFormatter: custom } } as unknown as FastifyRequest
  t.match(validationError(withFormatter, errors, 'params'), { message: 'custom', statusCode: 422, code: 'HOST_VALIDATION', validation: errors },
    "the host's own status and code are kept, as Fastify keeps them")
})

t.test('ajvSchema: literal unions become enum, the rest is copied, once per schema', async t => {
  const Status = Type.Union([Type.Literal('a'), Type.Literal('b')])
  const Mixed = Type.Union([Type.Null(), Type.Object({})])
  const schema = Type.Object({ status: Status, mixed: Mixed, list: Type.Array(Status), tuple: Type.Tuple([Type.String()]) })
  const copy = ajvSchema(schema) as any
  t.strictSame(copy.properties.status, { enum: ['a', 'b'] })
  t.strictSame(copy.properties.list.items, { enum: ['a', 'b'] })
  t.strictSame(copy.properties.mixed.anyOf.map((branch: any) => branch.type), ['null', 'object'], 'other unions stay anyOf')
  t.ok(Array.isArray(copy.properties.tuple.items), 'arrays inside a schema stay arrays')
  t.ok('anyOf' in (schema.properties.status as object), 'the exported schema is left as it is')
  t.equal(ajvSchema(schema), copy, 'the same copy for the same schema')
})

t.test('the validator compiler: query strings coerced by their schema, everything else strict', async t => {
  const schema = Type.Object({ wait_ms: Type.Integer({ minimum: 0 }) })
  const compile = (httpPart: string): ((data: unknown) => any) => strictValidatorCompiler({ schema, httpPart, method: 'GET', url: '/x' }) as (data: unknown) => any
  const query = { wait_ms: '100' }
  t.strictSame(compile('querystring')(query), { value: { wait_ms: 100 } }, '?wait_ms=100 is the number 100')
  t.match(compile('body')({ wait_ms: '100' }), { error: [{ keyword: 'type', params: { type: 'integer' } }] }, 'a body is not coerced')
  t.match(compile('querystring')({ wait_ms: 'soon' }), { error: [{ keyword: 'type' }] })
})
