'use strict'
// Items 3 and 4: the full cycle on Redis (create, claim, complete, read) with
// 64 cycles in flight from one process, against the ceiling raw ioredis sets
// on the same client and concurrency (a quarter of the rate of EVALSHA of a
// one-key read script: a cycle is four operations), and the same cycle through
// the Go-pattern baseline. Rounds interleave the three; each figure is the
// median of its per-round ratios.
const { RedisModelListStore } = require('../..')
const { GoPatternStore } = require('../lib/go-pattern-store')
const { interleave, median, medianRatio } = require('../lib/stats')
const { rate } = require('../lib/load')
const { measure } = require('../lib/server-stats')
const { randomUUID } = require('node:crypto')
const { result } = require('../lib/catalog')

const inFlight = 64
const operationsPerCycle = 4
const readLua = "return redis.call('GET', KEYS[1])"

async function cycle (store, runtimeId) {
  const created = await store.create(runtimeId)
  const claimed = await store.popPending(runtimeId)
  await store.complete(runtimeId, claimed.id, result)
  const read = await store.get(runtimeId, created.id)
  if (read.status !== 'completed') throw new Error(`a full cycle ended ${read.status}`)
}

// What any store must do in this process per cycle, with no Redis at all: the
// catalog as JSON once out and twice back (the report's answer and the read),
// a fresh id, and the four records' two ISO dates each.
function wireShapeUsec () {
  const calls = 20_000
  let sink
  const start = process.cpuUsage()
  for (let i = 0; i < calls; i++) {
    const json = JSON.stringify(result)
    sink = JSON.parse(json)
    sink = JSON.parse(json)
    sink = randomUUID()
    for (let k = 0; k < 8; k++) sink = new Date(1_764_000_000_000 + i + k).toISOString()
  }
  const { user, system } = process.cpuUsage(start)
  return sink === undefined ? NaN : (user + system) / calls
}

async function fullCycle ({ server, runId, rounds, roundMs }) {
  const client = server.connect()
  try {
    const ours = new RedisModelListStore({ redis: client, keyPrefix: `bench-${runId}-cycle` })
    const go = new GoPatternStore({ redis: client, keyPrefix: `bench-${runId}-gocycle` })
    client.defineCommand('benchReadOneKey', { numberOfKeys: 1, lua: readLua })
    const readKeys = Array.from({ length: inFlight }, (_, i) => `bench-${runId}-read-${i}`)
    for (const key of readKeys) await client.set(key, 'a short value')
    const runtime = (name, worker) => `${runId}-${name}-${worker}`

    // CPU µs per cycle, this process's and the Redis server's, per round.
    const cpu = { ceiling: [], ours: [], 'go-pattern': [] }
    const timed = (name, ms, op, perCycle) => async () => {
      const before = process.cpuUsage()
      let cycles
      const server = await measure(client, async () => { cycles = await rate(inFlight, ms, op) / perCycle })
      const { user, system } = process.cpuUsage(before)
      const done = cycles * ms / 1000
      cpu[name].push({ client: (user + system) / done, server: server.cpuUsec / done })
      return cycles
    }
    const contenders = ms => ({
      ceiling: timed('ceiling', ms, worker => client.benchReadOneKey(readKeys[worker]), operationsPerCycle),
      ours: timed('ours', ms, worker => cycle(ours, runtime('ours', worker)), 1),
      'go-pattern': timed('go-pattern', ms, worker => cycle(go, runtime('go', worker)), 1)
    })
    // Warm-up: scripts loaded, JIT settled.
    await interleave(contenders(300), 1)
    for (const list of Object.values(cpu)) list.length = 0
    const rates = await interleave(contenders(roundMs), rounds)
    return {
      inFlight,
      rounds,
      roundMs,
      cyclesPerSecond: Object.fromEntries(Object.entries(rates).map(([name, values]) => [name, median(values)])),
      wireShapeUsec: median(Array.from({ length: 5 }, wireShapeUsec)),
      // What bounds the ratio: where a cycle's CPU goes, against four trivial calls.
      cpuUsecPerCycle: Object.fromEntries(Object.entries(cpu).map(([name, list]) => [name, {
        client: median(list.map(c => c.client)),
        server: median(list.map(c => c.server))
      }])),
      ratio: {
        ours: medianRatio(rates.ours, rates.ceiling),
        'go-pattern': medianRatio(rates['go-pattern'], rates.ceiling)
      },
      rates
    }
  } finally {
    client.disconnect()
  }
}

module.exports = { fullCycle }
