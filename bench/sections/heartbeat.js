'use strict'
// Item 1: heartbeat throughput with nothing to claim, with many other
// runtimes' requests stored, against the same route without the claim
// (memory) and the same route doing one plain Redis round trip (Redis).
// The routes run in a child process; autocannon loads one at a time from
// this one, in rounds that reverse their order each time. Also read: the
// replica's CPU time per heartbeat, for the capacity figures.
const { fork } = require('node:child_process')
const { join } = require('node:path')
const autocannon = require('autocannon')
const { interleave, median, medianRatio } = require('../lib/stats')

const connections = 50
const memoryRequests = 100_000
const memoryRuntimes = 10_000
const redisRequests = 20_000
const redisRuntimes = 2_000

function request (child, message) {
  return new Promise(resolve => {
    child.once('message', resolve)
    child.send(message)
  })
}

async function heartbeat ({ server, runId, rounds, roundSeconds }) {
  const config = { redisPort: server?.port ?? null, keyPrefix: `bench-${runId}-heartbeat`, memoryRequests, memoryRuntimes, redisRequests, redisRuntimes }
  const child = fork(join(__dirname, '..', 'lib', 'heartbeat-host.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise(resolve => child.once('exit', resolve))
  try {
    const { urls } = await new Promise((resolve, reject) => {
      child.once('message', resolve)
      child.once('exit', code => reject(new Error(`the heartbeat host exited with ${code}`)))
    })
    const cpu = Object.fromEntries([...Object.keys(urls), 'memory+subscriber', 'redis+subscriber'].map(name => [name, []]))
    // Redis commands per heartbeat of the spread Redis route (the host counts that route's client only).
    const spreadCommands = []
    const load = (name, duration, label = name) => async () => {
      const before = await request(child, 'cpu')
      const result = await autocannon({ url: `${urls[name]}/heartbeat`, method: 'POST', connections, duration })
      const after = await request(child, 'cpu')
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
      cpu[label].push((after.cpuUsec - before.cpuUsec) / result.requests.total)
      if (label === 'redis-spread') spreadCommands.push((after.commands - before.commands) / result.requests.total)
      return result.requests.total / duration
    }
    // The same store routes with a subscriber on every diagnostics channel for the round.
    const subscribed = (name, duration) => async () => {
      await request(child, 'subscribe')
      try {
        return await load(name, duration, `${name}+subscriber`)()
      } finally {
        await request(child, 'unsubscribe')
      }
    }
    const contenders = duration => ({
      ...Object.fromEntries(Object.keys(urls).map(name => [name, load(name, duration)])),
      ...Object.fromEntries(['memory', 'redis'].filter(name => urls[name]).map(name => [`${name}+subscriber`, subscribed(name, duration)]))
    })
    await interleave(contenders(1), 1) // warm-up
    for (const name of Object.keys(cpu)) cpu[name].length = 0
    spreadCommands.length = 0
    const rates = await interleave(contenders(roundSeconds), rounds)
    const figures = {
      connections,
      rounds,
      roundSeconds,
      stored: { memory: { requests: memoryRequests, runtimes: memoryRuntimes }, redis: { requests: redisRequests, runtimes: redisRuntimes } },
      requestsPerSecond: Object.fromEntries(Object.entries(rates).map(([name, values]) => [name, median(values)])),
      replicaCpuUsecPerHeartbeat: Object.fromEntries(Object.entries(cpu).map(([name, values]) => [name, median(values)])),
      ratio: {
        noiseFloor: medianRatio(rates['bare-again'], rates.bare),
        memory: medianRatio(rates.memory, rates.bare),
        memorySubscribed: medianRatio(rates['memory+subscriber'], rates.memory),
        memorySpread: medianRatio(rates['memory-spread'], rates.bare)
      },
      rates
    }
    if (rates.redis) {
      figures.ratio.redis = medianRatio(rates.redis, rates['plain-redis'])
      figures.ratio.redisSubscribed = medianRatio(rates['redis+subscriber'], rates.redis)
      figures.ratio.redisSpread = medianRatio(rates['redis-spread'], rates.bare)
      figures.redisCommandsPerSpreadHeartbeat = median(spreadCommands)
    }
    return figures
  } finally {
    if (child.connected) child.send('close')
    await exited
  }
}

module.exports = { heartbeat }
