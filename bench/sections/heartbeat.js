'use strict'
// Item 1: heartbeat throughput with nothing to claim, with many other
// runtimes' requests stored, against the same route without the claim
// (memory) and the same route doing one plain Redis round trip (Redis).
// The routes run in a child process; autocannon loads one at a time from
// this one, each contender right beside its baseline (below). Also read: the
// replica's CPU time per heartbeat, for the capacity figures.
const { median } = require('../lib/stats')
const { abba, connections, loadRoute, request, startHost } = require('../lib/heartbeat-load')

const memoryRequests = 100_000
const memoryRuntimes = 10_000
const redisRequests = 20_000
const redisRuntimes = 2_000

async function heartbeat ({ server, runId, rounds, roundSeconds }) {
  const host = await startHost({ redisPort: server?.port ?? null, keyPrefix: `bench-${runId}-heartbeat`, memoryRequests, memoryRuntimes, redisRequests, redisRuntimes })
  const { child, urls } = host
  try {
    const cpu = Object.fromEntries([...Object.keys(urls), 'memory+subscriber', 'redis+subscriber'].map(name => [name, []]))
    // Redis commands per heartbeat of the spread Redis route (the host counts that route's client only).
    const spreadCommands = []
    const load = (name, duration, label = name) => async () => {
      const { rate, cpuUsec, commands } = await loadRoute(host, name, duration)
      cpu[label].push(cpuUsec)
      if (label === 'redis-spread') spreadCommands.push(commands)
      return { rate }
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
    const run = (name, duration) => name.endsWith('+subscriber') ? subscribed(name.slice(0, -'+subscriber'.length), duration) : load(name, duration)
    // Each figure is a contender against its baseline measured right beside it
    // (baseline, contender, contender, baseline: drift in the machine's load
    // falls on both alike), the ratio taken per round, the median over rounds.
    const pairs = {
      noiseFloor: ['bare', 'bare-again'],
      memory: ['bare', 'memory'],
      memorySpread: ['bare-spread', 'memory-spread'],
      memorySubscribed: ['memory', 'memory+subscriber']
    }
    if (urls.redis) {
      Object.assign(pairs, {
        redis: ['plain-redis', 'redis'],
        redisSpread: ['bare-spread', 'redis-spread'],
        redisSubscribed: ['redis', 'redis+subscriber']
      })
    }
    // PAIRS=memory,redisSpread measures those figures alone (more rounds in the same time).
    const only = process.env.PAIRS?.split(',')
    if (only !== undefined) for (const figure of Object.keys(pairs)) if (!only.includes(figure)) delete pairs[figure]
    const rates = {}
    const ratios = Object.fromEntries(Object.keys(pairs).map(figure => [figure, []]))
    const measure = async (duration, rounds) => {
      for (let round = 0; round < rounds; round++) {
        for (const [figure, [baseline, contender]] of Object.entries(pairs)) {
          const { ratio, baseline: a, contender: b } = await abba(run(baseline, duration), run(contender, duration))
          ratios[figure].push(ratio)
          ;(rates[baseline] ??= []).push(...a.map(({ rate }) => rate))
          ;(rates[contender] ??= []).push(...b.map(({ rate }) => rate))
        }
      }
    }
    await measure(1, 1) // warm-up
    for (const name of Object.keys(cpu)) cpu[name].length = 0
    for (const name of Object.keys(rates)) delete rates[name]
    for (const figure of Object.keys(ratios)) ratios[figure].length = 0
    spreadCommands.length = 0
    await measure(roundSeconds, rounds)
    const figures = {
      connections,
      rounds,
      roundSeconds,
      method: 'baseline, contender, contender, baseline per round; the median over rounds of each round\'s ratio',
      stored: { memory: { requests: memoryRequests, runtimes: memoryRuntimes }, redis: { requests: redisRequests, runtimes: redisRuntimes } },
      requestsPerSecond: Object.fromEntries(Object.entries(rates).map(([name, values]) => [name, median(values)])),
      replicaCpuUsecPerHeartbeat: Object.fromEntries(Object.entries(cpu).filter(([, values]) => values.length > 0).map(([name, values]) => [name, median(values)])),
      ratio: Object.fromEntries(Object.entries(ratios).map(([figure, values]) => [figure, median(values)])),
      ratios,
      rates
    }
    if (urls.redis) figures.redisCommandsPerSpreadHeartbeat = median(spreadCommands)
    return figures
  } finally {
    await host.stop()
  }
}

module.exports = { heartbeat }
