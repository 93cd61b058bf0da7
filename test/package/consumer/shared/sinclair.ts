// Kinds declared with @sinclair/typebox 0.34: params and result inferred from the schemas.
import { Type } from '@sinclair/typebox'
import { daemonWork, type WorkParams, type WorkResult } from 'fastify-model-list'
import type { Equal } from './equal.js'

export const skillImport = daemonWork({
  name: 'skill_import',
  path: 'skill-imports',
  params: Type.Object({ skill: Type.String({ maxLength: 256 }) }),
  result: Type.Object({ imported: Type.Boolean(), files: Type.Array(Type.String()) }),
  claimBatch: 5
})
export const cliUpdate = daemonWork({
  name: 'cli_update',
  result: Type.Object({ version: Type.String() }),
  exclusive: true
})

export const inferred: [
  Equal<WorkParams<typeof skillImport>, { skill: string }>,
  Equal<WorkResult<typeof skillImport>, { imported: boolean, files: string[] }>,
  Equal<WorkParams<typeof cliUpdate>, undefined>,
  Equal<WorkResult<typeof cliUpdate>, { version: string }>
] = [true, true, true, true]

export function mistakes (): void {
  // @ts-expect-error: claimBatch is a number
  daemonWork({ name: 'x', result: Type.Object({}), claimBatch: '5' })
  // @ts-expect-error: a kind needs a result schema
  daemonWork({ name: 'x', params: Type.Object({}) })
}
