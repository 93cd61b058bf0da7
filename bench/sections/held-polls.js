'use strict'
// Issue 15, wake bursts: one replica (a process of its own, so the client's
// connections do not share its event loop) holding 5,000 polls over HTTP.
//  - one request: 5,000 polls held on it, then its report: every poll
//    answered, wake p50/p99 (from the report's arrival to each answer, on the
//    replica's clock), the replica's longest event-loop block (wall and CPU
//    time) and the CPU the answers took; memory store and Redis.
//  - the same 5,000 held on a bare Fastify route, answered at once with the
//    same body: the floor, what the answers alone cost.
//  - a burst (Redis): 5,000 polls on 5,000 requests, then their 5,000 reports
//    at once: how many polls answered 503 (Redis healthy throughout).
//   ONLY=heldPolls npm run bench
//   HELD_POLLS=1000 HELD_POLLS_PROFILE=/tmp/prof ONLY=heldPolls npm run bench   (a CPU profile per replica)
//   HELD_POLLS_WINDOW_PROFILE=/tmp/prof ONLY=heldPolls npm run bench   (a profile of the answers alone, per replica)
const { fork } = require('node:child_process')
const http = require('node:http')
const { join } = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')
const { pool } = require('../lib/load')
const { catalog } = require('../lib/catalog')
const { percentile } = require('../lib/stats')

const polls = Number(process.env.HELD_POLLS ?? 5_000)
const waitMs = 30_000
const report = JSON.stringify({ status: 'completed', models: catalog, supported: true })

function startReplica (env) {
  const child = fork(join(__dirname, '../lib/held-poll-replica.js'), [], { env: { ...process.env, ...env }, execArgv: process.env.HELD_POLLS_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HELD_POLLS_PROFILE}`] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting = new Map()
  child.on('message', message => {
    const resolve = waiting.get(message.type)?.resolve
    waiting.delete(message.type)
    resolve?.(message)
  })
  child.once('exit', code => {
    for (const [type, { reject }] of waiting) reject(new Error(`replica exited with ${code} waiting for ${type}`))
  })
  const next = type => new Promise((resolve, reject) => { waiting.set(type, { resolve, reject }) })
  const ask = (message, answer) => { const reply = next(answer); child.send(message); return reply }
  return {
    ready: next('ready'),
    ask,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.send({ type: 'stop' })
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(killer)
    }
  }
}

// Held polls on keep-alive connections of their own (as a browser's), reports on a smaller pool.
const pollAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity })
const reportAgent = new http.Agent({ keepAlive: true, maxSockets: 500 })

function send (agent, method, url, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, response => {
      const chunks = []
      response.on('data', chunk => chunks.push(chunk))
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve({ statusCode: response.statusCode, body: text.length > 0 ? JSON.parse(text) : undefined })
      })
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end(body)
  })
}

async function expectOk (promise, what) {
  const { statusCode, body } = await promise
  if (statusCode !== 200) throw new Error(`${what} answered ${statusCode}: ${JSON.stringify(body)}`)
  return body
}

/** Opens one request per runtime and claims them all, so each report lands. */
async function openAndClaim (url, runtimeIds) {
  const ids = new Array(runtimeIds.length)
  await pool(200, runtimeIds.length, async i => {
    ids[i] = (await expectOk(send(reportAgent, 'POST', `${url}/runtimes/${runtimeIds[i]}/models`, '{"force":true}'), 'POST')).id
  })
  const { claimed } = await expectOk(send(reportAgent, 'POST', `${url}/claim`, JSON.stringify({ runtimeIds })), 'claim')
  if (claimed.some((id, i) => id !== ids[i])) throw new Error('a request was not claimed')
  return ids
}

/**
 * Holds one poll per entry of `targets` ({ runtimeId, id }), waits until the
 * replica has them all (and they have read once and sleep), then reports
 * each distinct request at once and waits for every poll's answer.
 */
async function burst (replica, url, targets, bare = null) {
  await replica.ask({ type: 'arm' }, 'armed')
  const answers = bare !== null
    ? targets.map(() => send(pollAgent, 'GET', `${url}/bare/x`))
    : targets.map(({ runtimeId, id }) => send(pollAgent, 'GET', `${url}/runtimes/${runtimeId}/models/${id}?wait_ms=${waitMs}`))
  const deadline = Date.now() + 60_000
  while ((await replica.ask({ type: 'held' }, 'held')).held < targets.length) {
    if (Date.now() > deadline) throw new Error('the polls did not all reach the replica')
    await sleep(50)
  }
  await sleep(500) // each has read once and sleeps
  const reported = new Map(targets.map(t => [t.id, t]))
  await replica.ask({ type: 'report' }, 'reporting')
  const started = performance.now()
  if (bare !== null) await expectOk(send(reportAgent, 'POST', `${url}/bare/release`, JSON.stringify(bare)), 'release')
  else {
    await Promise.all([...reported.values()].map(({ runtimeId, id }) =>
      expectOk(send(reportAgent, 'POST', `${url}/daemon/runtimes/${runtimeId}/models/${id}/result`, report), 'report')))
  }
  const reportsMs = performance.now() - started
  const results = await Promise.all(answers)
  const stats = await replica.ask({ type: 'stats' }, 'stats')
  const completed = results.filter(r => r.statusCode === 200 && r.body.status === 'completed').length
  if (bare !== null && completed !== targets.length) throw new Error('a bare request was not answered')
  const other = results.find(r => r.statusCode !== 200 && r.statusCode !== 503)
  if (other !== undefined) throw new Error(`a poll answered ${other.statusCode}: ${JSON.stringify(other.body)}`)
  return {
    polls: targets.length,
    requests: reported.size,
    answered: results.length,
    completed,
    unavailable: results.filter(r => r.statusCode === 503).length,
    statusCodes: stats.statusCodes,
    reportsMs,
    wakeMs: { p50: percentile(stats.wakeMs, 0.5), p99: percentile(stats.wakeMs, 0.99), max: Math.max(...stats.wakeMs) },
    maxBlockMs: stats.maxBlockMs,
    maxBlockCpuMs: stats.maxBlockCpuMs,
    // The replica's CPU from the first report's arrival until asked, after the last poll's answer.
    answerCpuMs: stats.answerCpuMs
  }
}

async function withReplica (env, work) {
  const replica = startReplica(env)
  try {
    const { url } = await replica.ready
    return await work(replica, url)
  } finally {
    await replica.stop()
  }
}

async function oneRequest (env, runId) {
  return await withReplica(env, async (replica, url) => {
    const runtimeId = `${runId}-one`
    const [id] = await openAndClaim(url, [runtimeId])
    return await burst(replica, url, Array.from({ length: polls }, () => ({ runtimeId, id })))
  })
}

/** The same over a bare route answering the poll's last answer: what 5,000 answers cost Fastify alone. */
async function bareRoute (runId) {
  return await withReplica({}, async (replica, url) => {
    const runtimeId = `${runId}-bare`
    const [id] = await openAndClaim(url, [runtimeId])
    await expectOk(send(reportAgent, 'POST', `${url}/daemon/runtimes/${runtimeId}/models/${id}/result`, report), 'report')
    const answer = await expectOk(send(reportAgent, 'GET', `${url}/runtimes/${runtimeId}/models/${id}`), 'GET')
    return await burst(replica, url, Array.from({ length: polls }, () => ({ runtimeId, id: 'x' })), answer)
  })
}

async function manyRequests (env, runId) {
  return await withReplica(env, async (replica, url) => {
    const runtimeIds = Array.from({ length: polls }, (_, i) => `${runId}-many-${i}`)
    const ids = await openAndClaim(url, runtimeIds)
    return await burst(replica, url, runtimeIds.map((runtimeId, i) => ({ runtimeId, id: ids[i] })))
  })
}

async function heldPolls ({ server, runId }) {
  const results = { polls }
  results.bare = await bareRoute(runId)
  results.memory = await oneRequest({}, runId)
  if (server !== null) {
    const redis = { REDIS_PORT: String(server.port), KEY_PREFIX: `bench-${runId}-held` }
    results.redis = await oneRequest(redis, runId)
    results.burst = await manyRequests(redis, runId)
  }
  pollAgent.destroy()
  reportAgent.destroy()
  return results
}

module.exports = { heldPolls }
