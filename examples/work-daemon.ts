// The daemon side of examples/work-host.ts, and a run-through: the host on a
// free port, one browser asking for each kind of work, one daemon heartbeating.
//   npx tsx examples/work-daemon.ts
import type { PendingWork, WorkParams, WorkResult } from 'fastify-model-list'
import { buildWorkHost, runtimes, type cliUpdate, type localSkills, type skillImport, type work } from './work-host'

// What each kind of work does on the daemon's machine (simulated here).
export const handlers = {
  local_skills: async (): Promise<WorkResult<typeof localSkills>> => ({ skills: [{ name: 'search', description: 'Web search' }, { name: 'pdf' }] }),
  skill_import: async ({ source }: WorkParams<typeof skillImport>): Promise<WorkResult<typeof skillImport>> => ({ name: source.split('/').pop() ?? source, installed: true }),
  cli_update: async ({ version = 'latest' }: WorkParams<typeof cliUpdate>): Promise<WorkResult<typeof cliUpdate>> => ({ from: '1.4.2', to: version })
}
type Kind = keyof typeof handlers
// The heartbeat answer's key for each kind, and its report path.
const paths: Record<Kind, string> = { local_skills: 'local-skills', skill_import: 'skill-imports', cli_update: 'cli-update' }

type HeartbeatAnswer = PendingWork<typeof work> & { status: string }
type Report = { status: 'completed', result: unknown } | { status: 'failed', error: string }

/** One heartbeat: claims whatever is waiting, runs it, reports each result. Answers what it ran. */
export async function heartbeatOnce ({ baseUrl, runtimeId, token }: { baseUrl: string, runtimeId: string, token: string }): Promise<{ answer: HeartbeatAnswer, ran: string[] }> {
  const auth = { authorization: `Bearer ${token}` }
  const headers = { ...auth, 'content-type': 'application/json' }
  const answer = await (await fetch(`${baseUrl}/api/daemon/heartbeat`, { method: 'POST', headers: auth })).json() as HeartbeatAnswer
  const ran: string[] = []
  for (const kind of Object.keys(handlers) as Kind[]) {
    const pending = answer[`pending_${kind}`]
    if (pending === undefined) continue
    // A batch kind answers an array, the others one request.
    for (const { id, params } of [pending].flat() as Array<{ id: string, params?: object }>) {
      let report: Report
      try {
        // Each handler takes its own kind's params: the heartbeat answer's key tells which.
        const handle = handlers[kind] as (params: object) => Promise<unknown>
        report = { status: 'completed', result: await handle(params ?? {}) }
      } catch (error) {
        report = { status: 'failed', error: error instanceof Error ? error.message : String(error) }
      }
      await fetch(`${baseUrl}/api/daemon/runtimes/${runtimeId}/${paths[kind]}/${id}/result`, { method: 'POST', headers, body: JSON.stringify(report) })
      ran.push(`${kind} ${id}`)
    }
  }
  return { answer, ran }
}

// What the browser reads back: a request's wire shape, as far as this run prints it.
interface WorkRequestAnswer { id: string, status?: string, code?: string, result?: unknown }

async function main (): Promise<void> {
  const app = buildWorkHost()
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const { id: runtimeId, token } = runtimes[0]
  const user = { 'x-user': 'alice', 'content-type': 'application/json' }
  const post = async (path: string, body?: object): Promise<WorkRequestAnswer> => {
    const response = await fetch(`${baseUrl}/api/runtimes/${runtimeId}/${path}`, { method: 'POST', headers: user, body: JSON.stringify(body ?? {}) })
    const json = await response.json() as WorkRequestAnswer
    console.log(`POST ${path} -> ${response.status} ${json.status ?? json.code ?? ''}`)
    return json
  }
  try {
    const list = await post('local-skills')
    const imports = [await post('skill-imports', { source: 'github.com/acme/skills/search' }), await post('skill-imports', { source: 'github.com/acme/skills/pdf' })]
    const update = await post('cli-update', { version: '1.5.0' })
    await post('cli-update', { version: '1.5.1' }) // 409: one update at a time

    const { answer, ran } = await heartbeatOnce({ baseUrl, runtimeId, token })
    console.log(`heartbeat -> ${Object.keys(answer).filter(key => key.startsWith('pending_')).join(', ')}`)
    console.log(`daemon ran ${ran.length} requests`)

    for (const [path, id] of [['local-skills', list.id], ['skill-imports', imports[0].id], ['skill-imports', imports[1].id], ['cli-update', update.id]]) {
      const request = await (await fetch(`${baseUrl}/api/runtimes/${runtimeId}/${path}/${id}?wait_ms=5000`, { headers: user })).json() as WorkRequestAnswer
      console.log(`GET ${path} -> ${request.status ?? ''} ${JSON.stringify(request.result)}`)
    }
  } finally {
    await app.close()
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
