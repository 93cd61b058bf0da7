import type { FastifyRequest, preValidationAsyncHookHandler } from 'fastify'
import { UnsupportedBodyError } from '../errors'

// A create route's body: JSON, or none where the kind allows it.

const kHiddenContentType = Symbol('fastify-model-list.hiddenContentType')
type Hiding = FastifyRequest & { [kHiddenContentType]?: string }

function mediaType (contentType: string): string {
  return contentType.split(';', 1)[0].trim().toLowerCase()
}

function isJson (contentType: string | undefined): boolean {
  return contentType !== undefined && mediaType(contentType) === 'application/json'
}

// An optional create body: an empty one counts as none, whatever content type
// it names (`fetch` sends text/plain with a body of ''). Fastify parses only a
// body that names its content type, so that name is hidden for this one
// request; every other body goes through the host's own parsers.
export async function emptyIsNone (request: FastifyRequest): Promise<void> {
  const headers = request.raw.headers
  const contentType = headers['content-type']
  const empty = headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0')
  if (empty && contentType !== undefined) {
    (request as Hiding)[kHiddenContentType] = contentType
    delete headers['content-type']
  }
}

/** What a create without a body (none, an empty JSON one, or JSON null) counts as. */
export type WithoutBody = 'null' | 'empty object' | 'required'

/**
 * The create route's preValidation: the host's later hooks see the content
 * type as it came; a body parsed as text (Fastify's text/plain parser, a
 * host's string or buffer parser) answers 415 naming what was sent, where
 * validation would list every branch of the schema; a kind whose params
 * accept `{}` takes no body as `{}`.
 */
export function createBodyHook (withoutBody: WithoutBody): preValidationAsyncHookHandler {
  return async function createBody (request) {
    const hidden = (request as Hiding)[kHiddenContentType]
    if (hidden !== undefined) request.raw.headers['content-type'] = hidden
    const body = request.body
    const contentType = request.headers['content-type']
    if ((typeof body === 'string' || Buffer.isBuffer(body)) && !isJson(contentType)) {
      throw new UnsupportedBodyError(`a create body is JSON (content-type application/json)${withoutBody === 'required' ? '' : ' or none'}, got ${contentType === undefined ? 'no content type' : mediaType(contentType)}`)
    }
    if (withoutBody === 'empty object' && (body === undefined || body === null)) request.body = {}
  }
}
