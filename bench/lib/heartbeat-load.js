'use strict'
// The heartbeat host (heartbeat-host.js) in a child process, and one load of
// one of its routes from this process: what the heartbeat section and the
// build comparison (bench/compare-builds.js) share.
const { fork } = require('node:child_process')
const { join } = require('node:path')
const autocannon = require('autocannon')

const connections = 50
// Routes whose path names the runtime: each request the next of 1,000.
const spreadRoutes = new Set(['bare-spread', 'memory-spread', 'redis-spread'])

function request (child, message) {
  return new Promise(resolve => {
    child.once('message', resolve)
    child.send(message)
  })
}

/** Starts a host; `packageDir` is the build it loads (this one by default). Answers its routes and how to stop it. */
async function startHost (config) {
  const child = fork(join(__dirname, 'heartbeat-host.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const { urls } = await new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', code => reject(new Error(`the heartbeat host exited with ${code}`)))
  })
  return {
    child,
    urls,
    stop: async () => {
      if (child.connected) child.send('close')
      await exited
    }
  }
}

/**
 * Loads one route for `duration` seconds; answers its rate, the host's CPU µs
 * per heartbeat and the spread Redis route's commands per heartbeat.
 */
async function loadRoute ({ child, urls }, name, duration) {
  const before = await request(child, 'cpu')
  let next = 0
  const base = new URL(urls[name]).pathname.replace(/\/$/, '')
  const requests = spreadRoutes.has(name) ? [{ setupRequest: req => ({ ...req, path: `${base}/heartbeat/runtime-idle-${next++ % 1_000}` }) }] : undefined
  const result = await autocannon({ url: `${urls[name]}/heartbeat`, method: 'POST', connections, duration, requests })
  const after = await request(child, 'cpu')
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
  const total = result.requests.total
  return { rate: total / duration, cpuUsec: (after.cpuUsec - before.cpuUsec) / total, commands: (after.commands - before.commands) / total }
}

/**
 * Baseline, contender, contender, baseline: drift in the machine's load falls
 * on both alike. Answers the contender's rate over the baseline's.
 */
async function abba (baseline, contender) {
  const a1 = await baseline()
  const b1 = await contender()
  const b2 = await contender()
  const a2 = await baseline()
  return { ratio: (b1.rate + b2.rate) / (a1.rate + a2.rate), baseline: [a1, a2], contender: [b1, b2] }
}

module.exports = { connections, request, startHost, loadRoute, abba }
