import { execFile } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import Fastify from 'fastify'
import { workStoreContract } from '../lib/testing/index'
import fastifyModelList from '../lib/index'
import type { WorkStore } from '../lib/index'
import { hooks } from './helpers/apps'
import { MapWorkStore } from '../examples/custom-work-store'
import { work } from '../examples/work-host'

// The other-kinds examples: the four-kind host and its daemon as a user runs
// them, and the small custom work store through the exported contract suite.
const root = join(__dirname, '..')

t.test('work-daemon.ts: four kinds, one heartbeat, every result read back', async t => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null, stdout: string, stderr: string }>(resolve => {
    const child = execFile(process.execPath, ['--import', 'tsx', join('examples', 'work-daemon.ts')], { cwd: root, timeout: 30_000 }, (_error, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout, stderr })
    })
  })
  t.equal(code, 0, stderr)
  t.match(stdout, /POST cli-update -> 409 FST_MODEL_LIST_WORK_BUSY/, 'one update at a time')
  t.match(stdout, /heartbeat -> pending_local_skills, pending_skill_import, pending_cli_update/)
  t.match(stdout, /daemon ran 4 requests/, 'the two imports came in one batch')
  t.match(stdout, /GET skill-imports -> completed {"name":"search","installed":true}/)
  t.match(stdout, /GET cli-update -> completed {"from":"1.4.2","to":"1.5.0"}/)
})

// The exported suite, as a store author runs it.
workStoreContract(t, { name: 'examples/custom-work-store.ts', cache: false, forgets: 'clock', make: (now): WorkStore => new MapWorkStore({ now }) })

t.test('the custom work store serves every kind through the plugin', async t => {
  const app = Fastify()
  await app.register(fastifyModelList, { ...hooks, store: new MapWorkStore(), work })
  await app.ready()
  t.teardown(() => app.close())
  const list = (await app.inject({ method: 'POST', url: '/runtimes/rt/models' })).json()
  const imported = (await app.inject({ method: 'POST', url: '/runtimes/rt/skill-imports', payload: { source: 'a/b' } })).json()
  t.same(await app.claimPendingWork('rt'), { pending_model_list: { id: list.id }, pending_skill_import: [{ id: imported.id, params: { source: 'a/b' } }] })
  const report = await app.inject({ method: 'POST', url: `/daemon/runtimes/rt/skill-imports/${imported.id as string}/result`, payload: { status: 'completed', result: { name: 'b', installed: true } } })
  t.equal(report.statusCode, 200)
  const polled = (await app.inject({ method: 'GET', url: `/runtimes/rt/skill-imports/${imported.id as string}?wait_ms=1000` })).json()
  t.same(polled.result, { name: 'b', installed: true })
})
