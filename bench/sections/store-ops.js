'use strict'
// Items 2 and 4: Redis round trips per store operation, counted at the top
// level with MONITOR, and what each operation costs the server (its CPU time,
// I/O included, from INFO; EVALSHA's own microseconds and the commands a
// script runs inside, from INFO commandstats), for our store and the
// Go-pattern baseline side by side.
const { RedisModelListStore } = require('../..')
const { GoPatternStore, pipelined } = require('../lib/go-pattern-store')
const { monitorCounter, measure } = require('../lib/server-stats')
const { pool } = require('../lib/load')
const { result } = require('../lib/catalog')

const countedCalls = 100
const costedCalls = 3_000
const costConcurrency = 16
const runtimesPerOperation = 64
const operations = ['create', 'get', 'hasPending', 'popPending', 'complete', 'fail']

const stores = {
  ours: (redis, keyPrefix) => new RedisModelListStore({ redis, keyPrefix }),
  'go-pattern': (redis, keyPrefix) => new GoPatternStore({ redis, keyPrefix })
}

// What must exist before `count` calls of an operation, and the calls.
async function prepare (store, operation, count, tag) {
  const runtime = i => `${tag}-${operation}-${i % runtimesPerOperation}`
  const created = []
  if (['get', 'popPending', 'complete', 'fail'].includes(operation)) {
    for (let i = 0; i < count; i++) created.push(await store.create(runtime(i)))
  }
  if (operation === 'complete' || operation === 'fail') {
    for (let i = 0; i < count; i++) await store.popPending(runtime(i))
  }
  const calls = {
    create: i => store.create(runtime(i)),
    get: i => store.get(runtime(i), created[i].id),
    hasPending: i => store.hasPending(`${tag}-idle-${i}`),
    popPending: i => store.popPending(runtime(i)),
    complete: i => store.complete(runtime(i), created[i].id, result),
    fail: i => store.fail(runtime(i), created[i].id, 'discovery failed')
  }
  return calls[operation]
}

async function storeOps ({ server, runId }) {
  const out = {}
  for (const [kind, make] of Object.entries(stores)) {
    const client = server.connect()
    const store = make(client, `bench-${runId}-${kind}`)
    const counter = await monitorCounter(() => server.connect())
    out[kind] = {}
    try {
      // Warm-up: every script known to the server and the client.
      for (const operation of operations) {
        const call = await prepare(store, operation, 2, `warm-${kind}`)
        await call(0)
        await call(1)
      }
      for (const operation of operations) {
        const counted = await prepare(store, operation, countedCalls, `count-${kind}`)
        const { 'canary publish': _canary, ...counts } = await counter.count(() => pool(1, countedCalls, counted))
        const topLevel = Object.values(counts).reduce((a, b) => a + b, 0)
        const costed = await prepare(store, operation, costedCalls, `cost-${kind}`)
        const stats = await measure(client, () => pool(costConcurrency, costedCalls, costed))
        const allCalls = Object.values(stats.commands).reduce((a, { calls }) => a + calls, 0)
        const commandsSent = topLevel / countedCalls
        // A pipeline's commands travel together: one round trip.
        const roundTrips = kind === 'go-pattern' && pipelined.has(operation) ? 1 : commandsSent
        out[kind][operation] = {
          roundTrips,
          commandsSent,
          commands: Object.fromEntries(Object.entries(counts).map(([name, n]) => [name, n / countedCalls])),
          serverCpuUsec: stats.cpuUsec / costedCalls,
          insideScript: allCalls / costedCalls - commandsSent,
          evalshaUsec: stats.commands.evalsha ? stats.commands.evalsha.usec / stats.commands.evalsha.calls : null
        }
      }
    } finally {
      counter.close()
      client.disconnect()
    }
  }
  return out
}

module.exports = { storeOps, operations }
