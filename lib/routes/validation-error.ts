import type { FastifyRequest, FastifySchemaValidationError } from 'fastify'

type Formatter = (errors: FastifySchemaValidationError[], dataVar: string) => Error
type ValidationError = Error & { statusCode?: number, code?: string, validation?: unknown, validationContext?: string }

// Fastify's own wording, for a host that set no formatter.
export function fastifyFormatter (errors: FastifySchemaValidationError[], dataVar: string): Error {
  return new Error(errors.map(error => `${dataVar}${error.instancePath} ${error.message as string}`).join(', '))
}

// Fastify keeps the route's formatter (the host's, when it set one) in the
// request's route context, which it does not expose; found once by its name.
let routeContext: symbol | undefined
export function formatterOf (request: FastifyRequest): Formatter {
  routeContext ??= Object.getOwnPropertySymbols(request).find(key => key.description === 'fastify.context')
  const context = routeContext === undefined ? undefined : (request as unknown as Record<symbol, { schemaErrorFormatter?: unknown } | undefined>)[routeContext]
  const formatter = context?.schemaErrorFormatter
  return typeof formatter === 'function' ? formatter as Formatter : fastifyFormatter
}

/** The error Fastify makes when validation fails, for a check we run before Fastify's. */
export function validationError (request: FastifyRequest, errors: FastifySchemaValidationError[], dataVar: string): ValidationError {
  const error: ValidationError = formatterOf(request)(errors, dataVar)
  error.statusCode ??= 400
  error.code ??= 'FST_ERR_VALIDATION'
  error.validation = errors
  error.validationContext = dataVar
  return error
}
