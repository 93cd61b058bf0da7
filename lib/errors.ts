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
