'use strict'
// Two replicas sharing one Redis store, simulated daemons that heartbeat and
// report over HTTP, and a frontend that opens the model picker, for item 6.
// The clock is shared and can be moved, so a catalog can be made stale.
const Fastify = require('fastify')
const { setTimeout: sleep } = require('node:timers/promises')
const { fastifyModelList } = require('../..')
const { catalog } = require('./catalog')

const terminal = new Set(['completed', 'failed', 'timeout'])

async function makeReplica (name, redis, keyPrefix, clock, hints) {
  const app = Fastify()
  await app.register(fastifyModelList, {
    redis,
    keyPrefix,
    now: clock.now,
    getRuntime: async () => ({ online: true }),
    authorizeDaemon: async () => true,
    notifyPendingWork: runtimeId => hints(name, runtimeId)
  })
  app.post('/heartbeat/:runtimeId', async request => {
    const pending = await app.claimPendingModelList(request.params.runtimeId)
    return { status: 'ok', ...(pending && { pending_model_list: pending }) }
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { name, app, url }
}

/** Counts the HTTP requests it sends. */
function makeHttp () {
  const http = { requests: 0 }
  http.send = async (method, url, body) => {
    http.requests++
    const response = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const json = await response.json()
    if (response.status !== 200) throw new Error(`${method} ${url} answered ${response.status}: ${JSON.stringify(json)}`)
    return json
  }
  return http
}

/**
 * A daemon: heartbeats `socketReplica` every `heartbeatMs` (and at once when
 * that replica gets the wake-up hint for it), discovers for `discoveryMs`
 * when handed a request, and reports to `reportReplica`.
 */
function makeDaemon ({ runtimeId, socketReplica, reportReplica, heartbeatMs, discoveryMs }) {
  const http = makeHttp()
  const daemon = { runtimeId, discoveries: 0, socketReplica, inFlight: new Set(), stopped: false }
  const heartbeat = async () => {
    if (daemon.stopped) return
    const answer = await http.send('POST', `${socketReplica.url}/heartbeat/${runtimeId}`)
    if (answer.pending_model_list === undefined) return
    daemon.discoveries++
    await sleep(discoveryMs)
    await http.send('POST', `${reportReplica.url}/daemon/runtimes/${runtimeId}/models/${answer.pending_model_list.id}/result`,
      { status: 'completed', models: catalog, supported: true })
  }
  daemon.beat = () => {
    const work = heartbeat().catch(error => { daemon.error = error })
    daemon.inFlight.add(work)
    work.finally(() => daemon.inFlight.delete(work))
  }
  const timer = setInterval(daemon.beat, heartbeatMs)
  daemon.stop = async () => {
    daemon.stopped = true
    clearInterval(timer)
    await Promise.all(daemon.inFlight)
    if (daemon.error) throw daemon.error
  }
  return daemon
}

/** The frontend opening the picker: POST on one replica, then GETs on the other until terminal. */
async function openPicker ({ postReplica, pollReplica, runtimeId, waitMs, pollEveryMs }) {
  const http = makeHttp()
  const start = performance.now()
  let request = await http.send('POST', `${postReplica.url}/runtimes/${runtimeId}/models`)
  while (!terminal.has(request.status)) {
    if (waitMs === null) await sleep(pollEveryMs)
    const query = waitMs === null ? '' : `?wait_ms=${waitMs}`
    request = await http.send('GET', `${pollReplica.url}/runtimes/${runtimeId}/models/${request.id}${query}`)
  }
  return { requests: http.requests, ms: performance.now() - start, status: request.status, cached: request.cached === true }
}

module.exports = { makeReplica, makeDaemon, makeHttp, openPicker, terminal }
