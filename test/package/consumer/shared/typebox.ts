// Kinds declared with typebox 1 (what @fastify/type-provider-typebox 6 uses):
// params and result inferred from the schemas, as with @sinclair/typebox.
import { Type } from 'typebox'
import { daemonWork, WorkRequest, type WorkParams, type WorkResult } from 'fastify-model-list'
import type { Equal } from './equal.js'

export const skillList = daemonWork({
  name: 'skill_list',
  params: Type.Object({ tag: Type.Optional(Type.String()), limit: Type.Integer({ minimum: 1 }) }),
  result: Type.Object({ skills: Type.Array(Type.Object({ name: Type.String(), kind: Type.Union([Type.Literal('local'), Type.Literal('remote')]) })) })
})
export const skillSync = daemonWork({ name: 'skill_sync', result: Type.Object({ synced: Type.Number() }), claimBatch: 1 })

export const inferred: [
  Equal<WorkParams<typeof skillList>, { tag?: string, limit: number }>,
  Equal<WorkResult<typeof skillList>, { skills: Array<{ name: string, kind: 'local' | 'remote' }> }>,
  Equal<WorkParams<typeof skillSync>, undefined>,
  Equal<WorkResult<typeof skillSync>, { synced: number }>
] = [true, true, true, true]

// The kind's wire schema, with both TypeBox packages' schemas inside.
export const SkillListRequest = WorkRequest(skillList.params, skillList.result)

export function mistakes (): void {
  // @ts-expect-error: a string is no schema
  daemonWork({ name: 'x', result: 'object' })
}
