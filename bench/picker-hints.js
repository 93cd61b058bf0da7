'use strict'
// `node bench/picker-hints.js` (after `npm run build`): two replicas sharing a
// private redis-server, in process (fastify.inject), for what the picker
// section of `npm run bench` does not show:
//   - the time from a POST on replica A to notifyPendingWork on replica B;
//   - daemon discoveries for 50 simultaneous opens of one runtime, cold and
//     with a stale catalog (POSTs split over both replicas).
const { randomUUID } = require('node:crypto')
const { startRedis } = require('./lib/redis-servers')
const { percentile } = require('./lib/stats')
const { catalog } = require('./lib/catalog')
const { makeReplica } = require('./lib/picker-sim')

const hintSamples = Number(process.env.SAMPLES ?? 300)
const crowd = 50
const revalidateAfterMs = 60_000

const post = async (app, runtimeId) => (await app.inject({ method: 'POST', url: `/runtimes/${runtimeId}/models` })).json()

/** A daemon on replica A: claims until nothing is left, reports each; answers how many it discovered. */
async function drain (app, runtimeId) {
  let discoveries = 0
  for (let claim = await app.claimPendingModelList(runtimeId); claim !== null; claim = await app.claimPendingModelList(runtimeId)) {
    discoveries++
    await app.inject({ method: 'POST', url: `/daemon/runtimes/${runtimeId}/models/${claim.id}/result`, payload: { status: 'completed', models: catalog, supported: true } })
  }
  return discoveries
}

async function main () {
  const runId = randomUUID().slice(0, 8)
  const server = await startRedis(`picker-hints-${runId}`)
  const clients = [server.connect(), server.connect()]
  const clock = { offset: 0, now: () => Date.now() + clock.offset }
  const waiting = new Map()
  const hints = { A: 0, B: 0 }
  const onHint = (name, runtimeId) => {
    hints[name]++
    if (name === 'B') waiting.get(runtimeId)?.(performance.now())
  }
  const keyPrefix = `bench-${runId}`
  // The replicas' own heartbeat routes go unused here: everything goes through inject.
  const { app: a } = await makeReplica('A', clients[0], keyPrefix, clock, onHint)
  const { app: b } = await makeReplica('B', clients[1], keyPrefix, clock, onHint)
  try {
    const hintOnB = runtimeId => new Promise(resolve => waiting.set(runtimeId, resolve))
    // Warm-up: B's subscriber connects in the background at start-up (a hint
    // sent before it is up is lost), then every script loaded.
    for (let i = 0, heardOnce = 0; heardOnce < 20; i++) {
      const rt = `warm-${i}`
      const heard = hintOnB(rt)
      await post(a, rt)
      const timedOut = new Promise(resolve => setTimeout(() => resolve(null), 100))
      if (await Promise.race([heard, timedOut]) !== null) heardOnce++
      await drain(a, rt)
    }

    const ms = []
    for (let i = 0; i < hintSamples; i++) {
      const rt = `hint-${i}`
      const heard = hintOnB(rt)
      const start = performance.now()
      await post(a, rt)
      ms.push(await heard - start)
      waiting.delete(rt)
    }

    // A's own hints of the last samples may still be on their way: let them land first.
    await new Promise(resolve => setTimeout(resolve, 200))
    const coldRt = 'crowd'
    hints.A = hints.B = 0
    const cold = await Promise.all(Array.from({ length: crowd }, (_, i) => post(i % 2 === 0 ? a : b, coldRt)))
    const coldIds = new Set(cold.map(r => r.id)).size
    const coldDiscoveries = await drain(a, coldRt)
    const coldHints = { ...hints }

    clock.offset += revalidateAfterMs + 1
    hints.A = hints.B = 0
    const stale = await Promise.all(Array.from({ length: crowd }, (_, i) => post(i % 2 === 0 ? a : b, coldRt)))
    const cachedAnswers = stale.filter(r => r.cached === true).length
    const staleDiscoveries = await drain(a, coldRt)
    // Let the hints of the refresh arrive before counting them.
    await new Promise(resolve => setTimeout(resolve, 200))

    console.log(JSON.stringify({
      postOnAToHintOnB: { samples: hintSamples, p50Ms: +percentile(ms, 0.5).toFixed(3), p99Ms: +percentile(ms, 0.99).toFixed(3), maxMs: +Math.max(...ms).toFixed(3) },
      fiftyOpens: {
        cold: { requestsQueued: coldIds, discoveries: coldDiscoveries, hints: coldHints },
        stale: { cachedAnswers, discoveries: staleDiscoveries, hints: { ...hints } }
      }
    }, null, 2))
  } finally {
    await a.close()
    await b.close()
    for (const client of clients) client.disconnect()
    await server.stop()
  }
}

main().catch(error => {
  console.error(error)
  process.exitCode = 1
})
