import fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import fastifyModelList, {
  daemonWork,
  WorkRequest,
  type PendingWork,
  type WorkParams,
  type WorkResult,
  type WorkStore,
  type WorkRecord,
  type WorkKindStore
} from '..'

// daemonWork infers params and result from its schemas, and the heartbeat
// answer and the kind's store follow them: no casts anywhere.

const skillImport = daemonWork({
  name: 'skill_import',
  path: 'skill-imports',
  params: Type.Object({ skill: Type.String({ maxLength: 256 }) }),
  result: Type.Object({ imported: Type.Boolean() }),
  pendingTimeoutMs: 180_000,
  coalesce: false,
  claimBatch: 10
})
const cliUpdate = daemonWork({
  name: 'cli_update',
  result: Type.Object({ version: Type.String() }),
  exclusive: true
})
const work = [skillImport, cliUpdate] as const

expectType<'skill_import'>(skillImport.name)
expectType<{ skill: string }>({} as WorkParams<typeof skillImport>)
expectType<{ imported: boolean }>({} as WorkResult<typeof skillImport>)
expectType<undefined>(undefined as WorkParams<typeof cliUpdate>)

// The declaration's mistakes that types can see.
expectError(daemonWork({ name: 'x', result: Type.Object({}), claimBatch: '10' }))
expectError(daemonWork({ name: 'x' }))
expectError(daemonWork({ name: 'x', result: Type.Object({}), exclusive: 'yes' }))
expectError(daemonWork({ name: 'x', result: Type.Object({}), pendingTimeoutMs: '3m' }))

const app = fastify()
const hooks = { getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true }
app.register(fastifyModelList, { ...hooks, work })
app.register(fastifyModelList, { ...hooks, work: [skillImport] })
app.register(fastifyModelList, { ...hooks, notifyPendingWork: (runtimeId: string, kind: string) => { expectType<string>(kind) } })
expectError(app.register(fastifyModelList, { ...hooks, work: [skillImport.result] }))

// The heartbeat answer, typed by the kinds given to `work`.
const answer = await app.claimPendingWork<typeof work>('rt')
if (answer !== null) {
  expectType<{ id: string } | undefined>(answer.pending_model_list)
  expectType<Array<{ id: string, params: { skill: string } }> | undefined>(answer.pending_skill_import)
  expectType<{ id: string } | undefined>(answer.pending_cli_update)
  expectError(answer.pending_unknown_kind)
}
expectAssignable<PendingWork<typeof work>>({ pending_skill_import: [{ id: 'a', params: { skill: 's' } }] })
expectNotAssignable<PendingWork<typeof work>>({ pending_skill_import: [{ id: 'a', params: { skill: 5 } }] })
expectNotAssignable<PendingWork<typeof work>>({ pending_cli_update: [{ id: 'a' }] })
const untyped = await app.claimPendingWork('rt')
expectType<{ id: string } | undefined>(untyped?.pending_model_list)

// A kind's store: params in, results out, typed by the schemas.
const imports = app.daemonWorkStore(skillImport)
expectType<WorkKindStore<typeof skillImport>>(imports)
const created = await imports.create('rt', { skill: 'search' })
expectType<{ skill: string } | undefined>(created.params)
expectType<{ imported: boolean } | undefined>(created.result)
expectError(imports.create('rt', { skill: 5 }))
expectError(imports.complete('rt', created.id, { imported: 'yes' }))
await imports.complete('rt', created.id, { imported: true })
expectType<Array<{ id: string, params: { skill: string } }>>(await imports.claim('rt'))
expectType<Array<{ id: string }>>(await app.daemonWorkStore(cliUpdate).claim('rt'))

// The wire schema, schema and type under one name.
const ImportRequest = WorkRequest(skillImport.params, skillImport.result)
expectType<'object'>(ImportRequest.type as 'object')
expectAssignable<WorkRequest<{ skill: string }, { imported: boolean }>>({ id: 'i', runtime_id: 'r', status: 'pending', params: { skill: 's' }, created_at: '', updated_at: '' })
expectNotAssignable<WorkRequest>({ id: 'i', runtime_id: 'r', status: 'done', created_at: '', updated_at: '' })

// A custom work store: records, queues, claims and settles; the plugin takes it.
const records = new Map<string, WorkRecord>()
const custom: WorkStore = {
  open: async (rules, runtimeId, request) => {
    const record = rules.open(`id-${records.size}`, runtimeId, Date.now(), request.params)
    records.set(record.id, record)
    return { record, queued: true }
  },
  get: async (_rules, _runtimeId, id) => records.get(id) ?? null,
  probe: async (_runtimeId, kinds) => kinds.map(() => false),
  claim: async () => [],
  settle: async () => null,
  close: async () => {}
}
app.register(fastifyModelList, { ...hooks, store: custom, work, pendingTimeoutMs: 10_000 })
expectError(app.register(fastifyModelList, { ...hooks, store: { open: custom.open } }))
