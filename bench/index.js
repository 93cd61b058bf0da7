'use strict'
// `npm run bench`: every figure of the benchmark issue, measured side by side
// in one run, printed as a table and written to bench/results.json. Each
// comparison interleaves its contenders round by round and reports the
// median of the per-round ratios (this machine is noisy: read ratios).
// Redis figures use private redis-servers on free loopback ports, stopped
// before the run ends; without redis-server they are skipped, saying so.
//   npm run bench
//   ROUNDS=9 ONLY=heartbeat,fullCycle npm run bench
const { randomUUID } = require('node:crypto')
const { writeFileSync } = require('node:fs')
const os = require('node:os')
const { join } = require('node:path')
const { missingBinaries, startRedis, startCluster, startReplicaPair } = require('./lib/redis-servers')
const { heartbeat } = require('./sections/heartbeat')
const { storeOps } = require('./sections/store-ops')
const { routes } = require('./sections/routes')
const { fullCycle } = require('./sections/full-cycle')
const { memoryStore } = require('./sections/memory-store')
const { picker } = require('./sections/picker')
const { cluster } = require('./sections/cluster')
const { replicas } = require('./sections/replicas')
const { heldPolls } = require('./sections/held-polls')
const { capacity } = require('./lib/capacity')
const { rows, mainTable, capacityTable } = require('./lib/report')

const rounds = Number(process.env.ROUNDS ?? 7)
const roundSeconds = Number(process.env.ROUND_SECONDS ?? 2)
const cycleRoundMs = Number(process.env.CYCLE_ROUND_MS ?? 1_000)
const only = process.env.ONLY ? new Set(process.env.ONLY.split(',')) : null
const runId = randomUUID().slice(0, 8)

// Each Redis section gets a fresh private server, so its INFO figures are its own.
async function withRedis (work) {
  const server = await startRedis(runId)
  try {
    return await work(server)
  } finally {
    await server.stop()
  }
}

async function main () {
  const started = Date.now()
  const load = { start: os.loadavg() }
  const noRedis = missingBinaries(['redis-server', 'redis-cli'])
  const results = { skippedRedis: noRedis ?? undefined }
  const timings = {}
  const failed = []
  const sections = {
    heartbeat: () => noRedis ? heartbeat({ server: null, runId, rounds, roundSeconds }) : withRedis(server => heartbeat({ server, runId, rounds, roundSeconds })),
    storeOps: () => noRedis ? undefined : withRedis(server => storeOps({ server, runId })),
    routes: () => noRedis ? undefined : withRedis(server => routes({ server, runId })),
    fullCycle: () => noRedis ? undefined : withRedis(server => fullCycle({ server, runId, rounds: rounds + 2, roundMs: cycleRoundMs })),
    memoryStore: () => memoryStore({ rounds }),
    picker: () => noRedis ? undefined : withRedis(server => picker({ server, runId })),
    cluster: () => noRedis ? undefined : cluster({ startCluster, runId }),
    replicas: () => noRedis ? undefined : replicas({ startReplicaPair, runId }),
    heldPolls: () => noRedis ? heldPolls({ server: null, runId }) : withRedis(server => heldPolls({ server, runId }))
  }
  for (const [name, run] of Object.entries(sections)) {
    if (only !== null && !only.has(name)) continue
    const t0 = Date.now()
    process.stdout.write(`${name} ... `)
    try {
      results[name] = await run()
    } catch (error) {
      // One section failing loses its figures, not the others'.
      failed.push({ section: name, error: error.stack ?? String(error) })
    }
    timings[name] = (Date.now() - t0) / 1000
    console.log(`${timings[name].toFixed(1)} s${failed.at(-1)?.section === name ? ' FAILED' : ''}`)
  }
  if (results.heartbeat?.replicaCpuUsecPerHeartbeat.redis !== undefined && results.routes) results.capacity = capacity(results)
  load.end = os.loadavg()

  const figures = rows(results)
  console.log(`\n${mainTable(figures)}`)
  if (results.capacity) {
    console.log(`\ncapacity on paper (assumptions: ${JSON.stringify(results.capacity.assumptions)})\n${capacityTable(results.capacity)}`)
  }
  const missed = figures.filter(f => f.met === false)
  console.log(`\n${figures.filter(f => f.met === true).length} targets met, ${missed.length} missed${missed.length ? ': ' + missed.map(f => f.name).join('; ') : ''}`)
  for (const { section, error } of failed) console.log(`\n${section} FAILED:\n${error}`)
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s; load average ${load.start.map(v => v.toFixed(1)).join(' ')} at the start, ${load.end.map(v => v.toFixed(1)).join(' ')} at the end`)

  const file = join(__dirname, 'results.json')
  writeFileSync(file, JSON.stringify({
    date: new Date(started).toISOString(),
    node: process.version,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, load },
    parameters: { rounds, roundSeconds, cycleRoundMs },
    seconds: timings,
    failed,
    figures,
    results
  }, null, 2) + '\n')
  console.log(`written to ${file}`)
  if (failed.length > 0) process.exitCode = 1
}

main().catch(error => {
  console.error(error)
  process.exitCode = 1
})
