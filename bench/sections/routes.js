'use strict'
// Items 2 and 7: what each route costs, through a real app on the Redis store
// (app.inject, so no socket I/O): round trips counted at the top level with
// MONITOR; the server's CPU µs per call from INFO and the messages published;
// this process's CPU µs per call. Covers the heartbeat (idle and claiming),
// the POST (new, joined, answered from the catalog cache fresh and stale), the
// GET and the reports.
const Fastify = require('fastify')
const { fastifyModelList } = require('../..')
const { monitorCounter, measure } = require('../lib/server-stats')
const { pool } = require('../lib/load')
const { catalog } = require('../lib/catalog')

const countedCalls = 50
const costedCalls = 1_000
const costConcurrency = 8
const revalidateAfterMs = 60_000

async function makeApp (redis, keyPrefix, clock) {
  const app = Fastify()
  await app.register(fastifyModelList, {
    redis,
    keyPrefix,
    now: clock.now,
    getRuntime: async () => ({ online: true }),
    authorizeDaemon: async () => true,
    catalogCache: { serveWindowMs: 86_400_000, revalidateAfterMs },
    notifyPendingWork: () => {}
  })
  await app.ready()
  return app
}

async function call (app, method, url, payload) {
  const response = await app.inject({ method, url, payload })
  if (response.statusCode !== 200) throw new Error(`${method} ${url} answered ${response.statusCode}: ${response.body}`)
  return response.json()
}

// Each route with what must be true before it is called `n` times; `seen`
// records whether POSTs were answered from the catalog cache.
function phases (app, clock, tag, seen) {
  const runtime = i => `${tag}-${i}`
  const failing = i => `${tag}-failing-${i}`
  const post = async i => await call(app, 'POST', `/runtimes/${runtime(i)}/models`)
  const completed = { status: 'completed', models: catalog, supported: true }
  const ids = []
  const failingIds = []
  const none = async () => {}
  return [
    ['heartbeat (nothing to claim)', none, i => app.claimPendingModelList(`${tag}-idle-${i}`)],
    ['POST (new request)', none, async i => { ids[i] = (await post(i)).id }],
    ['POST (joins the pending one)', none, post],
    ['heartbeat (claims)', none, i => app.claimPendingModelList(runtime(i))],
    ['GET', none, i => call(app, 'GET', `/runtimes/${runtime(i)}/models/${ids[i]}`)],
    ['report (completed)', none, i => call(app, 'POST', `/daemon/runtimes/${runtime(i)}/models/${ids[i]}/result`, completed)],
    ['POST (catalog cache, fresh)', none, async i => { if ((await post(i)).cached === true) seen.fresh++ }],
    ['POST (catalog cache, stale: refresh queued)', async () => clock.advance(revalidateAfterMs + 1), async i => { if ((await post(i)).cached === true) seen.stale++ }],
    ['report (failed)', async n => {
      for (let i = 0; i < n; i++) {
        failingIds[i] = (await call(app, 'POST', `/runtimes/${failing(i)}/models`)).id
        await app.claimPendingModelList(failing(i))
      }
    }, i => call(app, 'POST', `/daemon/runtimes/${failing(i)}/models/${failingIds[i]}/result`, { status: 'failed', error: 'discovery failed' })]
  ].map(([name, before, run]) => ({ name, before, run }))
}

async function routes ({ server, runId }) {
  const client = server.connect()
  const counter = await monitorCounter(() => server.connect())
  const clock = { offset: 0, now: () => Date.now() + clock.offset, advance: ms => { clock.offset += ms } }
  const app = await makeApp(client, `bench-${runId}-routes`, clock)
  const seen = { fresh: 0, stale: 0 }
  const out = { rows: [] }
  try {
    // Warm-up: scripts loaded on the connection, the subscriber (if any) connected.
    for (const phase of phases(app, clock, `${runId}-warm`, { fresh: 0, stale: 0 })) {
      await phase.before(2)
      await pool(1, 2, phase.run)
    }
    for (const [mode, n] of [['counted', countedCalls], ['costed', costedCalls]]) {
      for (const phase of phases(app, clock, `${runId}-${mode}`, seen)) {
        await phase.before(n)
        let row = out.rows.find(r => r.name === phase.name)
        if (row === undefined) out.rows.push(row = { name: phase.name })
        if (mode === 'counted') {
          const { 'canary publish': _canary, ...counts } = await counter.count(() => pool(1, n, phase.run))
          row.commands = Object.fromEntries(Object.entries(counts).map(([name, c]) => [name, c / n]))
          row.roundTrips = Object.values(counts).reduce((a, b) => a + b, 0) / n
        } else {
          const cpu = process.cpuUsage()
          const stats = await measure(client, () => pool(costConcurrency, n, phase.run))
          const { user, system } = process.cpuUsage(cpu)
          row.serverCpuUsec = stats.cpuUsec / n
          // In process (inject): the route's own work and the Redis client's, no socket I/O.
          row.replicaCpuUsec = (user + system) / n
          row.publishes = ((stats.commands.publish?.calls ?? 0) + (stats.commands.spublish?.calls ?? 0)) / n
        }
      }
    }
    // Without a catalog cache on this build, those POSTs were plain ones.
    out.catalogCache = { fresh: seen.fresh === countedCalls + costedCalls, stale: seen.stale === countedCalls + costedCalls }
  } finally {
    counter.close()
    await app.close()
    client.disconnect()
  }
  return out
}

module.exports = { routes }
