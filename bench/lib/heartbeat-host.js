'use strict'
// The replica under load for item 1, in a process of its own so the load
// generator does not share its event loop and its CPU time per heartbeat can
// be read. One Fastify app per route, each on its own loopback port:
//   bare, bare-again  the heartbeat's answer without any claim
//   memory            claimPendingModelList on the memory store
//   plain-redis       one plain Redis round trip (GET of a key of its own)
//   redis             claimPendingModelList on the Redis store
// Both stores hold many other runtimes' requests; the heartbeating runtime has none.
const Fastify = require('fastify')
const Redis = require('ioredis')
const { join } = require('node:path')

const diagnostics = require('node:diagnostics_channel')

const idleRuntime = 'runtime-heartbeating'
// The spread routes (`.../heartbeat/:runtimeId`): the load generator sends each
// heartbeat for the next of 1,000 idle runtimes, as a fleet's arrive, each
// naming its runtime in the path as a daemon's request does; their baseline
// is `bare-spread`, the same route shape without the claim.
const ignore = () => {}
const tracing = { start: ignore, end: ignore, asyncStart: ignore, asyncEnd: ignore, error: ignore }
const hooks = { getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true }
// Long enough that the stored requests stay live for the whole run.
const lifecycle = { pendingTimeoutMs: 3_600_000, runningTimeoutMs: 3_600_000, retentionMs: 7_200_000 }

function answer (pending) {
  return pending === null ? { status: 'ok' } : { status: 'ok', pending_model_list: pending }
}

async function fill (store, requests, runtimes, concurrency) {
  let next = 0
  const loop = async () => {
    while (next < requests) {
      const i = next++
      await store.create(`runtime-other-${i % runtimes}`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
}

async function listen (app) {
  return await app.listen({ host: '127.0.0.1', port: 0 })
}

async function main () {
  const { redisPort, keyPrefix, memoryRequests, memoryRuntimes, redisRequests, redisRuntimes, packageDir = join(__dirname, '..', '..') } = JSON.parse(process.argv[2])
  // This build, or another one's (bench/compare-builds.js).
  const { fastifyModelList } = require(packageDir)
  const apps = {}
  const clients = []
  // Commands the spread Redis route's store sent (the idle runtime cache answers the rest).
  let commands = 0

  for (const name of ['bare', 'bare-again']) {
    const app = Fastify()
    app.post('/heartbeat', async () => answer(null))
    apps[name] = app
  }
  const bareSpread = Fastify()
  bareSpread.post('/heartbeat/:runtimeId', async () => answer(null))
  apps['bare-spread'] = bareSpread

  const memory = Fastify()
  await memory.register(fastifyModelList, { ...hooks, ...lifecycle, store: 'memory' })
  memory.post('/heartbeat', async () => answer(await memory.claimPendingModelList(idleRuntime)))
  await fill(memory.modelListStore, memoryRequests, memoryRuntimes, 1)
  apps.memory = memory
  // The memory store's own app, with a spread route of its own.
  memory.post('/spread/heartbeat/:runtimeId', async request => answer(await memory.claimPendingModelList(request.params.runtimeId)))

  if (redisPort !== null) {
    const connect = () => {
      const client = new Redis({ host: '127.0.0.1', port: redisPort })
      clients.push(client)
      return client
    }
    const plainClient = connect()
    const plain = Fastify()
    const ownKey = `${keyPrefix}:plain-route-key`
    plain.post('/heartbeat', async () => {
      await plainClient.get(ownKey)
      return answer(null)
    })
    apps['plain-redis'] = plain

    const redis = Fastify()
    await redis.register(fastifyModelList, { ...hooks, ...lifecycle, redis: connect(), keyPrefix })
    redis.post('/heartbeat', async () => answer(await redis.claimPendingModelList(idleRuntime)))
    await fill(redis.modelListStore, redisRequests, redisRuntimes, 64)
    apps.redis = redis

    const spread = Fastify()
    const spreadClient = connect()
    const send = spreadClient.sendCommand.bind(spreadClient)
    spreadClient.sendCommand = (...args) => { commands++; return send(...args) }
    await spread.register(fastifyModelList, { ...hooks, ...lifecycle, redis: spreadClient, keyPrefix })
    spread.post('/heartbeat/:runtimeId', async request => answer(await spread.claimPendingModelList(request.params.runtimeId)))
    apps['redis-spread'] = spread
  }

  const urls = {}
  for (const [name, app] of Object.entries(apps)) urls[name] = await listen(app)
  urls['memory-spread'] = `${urls.memory}/spread`

  process.on('message', async message => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send({ cpuUsec: user + system, commands })
    } else if (message === 'subscribe' || message === 'unsubscribe') {
      // A subscriber on every diagnostics channel, doing nothing: what an APM agent costs the heartbeat at least.
      diagnostics.channel('fastify-model-list.lifecycle')[message](ignore)
      diagnostics.channel('fastify-model-list.heartbeat')[message](ignore)
      diagnostics.tracingChannel('fastify-model-list.store')[message](tracing)
      process.send({ [message]: true })
    } else if (message === 'close') {
      for (const app of Object.values(apps)) await app.close()
      for (const client of clients) client.disconnect()
      process.disconnect()
    }
  })
  process.send({ urls })
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
