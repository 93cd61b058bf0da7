import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import Ajv, { type ErrorObject } from 'ajv'
import fastJson from 'fast-json-stringify'
import { ajvSchema } from './ajv-schema'

// A hostile body cannot make the error list (or its message) huge.
const maxReportedErrors = 10

// Our own Ajv, whatever the host's: bodies are checked strictly (Fastify's
// default coerces 42 into "42"), query strings are coerced by their schema
// (`?wait_ms=100` is the number 100). Unknown fields are dropped at every
// depth, so newer daemons keep working. One error at a time, as Fastify's.
const shared = { removeAdditional: 'all', allErrors: false, addUsedSchema: false, strict: false } as const
const strictAjv = new Ajv({ ...shared, coerceTypes: false })
const queryAjv = new Ajv({ ...shared, coerceTypes: true })

/** Ajv's errors as Ajv makes them, capped, and with enum messages that name the allowed values. */
function shapeErrors (errors: ErrorObject[]): ErrorObject[] {
  return errors.slice(0, maxReportedErrors).map(error => error.keyword === 'enum'
    ? { ...error, message: `${error.message as string}: ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` }
    : error)
}

/** A check answering null, or Ajv-shaped errors; query strings coerced, anything else strict. */
export function compileStrict (schema: TSchema, httpPart: string | undefined): (data: unknown) => ErrorObject[] | null {
  const validate = (httpPart === 'querystring' ? queryAjv : strictAjv).compile(ajvSchema(schema))
  return (data: unknown) => validate(data) ? null : shapeErrors(validate.errors as ErrorObject[])
}

export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = compileStrict(schema, httpPart)
  return (data: unknown) => {
    const errors = check(data)
    // Fastify formats the list (or hands it to the host's schemaErrorFormatter).
    return errors === null ? { value: data } : { error: errors as unknown as Error }
  }
}

/** Answers generated from the TypeBox schemas, whatever serializer the host set. */
export const schemaSerializerCompiler: FastifySerializerCompiler<TSchema> = ({ schema }) => fastJson(schema)
