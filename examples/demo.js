'use strict'

// One command, no setup: a host on the memory store, a simulated daemon, and
// this script playing the frontend that opens the model picker.
const { setTimeout: sleep } = require('node:timers/promises')
const { buildHost, runtimes } = require('./host')
const { startDaemon } = require('./daemon')

const started = Date.now()
const deadlineMs = 10_000
const heartbeatMs = 1000
const pollEveryMs = 150
const terminal = new Set(['completed', 'failed', 'timeout'])
const laptop = runtimes.find(runtime => runtime.id === 'rt-alice-laptop')
const nas = runtimes.find(runtime => runtime.id === 'rt-alice-nas')

// Request ids are UUIDs: their first 8 characters tell them apart here.
const uuid = /[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/g

function say (who, message) {
  const at = ((Date.now() - started) / 1000).toFixed(3)
  console.log(`[+${at}s] ${who.padEnd(8)} ${message.replace(uuid, id => `${id.slice(0, 8)}…`)}`)
}

async function main () {
  const host = buildHost()
  const baseUrl = await host.listen({ host: '127.0.0.1', port: 0 })
  const stopDaemon = startDaemon({
    baseUrl,
    runtimeId: laptop.id,
    token: laptop.token,
    intervalMs: heartbeatMs,
    log: message => say('daemon', message)
  })
  console.log(`host ${baseUrl} (memory store), daemon of ${laptop.id} heartbeating every ${heartbeatMs} ms\n`)

  // The frontend's calls, as alice unless told otherwise.
  async function api (method, path, user = 'alice') {
    const response = await fetch(`${baseUrl}/api${path}`, { method, headers: { 'x-user': user } })
    return { status: response.status, body: await response.json() }
  }

  try {
    const path = `/runtimes/${laptop.id}/models`
    const created = await api('POST', path)
    if (created.status !== 200) throw new Error(`POST answered ${created.status}: ${created.body.message}`)
    let request = created.body
    say('frontend', `POST /api${path} -> ${request.status} (request ${request.id})`)

    while (!terminal.has(request.status)) {
      if (Date.now() - started > deadlineMs) {
        throw new Error(`not completed within ${deadlineMs / 1000} s: still ${request.status}`)
      }
      await sleep(pollEveryMs)
      const polled = await api('GET', `${path}/${request.id}`)
      if (polled.status !== 200) throw new Error(`poll answered ${polled.status}: ${polled.body.message}`)
      if (polled.body.status !== request.status) say('frontend', `GET  ${request.id} -> ${polled.body.status}`)
      request = polled.body
    }
    if (request.status !== 'completed') throw new Error(`request ended ${request.status}: ${request.error}`)

    console.log(`\nCatalog of ${laptop.id}:\n`)
    printCatalog(request.models)

    // The picker opened again: the catalog cache answers at once, no daemon round trip.
    const opened = Date.now()
    const again = await api('POST', path)
    const source = again.body.cached ? `from the cache (stored ${again.body.cached_at})` : 'not cached'
    console.log('')
    say('frontend', `POST /api${path} -> ${again.body.status} ${source}, ${again.body.models?.length ?? 0} models in ${Date.now() - opened} ms`)

    // What a frontend must handle besides the happy path.
    console.log('\nErrors:')
    const foreign = await api('GET', `${path}/${request.id}`, 'bob')
    console.log(`  bob polls alice's request   -> ${foreign.status} ${foreign.body.code}`)
    const offline = await api('POST', `/runtimes/${nas.id}/models`)
    console.log(`  alice asks her offline NAS  -> ${offline.status} ${offline.body.code}`)
  } finally {
    await stopDaemon()
    await host.close()
  }
  console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

function printCatalog (models) {
  const rows = models.map(model => [
    model.id,
    model.label,
    model.provider ?? '-',
    model.default ? 'yes' : '',
    model.thinking?.supported_levels
      .map(level => level.value === model.thinking.default_level ? `${level.label}*` : level.label)
      .join(', ') ?? '-',
    model.service_tiers?.map(tier => tier.name).join(', ') ?? '-'
  ])
  const header = ['MODEL', 'LABEL', 'PROVIDER', 'DEFAULT', 'THINKING (*default)', 'TIERS']
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map(row => row[i].length)))
  for (const row of [header, ...rows]) {
    console.log(`  ${row.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`.trimEnd())
  }
}

// A backstop: whatever hangs, the demo still ends, and says so.
setTimeout(() => {
  console.error('demo: still running after 15 s, giving up')
  process.exit(1)
}, 15_000).unref()

main().catch(error => {
  console.error(`\ndemo failed: ${error.message}`)
  process.exitCode = 1
})
