import fastify from 'fastify'
import { Type } from 'typebox'
import { Type as SinclairType } from '@sinclair/typebox'
import { expectAssignable, expectError, expectType } from 'tsd'
import fastifyModelList, {
  daemonWork,
  WorkRequest,
  type DaemonWork,
  type WorkParams,
  type WorkResult
} from '..'

// daemonWork takes schemas from typebox 1 (what @fastify/type-provider-typebox
// 6 uses) as it does @sinclair/typebox 0.34's, and infers the same types.

const skillList = daemonWork({
  name: 'skill_list',
  params: Type.Object({ tag: Type.Optional(Type.String()), limit: Type.Integer() }),
  result: Type.Object({
    skills: Type.Array(Type.Object({ name: Type.String(), kind: Type.Union([Type.Literal('local'), Type.Literal('remote')]) })),
    next: Type.Union([Type.String(), Type.Null()])
  }),
  claimBatch: 3
})
const skillSync = daemonWork({ name: 'skill_sync', result: Type.Object({ synced: Type.Number() }) })

expectType<{ tag?: string, limit: number }>({} as WorkParams<typeof skillList>)
expectType<{ skills: Array<{ name: string, kind: 'local' | 'remote' }>, next: string | null }>({} as WorkResult<typeof skillList>)
expectType<undefined>(undefined as WorkParams<typeof skillSync>)
expectType<{ synced: number }>({} as WorkResult<typeof skillSync>)
expectAssignable<DaemonWork>(skillList)

// The two packages side by side: a kind may mix them, and one `work` list holds both.
const mixed = daemonWork({
  name: 'mixed',
  params: SinclairType.Object({ id: SinclairType.String() }),
  result: Type.Object({ ok: Type.Boolean() })
})
expectType<{ id: string }>({} as WorkParams<typeof mixed>)
expectType<{ ok: boolean }>({} as WorkResult<typeof mixed>)

const app = fastify()
const hooks = { getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true }
const work = [skillList, skillSync, mixed] as const
app.register(fastifyModelList, { ...hooks, work })

const answer = await app.claimPendingWork<typeof work>('rt')
expectType<Array<{ id: string, params: { tag?: string, limit: number } }> | undefined>(answer?.pending_skill_list)
expectType<{ id: string } | undefined>(answer?.pending_skill_sync)

const lists = app.daemonWorkStore(skillList)
const created = await lists.create('rt', { limit: 5 })
expectType<{ tag?: string, limit: number } | undefined>(created.params)
expectError(lists.create('rt', { limit: '5' }))
expectError(lists.complete('rt', created.id, { skills: [{ name: 'a', kind: 'elsewhere' }], next: null }))
await lists.complete('rt', created.id, { skills: [{ name: 'a', kind: 'local' }], next: null })

// The kind's wire schema, from typebox 1 schemas.
const ListRequest = WorkRequest(skillList.params, skillList.result)
expectType<{ tag?: string, limit: number } | undefined>(ListRequest.static.params)

// What is not a TypeBox schema of either package.
expectError(daemonWork({ name: 'x', result: { type: 'object' } }))
expectError(daemonWork({ name: 'x', result: Type.Object({}), params: 'object' }))
