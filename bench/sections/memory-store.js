'use strict'
// Item 5: the memory store as it grows. hasPending + popPending for one
// runtime (its queue kept 10 long) with 100,000 live requests over 10,000
// runtimes stored against 100 over 10; the same with a 50,000-long queue of
// its own against a 10-long one; heap bytes per stored request and per cached
// catalog; and the heap once retention has passed with no traffic (the
// store's own sweeper at work), against the heap before anything was stored.
const { setFlagsFromString } = require('node:v8')
const { runInNewContext } = require('node:vm')
const { MemoryModelListStore } = require('../..')
const { interleave, median, medianRatio } = require('../lib/stats')
const { result } = require('../lib/catalog')

const callsPerRound = 5_000
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
// Lifetimes longer than the run: nothing times out while it is measured.
const scalingLifecycle = { pendingTimeoutMs: 3_600_000, runningTimeoutMs: 3_600_000, retentionMs: 7_200_000 }

async function build (requests, runtimes, queued) {
  const store = new MemoryModelListStore(scalingLifecycle)
  for (let i = 0; i < requests; i++) await store.create(`runtime-${i % runtimes}`)
  for (let i = 0; i < queued; i++) await store.create(target)
  return store
}

// Ns of one hasPending + popPending, a create after each keeping the queue's
// length: the mean without the slowest 1% (on a shared machine those are the
// ones the scheduler or another round's garbage interrupted). Each round
// starts after a full collection.
function claims (store, gc) {
  return async () => {
    gc()
    const ns = new Float64Array(callsPerRound)
    for (let i = 0; i < callsPerRound; i++) {
      const start = process.hrtime.bigint()
      await store.hasPending(target)
      await store.popPending(target)
      ns[i] = Number(process.hrtime.bigint() - start)
      await store.create(target)
    }
    ns.sort()
    const kept = ns.subarray(0, Math.floor(callsPerRound * 0.99))
    return kept.reduce((a, b) => a + b, 0) / kept.length
  }
}

// Two stores compared at a time, interleaved, then dropped: the heap holds only theirs.
async function compare (rounds, gc, a, b) {
  const stores = { a: await a(), b: await b() }
  try {
    const contenders = { a: claims(stores.a, gc), b: claims(stores.b, gc) }
    await interleave(contenders, 1) // warm-up
    const ns = await interleave(contenders, rounds)
    return { a: median(ns.a), b: median(ns.b), ratio: medianRatio(ns.a, ns.b) }
  } finally {
    for (const store of Object.values(stores)) await store.close()
  }
}

async function scaling (rounds) {
  const gc = collector()
  const runtimes = await compare(rounds, gc, () => build(100_000, 10_000, 10), () => build(100, 10, 10))
  const queue = await compare(rounds, gc, () => build(0, 1, 50_000), () => build(0, 1, 10))
  // Where the step is: between 10 and 1,000, or growing with the length.
  const midQueue = await compare(rounds, gc, () => build(0, 1, 1_000), () => build(0, 1, 10))
  return {
    nsPerClaim: { many: runtimes.a, few: runtimes.b, longQueue: queue.a, shortQueue: queue.b, midQueue: midQueue.a },
    ratio: { manyRuntimes: runtimes.ratio, longQueue: queue.ratio, midQueue: midQueue.ratio }
  }
}

// The store's own sweeper hands memory back: short lifetimes make its beat short.
const heapLifecycle = { pendingTimeoutMs: 1_000, runningTimeoutMs: 1_000, retentionMs: 2_000 }

// One store's life: requests stored, claimed and completed, then retention
// passes with no traffic. Heap sizes after full collections.
async function lifetime (used, options) {
  const clock = makeClock()
  const store = new MemoryModelListStore({ ...heapLifecycle, ...options, now: clock.now })
  const baseline = used()
  const ids = []
  const runtimeOf = i => `runtime-${i % heapRuntimes}`
  for (let i = 0; i < heapRequests; i++) ids.push((await store.create(runtimeOf(i))).id)
  const pending = used()
  for (let i = 0; i < heapRequests; i++) await store.popPending(runtimeOf(i))
  for (let i = 0; i < heapRequests; i++) await store.complete(runtimeOf(i), ids[i], result)
  ids.length = 0
  const stored = used()
  // Past retention, with no traffic: the sweeper's next beats forget everything.
  clock.advance(heapLifecycle.retentionMs + 1)
  await new Promise(resolve => setTimeout(resolve, heapLifecycle.retentionMs + 1_000))
  const after = used()
  await store.close()
  return { baseline, pending, stored, after }
}

async function heap () {
  const gc = collector()
  const used = () => { gc(); gc(); return process.memoryUsage().heapUsed }
  // With the catalog cache (the default) each runtime's catalog outlives its
  // requests, for the serve window: that is what the first life leaves. The
  // second, without the cache, shows what the requests themselves leave.
  const cached = await lifetime(used, {})
  const { baseline, pending, stored, after } = await lifetime(used, { catalogCache: false })
  return {
    requests: heapRequests,
    runtimes: heapRuntimes,
    pendingBytes: (pending - baseline) / heapRequests,
    completedBytes: (stored - baseline) / heapRequests,
    baselineBytes: baseline,
    afterRetentionBytes: after,
    leftoverBytes: after - baseline,
    peakGrowthBytes: stored - baseline,
    catalogBytesPerRuntime: (cached.after - cached.baseline) / heapRuntimes
  }
}

async function memoryStore ({ rounds }) {
  // The heap first, while nothing else has lived in it.
  const measured = await heap()
  return { scaling: await scaling(rounds), heap: measured }
}

module.exports = { memoryStore }
