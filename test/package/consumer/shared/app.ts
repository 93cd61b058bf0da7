// Compiled and run in both projects (ESM and CommonJS output): declared kinds
// go through their routes and the heartbeat, typed end to end.
import Fastify, { type FastifyInstance } from 'fastify'
import { fastifyModelList } from 'fastify-model-list'
import { cliUpdate, skillImport } from './sinclair.js'
import { skillList } from './typebox.js'

const work = [skillImport, cliUpdate, skillList] as const

async function read (app: FastifyInstance, path: string, id: string): Promise<unknown> {
  const { status, params, result } = (await app.inject({ method: 'GET', url: `/api/runtimes/rt/${path}/${id}` })).json()
  return { status, params, result }
}

async function main (): Promise<void> {
  const app = Fastify()
  await app.register(fastifyModelList, { prefix: '/api', getRuntime: () => ({ online: true }), authorizeDaemon: () => true, work })
  const skill = (await app.inject({ method: 'POST', url: '/api/runtimes/rt/skill-imports', payload: { skill: 'search' } })).json()
  const cli = (await app.inject({ method: 'POST', url: '/api/runtimes/rt/cli-update' })).json()
  const listed = (await app.inject({ method: 'POST', url: '/api/runtimes/rt/skill-list', payload: { limit: 5 } })).json()
  const refused = (await app.inject({ method: 'POST', url: '/api/runtimes/rt/skill-list', payload: { limit: 0 } })).statusCode
  const pending = await app.claimPendingWork<typeof work>('rt')
  const claimed: string[] = pending?.pending_skill_import?.map(item => item.params.skill) ?? []
  const limit: number | undefined = pending?.pending_skill_list?.params.limit
  const reports = [
    await app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt/skill-imports/${skill.id as string}/result`, payload: { status: 'completed', result: { imported: true, files: ['SKILL.md'] } } }),
    await app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt/cli-update/${cli.id as string}/result`, payload: { status: 'completed', result: { version: '2.0.0' } } }),
    await app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt/skill-list/${listed.id as string}/result`, payload: { status: 'completed', result: { skills: [{ name: 'search', kind: 'elsewhere' }] } } }),
    await app.inject({ method: 'POST', url: `/api/daemon/runtimes/rt/skill-list/${listed.id as string}/result`, payload: { status: 'completed', result: { skills: [{ name: 'search', kind: 'local' }] } } })
  ].map(report => report.statusCode)
  const stored = await app.daemonWorkStore(skillImport).get('rt', skill.id)
  const files: string[] = stored?.result?.files ?? []
  console.log(JSON.stringify({
    claimed,
    cliClaimed: pending?.pending_cli_update?.id === cli.id,
    reports,
    skill: await read(app, 'skill-imports', skill.id),
    cli: await read(app, 'cli-update', cli.id),
    limit,
    refused,
    list: await read(app, 'skill-list', listed.id),
    files
  }))
  await app.close()
}

main().catch(error => {
  console.error(error)
  process.exitCode = 1
})
