'use strict'
// A picker open answered from the catalog cache, with a ~500 KiB catalog, on
// the memory store: this process's CPU per open against a bare route sending
// the same bytes, in interleaved rounds (median of the per-round ratios). Also
// the same open with a catalog stored the old way (parsed and written again
// per open), for comparison. Over HTTP (keep-alive, one at a time) from a
// child process: the CPU counted is the server's alone.
// Run: npm run build && node bench/cached-open.js
const { spawn } = require('node:child_process')
const Fastify = require('fastify')
const { fastifyModelList } = require('..')

const rounds = Number(process.env.ROUNDS ?? 7)
const opensPerRound = Number(process.env.OPENS ?? 200)

function catalogOf (targetBytes) {
  const models = []
  for (let i = 0; JSON.stringify(models).length < targetBytes; i++) {
    models.push({
      id: `model-${i}`,
      label: `Model ${i} `.padEnd(200, 'x'),
      provider: 'bench',
      thinking: { supported_levels: [{ value: 'high', label: 'High', description: 'Thinks longer '.padEnd(250, 'y') }], default_level: 'high' }
    })
  }
  return models
}

function median (list) {
  const sorted = [...list].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

// The client: POSTs `count` times to the url it is sent, reading every answer whole.
const clientCode = `
const http = require('node:http')
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const post = url => new Promise((resolve, reject) => {
  const req = http.request(url, { method: 'POST', agent }, res => {
    let bytes = 0
    res.on('data', chunk => { bytes += chunk.length })
    res.on('end', () => res.statusCode === 200 ? resolve(bytes) : reject(new Error(url + ': ' + res.statusCode)))
  })
  req.on('error', reject)
  req.end()
})
process.on('message', async ({ url, count }) => {
  for (let i = 0; i < count; i++) await post(url)
  process.send('done')
})
`

async function cpuOf (client, url) {
  const start = process.cpuUsage()
  await new Promise(resolve => { client.once('message', resolve); client.send({ url, count: opensPerRound }) })
  const used = process.cpuUsage(start)
  return (used.user + used.system) / opensPerRound
}

async function main () {
  const models = catalogOf(500 * 1024)
  const app = Fastify({ bodyLimit: 2 * 1024 * 1024 })
  await app.register(fastifyModelList, { getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true })
  await app.ready()
  const discover = async runtimeId => {
    const { id } = (await app.inject({ method: 'POST', url: `/runtimes/${runtimeId}/models`, payload: { force: true } })).json()
    await app.claimPendingModelList(runtimeId)
    const res = await app.inject({ method: 'POST', url: `/daemon/runtimes/${runtimeId}/models/${id}/result`, payload: { status: 'completed', models, supported: true } })
    if (res.statusCode !== 200) throw new Error(res.body)
  }
  await discover('rt-new')
  // The old way: a catalog another writer stored (JSON.stringify), parsed and written again per open.
  await app.modelListStore.complete('rt-old', (await app.modelListStore.create('rt-old')).id, { models, supported: true })
  await app.modelListStore.popPending('rt-old')
  const sample = (await app.inject({ method: 'POST', url: '/runtimes/rt-new/models' })).body
  const bare = Fastify()
  const sampleBytes = Buffer.from(sample)
  // The same bytes as a string (Fastify encodes it per answer) and as a Buffer (sent as is).
  bare.post('/bare', async (request, reply) => reply.type('application/json; charset=utf-8').send(sample))
  bare.post('/bare-buffer', async (request, reply) => reply.type('application/json; charset=utf-8').send(sampleBytes))
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  const bareOrigin = await bare.listen({ host: '127.0.0.1', port: 0 })
  const urls = { cached: `${origin}/runtimes/rt-new/models`, old: `${origin}/runtimes/rt-old/models`, bare: `${bareOrigin}/bare`, bareBuffer: `${bareOrigin}/bare-buffer` }
  const client = spawn(process.execPath, ['-e', clientCode], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
  const ratios = []
  const bufferRatios = []
  const oldRatios = []
  const perOpen = { cached: [], bare: [], bareBuffer: [], old: [] }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['cached', 'bare', 'bareBuffer', 'old'] : ['old', 'bareBuffer', 'bare', 'cached']
    const us = {}
    for (const what of order) {
      us[what] = await cpuOf(client, urls[what])
      perOpen[what].push(us[what])
    }
    ratios.push(us.cached / us.bare)
    bufferRatios.push(us.cached / us.bareBuffer)
    oldRatios.push(us.old / us.bare)
  }
  console.log(JSON.stringify({
    answerBytes: Buffer.byteLength(sample),
    models: models.length,
    rounds,
    opensPerRound,
    cpuUsPerOpen: { cached: median(perOpen.cached), bare: median(perOpen.bare), bareBuffer: median(perOpen.bareBuffer), parsedAndWritten: median(perOpen.old) },
    ratioToBare: { cached: median(ratios), cachedToBareBuffer: median(bufferRatios), parsedAndWritten: median(oldRatios) }
  }, null, 2))
  client.kill()
  await app.close()
  await bare.close()
}

main().catch(error => { console.error(error); process.exit(1) })
