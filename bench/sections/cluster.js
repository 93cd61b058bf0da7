'use strict'
// Item 7's check on paper meeting practice: a three-master Redis Cluster,
// 1,000 runtimes each running one full cycle (create, probe, claim, complete,
// read) through the Cluster client, and the commands each master served
// (INFO commandstats: top-level ones, and all including those scripts run).
const { RedisModelListStore } = require('../..')
const { snapshot, difference } = require('../lib/server-stats')
const { pool } = require('../lib/load')
const { result } = require('../lib/catalog')

const runtimes = 1_000
const concurrency = 32
const topLevel = new Set(['evalsha', 'eval', 'zcount'])

async function cluster ({ startCluster, runId }) {
  const handle = await startCluster(3)
  const cluster = handle.connect()
  const masters = handle.servers.map(server => server.connect())
  try {
    const store = new RedisModelListStore({ redis: cluster, keyPrefix: `bench-${runId}-cluster` })
    // Warm-up: slots known to the client, scripts to every master.
    await pool(concurrency, 64, async i => { await store.hasPending(`warm-${i}`); await store.create(`warm-${i}`) })
    const before = await Promise.all(masters.map(snapshot))
    await pool(concurrency, runtimes, async i => {
      const runtimeId = `runtime-${String(i).padStart(4, '0')}`
      const created = await store.create(runtimeId)
      await store.hasPending(runtimeId)
      await store.popPending(runtimeId)
      await store.complete(runtimeId, created.id, result)
      await store.get(runtimeId, created.id)
    })
    const after = await Promise.all(masters.map(snapshot))
    const perMaster = masters.map((_, i) => {
      const { commands } = difference(before[i], after[i])
      const sum = filter => Object.entries(commands).filter(([name]) => filter(name)).reduce((a, [, { calls }]) => a + calls, 0)
      return { port: handle.ports[i], topLevel: sum(name => topLevel.has(name)), all: sum(() => true) }
    })
    const counts = perMaster.map(m => m.topLevel)
    return { masters: 3, runtimes, perMaster, maxOverMin: Math.max(...counts) / Math.min(...counts) }
  } finally {
    cluster.disconnect()
    for (const master of masters) master.disconnect()
    await handle.stop()
  }
}

module.exports = { cluster }
