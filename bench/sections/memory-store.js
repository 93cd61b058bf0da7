'use strict'
// Item 5: the memory store as it grows. hasPending + popPending for one
// runtime (its queue kept 10 long) with 100,000 live requests over 10,000
// runtimes stored against 100 over 10; the same with a 50,000-long queue of
// its own against a 10-long one; heap bytes per stored request; and the heap
// after retention has passed, against the heap before anything was stored.
const { setFlagsFromString } = require('node:v8')
const { runInNewContext } = require('node:vm')
const { MemoryModelListStore } = require('../..')
const { interleave, median, medianRatio } = require('../lib/stats')
const { result } = require('../lib/catalog')

const callsPerRound = 2_000
const heapRequests = 100_000
const heapRuntimes = 10_000
const target = 'runtime-measured'

function collector () {
  if (typeof global.gc === 'function') return global.gc
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc')
}

function makeClock () {
  let now = Date.now()
  return { now: () => now, advance: ms => { now += ms } }
}

// A store holding `requests` pending requests over `runtimes` other runtimes,
// and `queued` of the measured runtime's own.
async function build (requests, runtimes, queued) {
  const store = new MemoryModelListStore()
  for (let i = 0; i < requests; i++) await store.create(`runtime-${i % runtimes}`)
  for (let i = 0; i < queued; i++) await store.create(target)
  return store
}

// Mean ns of one hasPending + popPending; a create after each keeps the queue's length.
function claims (store) {
  return async () => {
    let total = 0n
    for (let i = 0; i < callsPerRound; i++) {
      const start = process.hrtime.bigint()
      await store.hasPending(target)
      await store.popPending(target)
      total += process.hrtime.bigint() - start
      await store.create(target)
    }
    return Number(total) / callsPerRound
  }
}

async function scaling (rounds) {
  const stores = {
    few: await build(100, 10, 10),
    many: await build(100_000, 10_000, 10),
    longQueue: await build(0, 1, 50_000),
    shortQueue: await build(0, 1, 10)
  }
  try {
    const contenders = Object.fromEntries(Object.entries(stores).map(([name, store]) => [name, claims(store)]))
    await interleave(contenders, 1) // warm-up
    const ns = await interleave(contenders, rounds)
    return {
      nsPerClaim: Object.fromEntries(Object.entries(ns).map(([name, values]) => [name, median(values)])),
      ratio: { manyRuntimes: medianRatio(ns.many, ns.few), longQueue: medianRatio(ns.longQueue, ns.shortQueue) }
    }
  } finally {
    for (const store of Object.values(stores)) await store.close()
  }
}

async function heap () {
  const gc = collector()
  const clock = makeClock()
  const used = () => { gc(); gc(); return process.memoryUsage().heapUsed }
  const store = new MemoryModelListStore({ now: clock.now })
  await store.create('runtime-warm-up')
  const baseline = used()
  const ids = []
  for (let i = 0; i < heapRequests; i++) ids.push((await store.create(`runtime-${i % heapRuntimes}`)).id)
  const pendingBytes = (used() - baseline) / heapRequests
  const runtimeOf = i => `runtime-${i % heapRuntimes}`
  for (let i = 0; i < heapRequests; i++) await store.popPending(runtimeOf(i))
  for (let i = 0; i < heapRequests; i++) await store.complete(runtimeOf(i), ids[i], result)
  const stored = used()
  const completedBytes = (stored - baseline) / heapRequests
  ids.length = 0
  // Past retention, one create sweeps what is due.
  clock.advance(120_001)
  await store.create('runtime-after')
  const after = used()
  await store.close()
  return { requests: heapRequests, runtimes: heapRuntimes, pendingBytes, completedBytes, baselineBytes: baseline, afterRetentionBytes: after, leftoverBytes: after - baseline, peakGrowthBytes: stored - baseline }
}

async function memoryStore ({ rounds }) {
  return { scaling: await scaling(rounds), heap: await heap() }
}

module.exports = { memoryStore }
