import { Type, type TSchema } from '@sinclair/typebox'
import type { SchemaStatic, WorkSchema } from './static'
import { ModelListStatus, type ModelListStatus as Status } from './model-list'

/** A work request on the wire, for a kind's params and result types. */
export interface WorkRequest<Params = unknown, Result = unknown> {
  id: string
  runtime_id: string
  status: Status
  params?: Params
  result?: Result
  error?: string
  created_at: string
  updated_at: string
}

/**
 * The TypeBox schema of a kind's work request: what its POST and GET answer.
 * `params` is left out for a kind without params.
 */
export function WorkRequest<Params extends WorkSchema | undefined, Result extends WorkSchema> (params: Params, result: Result) {
  return Type.Object({
    id: Type.String(),
    runtime_id: Type.String(),
    status: ModelListStatus,
    ...(params === undefined ? {} : { params: Type.Optional(params as TSchema) }),
    result: Type.Optional(result as TSchema),
    error: Type.Optional(Type.String()),
    created_at: Type.String(),
    updated_at: Type.String()
  }) as unknown as TSchema & { static: WorkRequest<Params extends WorkSchema ? SchemaStatic<Params> : never, SchemaStatic<Result>> }
}
