import createError from '@fastify/error'

export const RuntimeNotFoundError = createError('FST_MODEL_LIST_RUNTIME_NOT_FOUND', 'runtime not found', 404)
export const RequestNotFoundError = createError('FST_MODEL_LIST_REQUEST_NOT_FOUND', 'request not found', 404)
export const RuntimeOfflineError = createError('FST_MODEL_LIST_RUNTIME_OFFLINE', 'runtime is offline', 503)
export const StoreUnavailableError = createError('FST_MODEL_LIST_STORE_UNAVAILABLE', 'model list store unavailable', 503)
// Thrown by `register` (a host's mistake) and by store methods (a caller's mistake).
export const InvalidOptionError = createError('FST_MODEL_LIST_INVALID_OPTION', 'fastify-model-list: %s', 500, TypeError)
export const InvalidIdError = createError('FST_MODEL_LIST_INVALID_ID', '%s must be 1 to 100 characters of [A-Za-z0-9_-]', 400, TypeError)
// An exclusive kind's second request while one is in flight; the message names it.
export const WorkBusyError = createError('FST_MODEL_LIST_WORK_BUSY', 'a %s request is already pending or running: %s', 409)
// Fastify's own code for a body it cannot take, with a message that says what to send.
export const UnsupportedBodyError = createError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 'Unsupported Media Type: %s', 415)

/**
 * A value as an option error shows it: quoted, with its type, so `'30000'`
 * (a string) is not mistaken for the number it looks like.
 */
export function shown (value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  switch (typeof value) {
    case 'string': return `${JSON.stringify(value).replace(/^"|"$/g, "'")} (a string)`
    case 'number': return `${String(value)} (a number)`
    case 'bigint': return `${String(value)}n (a bigint)`
    case 'boolean': return `${String(value)} (a boolean)`
    case 'function': return 'a function'
    case 'symbol': return 'a symbol'
    default: return typeof (value as { then?: unknown }).then === 'function' ? 'a promise' : 'an object'
  }
}
