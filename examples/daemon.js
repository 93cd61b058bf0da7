'use strict'

// A simulated daemon. It sits behind a NAT, so the server never calls it: it
// heartbeats, and a heartbeat may hand it a model list request to run.
const { setTimeout: sleep } = require('node:timers/promises')
const { reportModelList } = require('fastify-model-list/client')

// What discovery finds on this machine (a real daemon asks its CLIs and APIs).
const catalog = [
  {
    id: 'claude-sonnet-4-5',
    label: 'Claude Sonnet 4.5',
    provider: 'anthropic',
    default: true,
    thinking: {
      supported_levels: [
        { value: 'off', label: 'Off', description: 'Answer directly' },
        { value: 'low', label: 'Low', description: 'A short think first' },
        { value: 'high', label: 'High', description: 'Think long on hard problems' }
      ],
      default_level: 'low'
    },
    service_tiers: [
      { id: 'standard', name: 'Standard' },
      { id: 'priority', name: 'Priority', description: 'Lower latency at a higher price' }
    ]
  },
  {
    id: 'claude-haiku-4-5',
    label: 'Claude Haiku 4.5',
    provider: 'anthropic',
    service_tiers: [{ id: 'standard', name: 'Standard' }]
  },
  {
    id: 'gpt-5',
    label: 'GPT-5',
    provider: 'openai',
    thinking: {
      supported_levels: [
        { value: 'minimal', label: 'Minimal' },
        { value: 'medium', label: 'Medium' },
        { value: 'high', label: 'High', description: 'Most reasoning tokens' }
      ],
      default_level: 'medium'
    },
    service_tiers: [
      { id: 'flex', name: 'Flex', description: 'Cheaper, may be slow' },
      { id: 'default', name: 'Default' },
      { id: 'priority', name: 'Priority' }
    ]
  },
  { id: 'qwen3-coder-30b', label: 'Qwen3 Coder 30B', provider: 'ollama' }
]

async function discoverModels () {
  await sleep(700) // probing local tools takes a moment
  return structuredClone(catalog)
}

// fetch's own message is "fetch failed"; the cause says what happened.
const reason = error => error.cause?.message ?? error.message

// Read even when unused, so the connection goes back to the pool.
const readJson = response => response.json().catch(() => ({}))

function startDaemon ({ baseUrl, reportBaseUrl = baseUrl, runtimeId, token, intervalMs = 2000, log = () => {}, discover = discoverModels }) {
  const headers = { authorization: `Bearer ${token}` }
  const stopping = new AbortController()
  const { signal } = stopping
  const working = new Set()
  let timer

  async function heartbeat () {
    try {
      const response = await fetch(`${baseUrl}/api/daemon/heartbeat`, { method: 'POST', headers, signal })
      const answer = await readJson(response)
      if (!response.ok) return log(`heartbeat answered ${response.status} ${answer.message ?? ''}`)
      if (answer.pending_model_list !== undefined) track(listModels(answer.pending_model_list.id))
    } catch (error) {
      if (!signal.aborted) log(`heartbeat failed: ${reason(error)}`)
    } finally {
      // Scheduled after the answer, not on a fixed beat: a slow server never
      // gets overlapping heartbeats from one daemon.
      if (!signal.aborted) timer = setTimeout(() => track(heartbeat()), intervalMs)
    }
  }

  // Discovery runs beside the heartbeat loop, which keeps beating meanwhile.
  async function listModels (requestId) {
    log(`claimed ${requestId}, discovering models`)
    let report
    try {
      report = { status: 'completed', models: await discover() }
    } catch (error) {
      report = { status: 'failed', error: `discovery failed: ${error.message}` }
    }
    await sendReport(requestId, report)
  }

  // reportModelList (fastify-model-list/client) sends it again after 0.5 s,
  // 2 s and 4 s on a 5xx or a network error, never on a 4xx. The fetch it is
  // given logs each failed attempt, so the retries show.
  const loggingFetch = async (url, init) => {
    try {
      const response = await fetch(url, init)
      if (!response.ok) log(`report answered ${response.status}${response.status >= 500 ? ', retrying' : ''}`)
      return response
    } catch (error) {
      if (!signal.aborted) log(`report failed (${reason(error)}), retrying`)
      throw error
    }
  }

  async function sendReport (requestId, report) {
    try {
      await reportModelList({ baseUrl: `${reportBaseUrl}/api`, runtimeId, requestId, report, headers, signal, fetch: loggingFetch })
      log(`reported ${report.status}${report.models ? ` (${report.models.length} models)` : ''}`)
    } catch (error) {
      if (!signal.aborted) log(`report gave up: ${error.message}${error.code ? ` (${error.code})` : ''}`)
    }
  }

  // What stop() waits for. Nothing tracked rejects: failures are logged.
  function track (promise) {
    working.add(promise)
    promise.finally(() => working.delete(promise))
  }

  track(heartbeat())

  // Stops beating, abandons fetches and retries in flight, and resolves once
  // nothing of this daemon is left running.
  return async function stop () {
    stopping.abort()
    clearTimeout(timer)
    await Promise.allSettled([...working])
  }
}

module.exports = { startDaemon, catalog }
