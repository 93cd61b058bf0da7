'use strict'
// The idle heartbeat of this build against another build of the package,
// side by side in one run: did a change move it?
//   npm run build && node bench/compare-builds.js <other checkout, built> [rounds] [seconds]
// Two heartbeat hosts (bench/lib/heartbeat-host.js), one per build, the same
// stores and routes; each route of this build against the same route of the
// other, baseline (other), contender (this), contender, baseline per round;
// the median over rounds of each round's ratio. The Redis routes use a
// redis-server of their own (skipped without the binary).
const { resolve } = require('node:path')
const { median } = require('./lib/stats')
const { abba, loadRoute, startHost } = require('./lib/heartbeat-load')
const { missingBinaries, startRedis } = require('./lib/redis-servers')

async function main () {
  const [other, rounds = '7', seconds = '1'] = process.argv.slice(2)
  if (other === undefined) throw new Error('usage: node bench/compare-builds.js <other checkout, built> [rounds] [seconds]')
  const server = missingBinaries() === null ? await startRedis('compare-builds') : null
  const redisPort = server?.port ?? null
  const config = { redisPort, memoryRequests: 10_000, memoryRuntimes: 1_000, redisRequests: 2_000, redisRuntimes: 200 }
  const ours = await startHost({ ...config, keyPrefix: `bench-compare-${process.pid}-ours` })
  const theirs = await startHost({ ...config, keyPrefix: `bench-compare-${process.pid}-theirs`, packageDir: resolve(other) })
  try {
    const routes = ['bare', 'memory', 'memory-spread', ...(redisPort === null ? [] : ['redis', 'redis-spread'])]
    const ratios = Object.fromEntries(routes.map(route => [route, []]))
    for (let round = -1; round < Number(rounds); round++) {
      for (const route of routes) {
        const { ratio } = await abba(() => loadRoute(theirs, route, Number(seconds)), () => loadRoute(ours, route, Number(seconds)))
        if (round >= 0) ratios[route].push(ratio) // round -1 warms both up
      }
    }
    console.log(`this build / ${other}, requests per second, ${rounds} rounds of ${seconds} s (bare: the same route without the claim in both, the noise floor)`)
    for (const [route, values] of Object.entries(ratios)) console.log(`${route.padEnd(14)} ${median(values).toFixed(2)}   rounds: ${values.map(v => v.toFixed(2)).join(' ')}`)
  } finally {
    await ours.stop()
    await theirs.stop()
    await server?.stop()
  }
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
