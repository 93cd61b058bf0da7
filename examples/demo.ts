// One command, no setup: a host on the memory store, a simulated daemon, and
// this script playing the frontend that opens the model picker.
import { listModels, ModelListError, type ClientModelEntry } from 'fastify-model-list/client'
import { buildHost, findRuntime } from './host'
import { startDaemon } from './daemon'

const started = Date.now()
const deadlineMs = 10_000
const heartbeatMs = 1000
const laptop = findRuntime('rt-alice-laptop')
const nas = findRuntime('rt-alice-nas')

// Request ids are UUIDs: their first 8 characters tell them apart here.
const uuid = /[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/g

function say (who: string, message: string): void {
  const at = ((Date.now() - started) / 1000).toFixed(3)
  console.log(`[+${at}s] ${who.padEnd(8)} ${message.replace(uuid, id => `${id.slice(0, 8)}…`)}`)
}

async function main (): Promise<void> {
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

  // The frontend's side is fastify-model-list/client: listModels POSTs, then
  // long-polls. Its fetch is wrapped here only to narrate each exchange.
  const narrated: typeof fetch = async (url, init = {}) => {
    const method = init.method ?? 'GET'
    const { pathname, searchParams } = new URL(url instanceof Request ? url.url : url)
    const wait = searchParams.get('wait_ms')
    if (wait !== null) say('frontend', `GET  ${pathname.split('/').pop() ?? ''} (held up to ${Number(wait) / 1000} s until it ends)`)
    const response = await fetch(url, init)
    const body = await response.clone().json() as { id?: string, status?: string, code?: string }
    const answer = response.ok ? body.status ?? '' : `${response.status} ${body.code ?? ''}`
    say('frontend', method === 'POST' ? `POST ${pathname} -> ${answer} (request ${body.id ?? '-'})` : `GET  ${body.id ?? pathname} -> ${answer}`)
    return response
  }
  const asAlice = { 'x-user': 'alice' }

  try {
    const path = `/runtimes/${laptop.id}/models`
    const first = await listModels({ baseUrl: `${baseUrl}/api`, runtimeId: laptop.id, headers: asAlice, fetch: narrated, timeoutMs: deadlineMs })

    console.log(`\nCatalog of ${laptop.id}:\n`)
    printCatalog(first.models)

    // The picker opened again: the catalog cache answers at once, no daemon round trip.
    const opened = Date.now()
    const again = await listModels({ baseUrl: `${baseUrl}/api`, runtimeId: laptop.id, headers: asAlice })
    const source = again.cached ? `from the cache (stored ${again.cachedAt ?? '?'})` : 'not cached'
    console.log('')
    say('frontend', `POST /api${path} -> completed ${source}, ${again.models.length} models in ${Date.now() - opened} ms`)

    // What a frontend must handle besides the happy path: ModelListError
    // carries the server's status and code.
    console.log('\nErrors:')
    const asBob = await refusal(listModels({ baseUrl: `${baseUrl}/api`, runtimeId: laptop.id, headers: { 'x-user': 'bob' } }))
    console.log(`  bob lists alice's laptop    -> ${asBob.statusCode ?? '-'} ${asBob.code ?? '-'}`)
    const offline = await refusal(listModels({ baseUrl: `${baseUrl}/api`, runtimeId: nas.id, headers: asAlice }))
    console.log(`  alice asks her offline NAS  -> ${offline.statusCode ?? '-'} ${offline.code ?? '-'}`)
  } finally {
    await stopDaemon()
    await host.close()
  }
  console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

// The ModelListError a call must end with; anything else is the demo failing.
async function refusal (call: Promise<unknown>): Promise<ModelListError> {
  const error = await call.then(() => new Error('expected a refusal, got an answer'), (error: unknown) => error)
  if (error instanceof ModelListError) return error
  throw error
}

function printCatalog (models: ClientModelEntry[]): void {
  const rows = models.map(model => [
    model.id,
    model.label,
    model.provider ?? '-',
    model.default === true ? 'yes' : '',
    model.thinking?.supported_levels
      .map(level => level.value === model.thinking?.default_level ? `${level.label}*` : level.label)
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

main().catch((error: unknown) => {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
