'use strict'
// Heartbeat throughput with nothing to claim, against a bare route, measured side
// by side in one run (this machine is noisy: read the ratios, not the numbers).
//   npm run bench            memory store (and Redis when it answers on 6379)
//   ROUNDS=5 DURATION=5 npm run bench
const autocannon = require('autocannon')
const Fastify = require('fastify')
const Redis = require('ioredis')
const { fastifyModelList } = require('..')

const rounds = Number(process.env.ROUNDS ?? 5)
const duration = Number(process.env.DURATION ?? 3)
const hooks = { getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true }

function answer (pending) {
  return pending === null ? { status: 'ok' } : { status: 'ok', pending_model_list: pending }
}

async function host (name, options) {
  const app = Fastify()
  if (options === null) {
    // The same answer as the routes below, without the claim.
    app.post('/heartbeat', async () => answer(null))
  } else {
    await app.register(fastifyModelList, { ...hooks, ...options })
    app.post('/heartbeat', async () => {
      return answer(await app.claimPendingModelList('runtime-1'))
    })
  }
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { name, app, url }
}

async function load (url) {
  const result = await autocannon({ url: `${url}/heartbeat`, method: 'POST', connections: 50, duration, workers: 1 })
  return result.requests.average
}

async function redisClient () {
  const client = new Redis({ lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return client
  } catch {
    console.log('(no Redis on 127.0.0.1:6379: the Redis row is left out)')
    return null
  }
}

// The call alone, without HTTP: claimPendingModelList on an empty memory queue
// against an async function that answers null at once.
async function inProcess (app) {
  const calls = 1_000_000
  const noop = async () => null
  const time = async (fn) => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < calls; i++) await fn('runtime-1')
    return Number(process.hrtime.bigint() - start) / calls
  }
  const results = { noop: [], claim: [] }
  for (let round = 0; round < rounds; round++) {
    results.noop.push(await time(noop))
    results.claim.push(await time(app.claimPendingModelList))
  }
  const best = values => Math.min(...values)
  console.log(`\nin process, ${calls} calls x ${rounds} rounds (best round)`)
  console.log(`async () => null            ${best(results.noop).toFixed(1)} ns/call`)
  console.log(`claimPendingModelList       ${best(results.claim).toFixed(1)} ns/call`)
}

async function main () {
  const redis = await redisClient()
  // A second bare route shows the noise floor: its ratio is the error bar.
  const hosts = [await host('bare route', null), await host('bare route again', null), await host('memory store', { store: 'memory' })]
  if (redis) hosts.push(await host('redis store', { redis, keyPrefix: `bench-${process.pid}` }))
  const totals = new Map(hosts.map(h => [h.name, []]))
  for (const h of hosts) await load(h.url) // warm-up
  for (let round = 0; round < rounds; round++) {
    // Each round starts with another host, so drift in the machine's load
    // does not always favour the same one.
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts[(round + i) % hosts.length]
      totals.get(h.name).push(await load(h.url))
    }
  }
  const mean = values => values.reduce((a, b) => a + b, 0) / values.length
  const bare = mean(totals.get('bare route'))
  console.log(`${rounds} rounds of ${duration} s, 50 connections, interleaved, rotating order\n`)
  console.log('route                  req/s (mean)   vs bare')
  for (const [name, values] of totals) {
    console.log(`${name.padEnd(22)} ${mean(values).toFixed(0).padStart(12)}   ${(mean(values) / bare * 100).toFixed(1)}%`)
  }
  await inProcess(hosts[2].app)
  for (const h of hosts) await h.app.close()
  if (redis) redis.disconnect()
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
