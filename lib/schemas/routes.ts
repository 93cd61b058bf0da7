import { Type } from '@sinclair/typebox'
import { idPattern } from './model-list'

// Route-only shapes: not part of the public exports.
const Id = Type.String({ pattern: idPattern })
export const RuntimeParams = Type.Object({ runtimeId: Id })
export const RequestParams = Type.Object({ runtimeId: Id, requestId: Id })
// `force` skips the catalog cache and asks the daemon.
export const CreateBody = Type.Union([Type.Null(), Type.Object({ force: Type.Optional(Type.Boolean()) })])
// Query strings are coerced by this schema (see lib/validator.ts): `?wait_ms=100` is 100.
export const maxWaitMs = 30_000
export const PollQuery = Type.Object({ wait_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: maxWaitMs })) })
export const ReportAck = Type.Object({ status: Type.Literal('ok') })
