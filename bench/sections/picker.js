'use strict'
// Item 6: opening the model picker, over HTTP against two replicas sharing a
// Redis store. Per open, cold (no catalog), warm (fresh catalog) and stale
// (catalog past revalidateAfterMs): HTTP requests the frontend sends and
// discoveries the daemon runs, with and without wait_ms; 50 simultaneous
// opens of one runtime; the time from a report on replica A to a poll held
// on replica B answering; Redis commands a held poll sends while it waits.
const { setTimeout: sleep } = require('node:timers/promises')
const { makeReplica, makeDaemon, makeHttp, openPicker } = require('../lib/picker-sim')
const { monitorCounter } = require('../lib/server-stats')
const { median, percentile } = require('../lib/stats')

const samples = 5
const heartbeatMs = 1_000
const discoveryMs = 100
const pollEveryMs = 500
const waitMs = 25_000
const simultaneous = 50
const latencySamples = 200
const revalidateAfterMs = 60_000
const settleWithinMs = 5_000

async function until (check, withinMs = settleWithinMs) {
  const deadline = Date.now() + withinMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await sleep(5)
  }
  return true
}

// Does a GET with wait_ms hold a request nobody reports?
async function holdsPolls (a, b, runtimeId) {
  const http = makeHttp()
  const { id } = await http.send('POST', `${a.url}/runtimes/${runtimeId}/models`, { force: true })
  const start = performance.now()
  await http.send('GET', `${b.url}/runtimes/${runtimeId}/models/${id}?wait_ms=300`)
  return performance.now() - start >= 250
}

async function opens ({ a, b, clock, runId, daemon: startDaemon, wait }) {
  const rows = { cold: [], warm: [], stale: [] }
  for (let i = 0; i < samples; i++) {
    const runtimeId = `${runId}-open-${wait === null ? 'plain' : 'held'}-${i}`
    const daemon = startDaemon(runtimeId)
    const open = async kind => {
      const before = daemon.discoveries
      const result = await openPicker({ postReplica: b, pollReplica: a, runtimeId, waitMs: wait, pollEveryMs })
      // A stale answer queues a refresh: let it finish and count it.
      if (kind === 'stale') await until(() => daemon.discoveries > before && daemon.inFlight.size === 0)
      rows[kind].push({ ...result, discoveries: daemon.discoveries - before })
    }
    try {
      await open('cold')
      await open('warm')
      clock.advance(revalidateAfterMs + 1)
      await open('stale')
    } finally {
      await daemon.stop()
    }
  }
  const summary = list => ({
    httpRequests: list.reduce((sum, r) => sum + r.requests, 0) / list.length,
    discoveries: list.reduce((sum, r) => sum + r.discoveries, 0) / list.length,
    cachedAnswers: list.filter(r => r.cached).length / list.length,
    msToAnswer: median(list.map(r => r.ms))
  })
  return Object.fromEntries(Object.entries(rows).map(([kind, list]) => [kind, summary(list)]))
}

async function simultaneousOpens ({ a, b, runId, daemon: startDaemon }) {
  const daemon = startDaemon(`${runId}-crowd`)
  const { runtimeId } = daemon
  try {
    const results = await Promise.all(Array.from({ length: simultaneous }, (_, i) => openPicker({
      postReplica: i % 2 === 0 ? a : b, pollReplica: i % 2 === 0 ? b : a, runtimeId, waitMs, pollEveryMs
    })))
    return {
      opens: simultaneous,
      discoveries: daemon.discoveries,
      httpRequestsPerOpen: results.reduce((sum, r) => sum + r.requests, 0) / simultaneous,
      completed: results.filter(r => r.status === 'completed').length,
      msToAnswer: { p50: percentile(results.map(r => r.ms), 0.5), p99: percentile(results.map(r => r.ms), 0.99) }
    }
  } finally {
    await daemon.stop()
  }
}

async function reportToHeldPoll ({ a, b, runId }) {
  const http = makeHttp()
  const runtimeId = `${runId}-latency`
  const ms = []
  for (let i = 0; i < latencySamples; i++) {
    const { id } = await http.send('POST', `${a.url}/runtimes/${runtimeId}/models`, { force: true })
    await a.app.claimPendingModelList(runtimeId)
    const held = http.send('GET', `${b.url}/runtimes/${runtimeId}/models/${id}?wait_ms=10000`).then(() => performance.now())
    await sleep(20) // the poll reaches B and is held
    const start = performance.now()
    await http.send('POST', `${a.url}/daemon/runtimes/${runtimeId}/models/${id}/result`, { status: 'completed', models: [], supported: true, fallback: true })
    ms.push(await held - start)
  }
  return { samples: latencySamples, p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) }
}

async function commandsWhileHeld ({ a, b, server, runId }) {
  const http = makeHttp()
  const runtimeId = `${runId}-quiet`
  const counter = await monitorCounter(() => server.connect())
  try {
    const { id } = await http.send('POST', `${a.url}/runtimes/${runtimeId}/models`, { force: true })
    const held = http.send('GET', `${b.url}/runtimes/${runtimeId}/models/${id}?wait_ms=1500`)
    await sleep(200)
    const { 'canary publish': canary = 0, ...counts } = await counter.count(() => sleep(1_000))
    await held
    return { windowMs: 1_000, commands: Object.values(counts).reduce((x, y) => x + y, 0), byName: counts, canaryPublishes: canary }
  } finally {
    counter.close()
  }
}

async function picker ({ server, runId }) {
  const clients = [server.connect(), server.connect()]
  const clock = { offset: 0, now: () => Date.now() + clock.offset, advance: ms => { clock.offset += ms } }
  const hints = { count: 0 }
  const daemonsBySocket = new Map()
  const keyPrefix = `bench-${runId}-picker`
  const replicas = []
  // A host holds its daemons' sockets: a hint for a runtime it holds means "heartbeat now".
  const onHint = (replica, runtimeId) => {
    hints.count++
    const daemon = daemonsBySocket.get(runtimeId)
    if (daemon !== undefined && daemon.socketReplica.name === replica) daemon.beat()
  }
  try {
    const a = await makeReplica('A', clients[0], keyPrefix, clock, onHint)
    replicas.push(a)
    const b = await makeReplica('B', clients[1], keyPrefix, clock, onHint)
    replicas.push(b)
    if (!(await holdsPolls(a, b, `${runId}-probe`))) return { skipped: 'long polling (wait_ms) is not on this build' }
    const daemon = runtimeId => {
      const started = makeDaemon({ runtimeId, socketReplica: a, reportReplica: b, heartbeatMs, discoveryMs })
      daemonsBySocket.set(runtimeId, started)
      return started
    }
    const out = {
      parameters: { samples, heartbeatMs, discoveryMs, pollEveryMs, waitMs, revalidateAfterMs },
      withoutWait: await opens({ a, b, clock, runId, daemon, wait: null }),
      withWait: await opens({ a, b, clock, runId, daemon, wait: waitMs }),
      simultaneous: await simultaneousOpens({ a, b, runId, daemon }),
      reportToHeldPoll: await reportToHeldPoll({ a, b, runId }),
      commandsWhileHeld: await commandsWhileHeld({ a, b, server, runId }),
      hintsSeen: hints.count
    }
    return out
  } finally {
    for (const replica of replicas) await replica.app.close()
    for (const client of clients) client.disconnect()
  }
}

module.exports = { picker }
