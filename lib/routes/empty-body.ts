import type { FastifyRequest } from 'fastify'

const kHiddenContentType = Symbol('fastify-model-list.hiddenContentType')
type Hiding = FastifyRequest & { [kHiddenContentType]?: string }

function isJson (contentType: string): boolean {
  return contentType.split(';', 1)[0].trim().toLowerCase() === 'application/json'
}

// An optional create body: an empty one sent as JSON counts as none. Fastify
// parses only a body that names its content type, so that name is hidden for
// this one request; every other body goes through the host's own JSON parser.
export async function emptyJsonIsNone (request: FastifyRequest): Promise<void> {
  const headers = request.raw.headers
  const contentType = headers['content-type']
  const empty = headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0')
  if (empty && contentType !== undefined && isJson(contentType)) {
    (request as Hiding)[kHiddenContentType] = contentType
    delete headers['content-type']
  }
}

// Past parsing: the host's later hooks see the request as it came.
export async function restoreContentType (request: FastifyRequest): Promise<void> {
  const hidden = (request as Hiding)[kHiddenContentType]
  if (hidden !== undefined) request.raw.headers['content-type'] = hidden
}
