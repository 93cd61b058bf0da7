'use strict'
// One replica in a process of its own (forked by bench/sections/held-polls.js),
// so the client's 5,000 connections do not share its event loop. It times,
// on its own clock, each held poll's answer from the arrival of the report
// that woke it, and its longest event-loop block between `report` (the polls
// are held, the reports come next) and `stats`: in wall time
// (monitorEventLoopDelay), and in CPU time (the most CPU this process used
// between two runs of a 1 ms timer: on a loaded machine the wall figure also
// counts the time the process waited for a core). Memory store, or Redis at
// REDIS_PORT.
const Fastify = require('fastify')
const Redis = require('ioredis')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { Session } = require('node:inspector')
const { writeFileSync } = require('node:fs')
const { fastifyModelList } = require('../..')

const redisPort = process.env.REDIS_PORT
const keyPrefix = process.env.KEY_PREFIX
// HELD_POLLS_WINDOW_PROFILE=dir: a CPU profile of the answers alone (from `report` to `stats`).
const windowProfile = process.env.HELD_POLLS_WINDOW_PROFILE
let session = null
function post (method, params) {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => error ? reject(error) : resolve(result)))
}

async function main () {
  const redis = redisPort === undefined ? undefined : new Redis({ host: '127.0.0.1', port: Number(redisPort), lazyConnect: false })
  const app = Fastify({ keepAliveTimeout: 60_000 })
  await app.register(fastifyModelList, {
    ...(redis !== undefined && { redis, keyPrefix }),
    getRuntime: async () => ({ online: true }),
    authorizeDaemon: async () => true
  })
  // The baseline: a bare route holding its requests until /bare/release, then
  // answering them all at once with a body the size of a poll's answer.
  let releases = []
  app.get('/bare/:id', async () => await new Promise(resolve => { releases.push(resolve) }))
  app.post('/bare/release', async request => {
    const body = request.body
    for (const release of releases) release(body)
    releases = []
    return { status: 'ok' }
  })
  app.post('/claim', async request => {
    const claimed = []
    for (const runtimeId of request.body.runtimeIds) claimed.push((await app.claimPendingModelList(runtimeId))?.id)
    return { claimed }
  })

  // Per request id: when its report arrived; per poll: when it was answered, and how.
  let reportedAt = new Map()
  let answers = []
  let held = 0
  let histogram = null
  let cpuProbe = null
  let maxCpuGapMs = 0
  let reportCpu = null
  const requestId = url => /\/(?:models|bare)\/([^/?]+)/.exec(url)?.[1]
  const isPoll = request => request.method === 'GET' && (request.url.includes('wait_ms') || request.url.startsWith('/bare/'))
  app.addHook('onRequest', async request => {
    if (request.method === 'POST' && (request.url.endsWith('/result') || request.url === '/bare/release')) {
      const id = request.url === '/bare/release' ? 'all' : requestId(request.url)
      if (!reportedAt.has(id)) reportedAt.set(id, performance.now())
      reportCpu ??= process.cpuUsage()
    } else if (isPoll(request)) held++
  })
  app.addHook('onResponse', async (request, reply) => {
    if (!isPoll(request)) return
    answers.push({ id: request.url.startsWith('/bare/') ? 'all' : requestId(request.url), at: performance.now(), statusCode: reply.statusCode })
  })

  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  process.on('message', message => {
    if (message.type === 'held') process.send({ type: 'held', held })
    else if (message.type === 'arm') {
      reportedAt = new Map()
      answers = []
      held = 0
      maxCpuGapMs = 0
      reportCpu = null
      histogram = monitorEventLoopDelay({ resolution: 1 })
      histogram.enable()
      process.send({ type: 'armed' })
    } else if (message.type === 'report') {
      // From here on: the polls are all held, the reports come next.
      histogram.reset()
      if (windowProfile !== undefined) {
        if (session === null) { session = new Session(); session.connect() }
        post('Profiler.enable').then(() => post('Profiler.setSamplingInterval', { interval: 100 })).then(() => post('Profiler.start')).then(() => process.send({ type: 'reporting' }))
        return
      }
      let last = process.cpuUsage()
      cpuProbe = setInterval(() => {
        const now = process.cpuUsage()
        maxCpuGapMs = Math.max(maxCpuGapMs, (now.user - last.user + now.system - last.system) / 1000)
        last = now
      }, 1)
      process.send({ type: 'reporting' })
    } else if (message.type === 'stats') {
      histogram.disable()
      if (windowProfile !== undefined) {
        post('Profiler.stop').then(({ profile }) => writeFileSync(`${windowProfile}/${process.pid}-${Date.now()}.cpuprofile`, JSON.stringify(profile)))
      }
      clearInterval(cpuProbe)
      // Asked once every poll was answered: the CPU since the report is the answers' (and this IPC's).
      const cpu = process.cpuUsage(reportCpu)
      const wakeMs = answers.filter(a => reportedAt.has(a.id)).map(a => a.at - reportedAt.get(a.id))
      const statusCodes = {}
      for (const { statusCode } of answers) statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1
      process.send({ type: 'stats', wakeMs, statusCodes, answered: answers.length, maxBlockMs: histogram.max / 1e6, maxBlockCpuMs: maxCpuGapMs, answerCpuMs: (cpu.user + cpu.system) / 1000 })
    } else if (message.type === 'stop') {
      app.close().then(async () => { await redis?.quit() }).then(() => process.exit(0))
    }
  })
  process.send({ type: 'ready', url })
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
