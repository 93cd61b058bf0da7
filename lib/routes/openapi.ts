import { Type, type TSchema } from '@sinclair/typebox'

// What documentation tools (@fastify/swagger) read off our routes: a tag per
// kind, a summary, an operation id, and every error answer with Fastify's error shape.

// Fastify's error shape. Optional fields and extra ones allowed: it also
// serializes whatever the host's error handler answers with these codes.
const ErrorAnswer = (description: string): TSchema => Type.Object({
  statusCode: Type.Optional(Type.Integer()),
  code: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  message: Type.Optional(Type.String())
}, { description, additionalProperties: true })

export const errorAnswers = {
  400: ErrorAnswer('FST_ERR_VALIDATION: a bad id, query or body'),
  404: ErrorAnswer('FST_MODEL_LIST_RUNTIME_NOT_FOUND (the host\'s hook said no) or FST_MODEL_LIST_REQUEST_NOT_FOUND'),
  413: ErrorAnswer('FST_ERR_CTP_BODY_TOO_LARGE: a body over 1 MiB'),
  415: ErrorAnswer('FST_ERR_CTP_INVALID_MEDIA_TYPE: a body whose content type is not JSON'),
  503: ErrorAnswer('FST_MODEL_LIST_RUNTIME_OFFLINE or FST_MODEL_LIST_STORE_UNAVAILABLE; sent with Retry-After: 1')
}

interface Operation {
  operationId: string
  summary: string
  description: string
}

export function documented (tag: string, operation: Operation): Operation & { tags: string[] } {
  return { tags: [tag], ...operation }
}
