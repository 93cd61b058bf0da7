'use strict'
// What waitForReplicas costs (issue 15): on a master with one replica, each
// store operation with the option off and on, one at a time (the latency a
// caller sees), counting the writes to the client's socket (round trips) and
// the commands sent. Rounds alternate off/on so drift favours neither.
const { RedisModelListStore } = require('../..')
const { median, percentile } = require('../lib/stats')
const { result } = require('../lib/catalog')

const callsPerRound = 200
const replicaDownCycles = 10
const rounds = 3
const operations = ['create', 'popPending', 'complete', 'get']
const modes = {
  off: undefined,
  on: { replicas: 1, timeoutMs: 100 }
}

// Counts what the client hands to its socket: writes are round trips, sendCommand calls are commands.
function counted (client) {
  const counts = { writes: 0, commands: 0 }
  const send = client.sendCommand.bind(client)
  client.sendCommand = (...args) => { counts.commands++; return send(...args) }
  const watch = () => {
    const write = client.stream.write.bind(client.stream)
    client.stream.write = (...args) => { counts.writes++; return write(...args) }
  }
  return { counts, watch }
}

async function replicas ({ startReplicaPair, runId }) {
  const pair = await startReplicaPair(`replicas-${runId}`)
  const clients = []
  try {
    const stores = {}
    for (const [mode, waitForReplicas] of Object.entries(modes)) {
      const client = pair.master.connect()
      clients.push(client)
      await client.ping()
      const counter = counted(client)
      counter.watch()
      stores[mode] = { store: new RedisModelListStore({ redis: client, keyPrefix: `bench-${runId}-replicas-${mode}`, waitForReplicas }), counts: counter.counts }
    }
    const samples = Object.fromEntries(Object.keys(modes).map(mode => [mode, Object.fromEntries(operations.map(op => [op, { ms: [], writes: 0, commands: 0, calls: 0 }]))]))
    const timed = async (mode, operation, work) => {
      const { counts } = stores[mode]
      const writes = counts.writes
      const commands = counts.commands
      const started = process.hrtime.bigint()
      await work()
      const sample = samples[mode][operation]
      sample.ms.push(Number(process.hrtime.bigint() - started) / 1e6)
      sample.writes += counts.writes - writes
      sample.commands += counts.commands - commands
      sample.calls++
    }
    const cycle = async (mode, runtimeId) => {
      const { store } = stores[mode]
      let id
      await timed(mode, 'create', async () => { id = (await store.create(runtimeId)).id })
      await timed(mode, 'popPending', async () => { await store.popPending(runtimeId) })
      await timed(mode, 'complete', async () => { await store.complete(runtimeId, id, result) })
      await timed(mode, 'get', async () => { await store.get(runtimeId, id) })
    }
    // Warm-up: every script known to the server and each connection.
    for (const mode of Object.keys(modes)) for (let i = 0; i < 5; i++) await cycle(mode, `warm-${i}`)
    for (const sample of Object.values(samples).flatMap(Object.values)) Object.assign(sample, { ms: [], writes: 0, commands: 0, calls: 0 })
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? Object.keys(modes) : Object.keys(modes).reverse()
      for (const mode of order) for (let i = 0; i < callsPerRound; i++) await cycle(mode, `rt-${round}-${i % 32}`)
    }
    // The replica gone: each change's WAIT runs out its timeout (a few cycles: each costs that long).
    await pair.replica.stop()
    samples.replicaDown = Object.fromEntries(operations.map(op => [op, { ms: [], writes: 0, commands: 0, calls: 0 }]))
    stores.replicaDown = stores.on
    for (let i = 0; i < replicaDownCycles; i++) await cycle('replicaDown', `rt-down-${i}`)
    const out = { waitForReplicas: modes.on, rows: [] }
    for (const operation of operations) {
      const row = { operation }
      for (const mode of [...Object.keys(modes), 'replicaDown']) {
        const sample = samples[mode][operation]
        row[mode] = {
          roundTrips: sample.writes / sample.calls,
          commands: sample.commands / sample.calls,
          medianMs: median(sample.ms),
          p99Ms: percentile(sample.ms, 0.99)
        }
      }
      out.rows.push(row)
    }
    return out
  } finally {
    for (const client of clients) client.disconnect()
    await pair.stop()
  }
}

module.exports = { replicas }
