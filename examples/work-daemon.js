'use strict'

// The daemon side of examples/work-host.js, and a run-through: the host on a
// free port, one browser asking for each kind of work, one daemon heartbeating.
//   node examples/work-daemon.js
const { buildWorkHost, runtimes } = require('./work-host')

// What each kind of work does on the daemon's machine (simulated here).
const handlers = {
  local_skills: async () => ({ skills: [{ name: 'search', description: 'Web search' }, { name: 'pdf' }] }),
  skill_import: async ({ source }) => ({ name: source.split('/').pop(), installed: true }),
  cli_update: async ({ version = 'latest' }) => ({ from: '1.4.2', to: version })
}
// The heartbeat answer's key for each kind, and its report path.
const paths = { local_skills: 'local-skills', skill_import: 'skill-imports', cli_update: 'cli-update' }

/** One heartbeat: claims whatever is waiting, runs it, reports each result. Answers what it ran. */
async function heartbeatOnce ({ baseUrl, runtimeId, token }) {
  const auth = { authorization: `Bearer ${token}` }
  const headers = { ...auth, 'content-type': 'application/json' }
  const answer = await (await fetch(`${baseUrl}/api/daemon/heartbeat`, { method: 'POST', headers: auth })).json()
  const ran = []
  for (const [kind, handle] of Object.entries(handlers)) {
    const pending = answer[`pending_${kind}`]
    if (pending === undefined) continue
    // A batch kind answers an array, the others one request.
    for (const { id, params } of [pending].flat()) {
      let report
      try {
        report = { status: 'completed', result: await handle(params ?? {}) }
      } catch (error) {
        report = { status: 'failed', error: error.message }
      }
      await fetch(`${baseUrl}/api/daemon/runtimes/${runtimeId}/${paths[kind]}/${id}/result`, { method: 'POST', headers, body: JSON.stringify(report) })
      ran.push(`${kind} ${id}`)
    }
  }
  return { answer, ran }
}

async function main () {
  const app = buildWorkHost()
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  const { id: runtimeId, token } = runtimes[0]
  const user = { 'x-user': 'alice', 'content-type': 'application/json' }
  const post = async (path, body) => {
    const response = await fetch(`${baseUrl}/api/runtimes/${runtimeId}/${path}`, { method: 'POST', headers: user, body: JSON.stringify(body ?? {}) })
    const json = await response.json()
    console.log(`POST ${path} -> ${response.status} ${json.status ?? json.code}`)
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
      const request = await (await fetch(`${baseUrl}/api/runtimes/${runtimeId}/${path}/${id}?wait_ms=5000`, { headers: user })).json()
      console.log(`GET ${path} -> ${request.status} ${JSON.stringify(request.result)}`)
    }
  } finally {
    await app.close()
  }
}

if (require.main === module) {
  main().catch(error => {
    console.error(error)
    process.exit(1)
  })
}

module.exports = { heartbeatOnce, handlers }
