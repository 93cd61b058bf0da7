import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import {
  listModels,
  reportModelList,
  ModelListError,
  type ListModelsResult,
  type ClientModelEntry,
  type ClientModelListReport
} from '../dist/client'
import type { ModelEntry, ModelListReport } from '..'

// The client's own wire types are the server's schemas' static types.
expectAssignable<ClientModelEntry>({} as ModelEntry)
expectAssignable<ModelEntry>({} as ClientModelEntry)
expectAssignable<ClientModelListReport>({} as ModelListReport)
expectAssignable<ModelListReport>({} as ClientModelListReport)

expectType<Promise<ListModelsResult>>(listModels({ baseUrl: 'https://api.example.com/api', runtimeId: 'rt' }))
const result = await listModels({
  baseUrl: 'https://api.example.com/api',
  runtimeId: 'rt',
  fetch: globalThis.fetch,
  headers: { authorization: 'Bearer x' },
  force: true,
  signal: AbortSignal.timeout(1_000),
  timeoutMs: 10_000
})
expectType<ClientModelEntry[]>(result.models)
expectType<boolean>(result.supported)
expectType<boolean>(result.cached)
expectType<string | undefined>(result.cachedAt)
expectError(listModels({ runtimeId: 'rt' }))
expectError(listModels({ baseUrl: 'x', runtimeId: 'rt', timeoutMS: 5 }))
expectError(listModels({ baseUrl: 'x', runtimeId: 'rt', force: 'yes' }))

expectType<Promise<{ status: string }>>(reportModelList({ baseUrl: 'x', runtimeId: 'rt', requestId: 'id', report: { status: 'failed', error: 'boom' } }))
reportModelList({ baseUrl: 'x', runtimeId: 'rt', requestId: 'id', report: { status: 'completed', models: [{ id: 'm', label: 'M' }], supported: true, fallback: false } })
expectError(reportModelList({ baseUrl: 'x', runtimeId: 'rt', requestId: 'id', report: { status: 'running' } }))
expectError(reportModelList({ baseUrl: 'x', runtimeId: 'rt', report: { status: 'failed' } }))
expectNotAssignable<ClientModelListReport>({ status: 'completed', models: [{ id: 'm' }] })

const error = new ModelListError('no', { statusCode: 503, code: 'FST_MODEL_LIST_RUNTIME_OFFLINE' })
expectAssignable<Error>(error)
expectType<number | undefined>(error.statusCode)
expectType<string | undefined>(error.code)
expectType<'pending' | 'running' | 'completed' | 'failed' | 'timeout' | undefined>(error.status)
