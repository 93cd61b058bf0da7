import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'

// Fastify's default Ajv coerces types (42 passes as "42"); the contract wants a
// number where a string belongs to be a 400. TypeBox's compiler checks strictly,
// and Clean drops unknown fields at every depth so newer daemons keep working.
const maxReportedErrors = 10

export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema }) => {
  const checker = TypeCompiler.Compile(schema)
  return (data: unknown) => {
    if (checker.Check(data)) return { value: Value.Clean(schema, data) }
    // Shaped like Ajv's errors so Fastify's formatter reads "body/status Expected ...";
    // a few are enough, and a hostile body cannot make the message huge.
    const errors = []
    for (const error of checker.Errors(data)) {
      errors.push({ instancePath: error.path, message: error.message, keyword: 'typebox', params: {}, schemaPath: '' })
      if (errors.length === maxReportedErrors) break
    }
    return { error: errors as unknown as Error }
  }
}
