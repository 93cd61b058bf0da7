// Shutdown: app.close() with requests in flight (and Redis paused) returns
// within its bound, and the host process then exits by itself: no timer,
// socket or subscription of ours left behind. The host runs in a child process
// (test/fixtures/shutdown-child.ts); this test is its keep-alive HTTP client.
// A fault test: it asserts wall-clock ceilings (each bound plus a margin).
// The child runs the built package (dist/): `npm test` builds first.
//
// Fastify's own rule shapes the keep-alive case: by default (forceCloseConnections
// 'idle') close() ends idle connections but waits for a keep-alive connection
// that is mid-request until its client lets go (up to keepAliveTimeout, 72 s);
// with forceCloseConnections: true it cuts them at once. So the default-options
// runs send their in-flight requests with `Connection: close`, and the last run
// shows forceCloseConnections: true with keep-alive requests in flight.
import { spawn } from 'node:child_process'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t, { type Test } from 'tap'
import { freePort, makeTempDir, needsRedisBinaries, removeDir, startRedisServer, type RedisServer } from './helpers/redis-server'

const storeTimeoutMs = 500
const marginMs = 1_000
// How long Redis stays paused: well past every bound, so nothing is answered by Redis meanwhile.
const pauseMs = 4_000
// The child must be gone this long after main returned (its watchdog reports what holds it at 8 s).
const exitWithinMs = 10_000

interface Child {
  /** Resolves with the next stdout line starting with `word` (its rest). */
  next: (word: string) => Promise<string>
  send: (line: string) => void
  exited: Promise<{ code: number | null, signal: string | null, at: number }>
  output: () => string
}

function startChild (env: Record<string, string>): Child {
  const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'shutdown-child.js')], {
    env: { ...process.env, ...env, FML_SHUTDOWN_STORE_TIMEOUT_MS: String(storeTimeoutMs) },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let output = ''
  const lines: string[] = []
  const waiters: Array<() => void> = []
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  createInterface({ input: child.stdout }).on('line', line => {
    output += `${line}\n`
    lines.push(line)
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = new Promise<{ code: number | null, signal: string | null, at: number }>(resolve => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal, at: Date.now() })
      for (const wake of waiters.splice(0)) wake()
    })
  })
  const next = async (word: string): Promise<string> => {
    for (;;) {
      const index = lines.findIndex(line => line.startsWith(`${word} `) || line === word || line.startsWith('ERROR') || line.startsWith('STUCK'))
      if (index !== -1) {
        const [line] = lines.splice(index, 1)
        if (!line.startsWith(word)) throw new Error(`child: ${line}\n${output}`)
        return line.slice(word.length + 1)
      }
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited before ${word}:\n${output}`)
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
  // Never left running: a hung child is killed when the test ends.
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { next, send: line => child.stdin.write(`${line}\n`), exited, output: () => output }
}

interface Answer { status: number | 'error', ms: number, body: string }

/** One HTTP call; `agent` false sends `Connection: close`. */
function call (agent: Agent | false, port: number, method: string, path: string, body?: object): Promise<Answer> {
  const started = Date.now()
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' }
  if (agent === false) headers.connection = 'close'
  return new Promise(resolve => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, body }))
    })
    req.on('error', (error) => resolve({ status: 'error', ms: Date.now() - started, body: error.message }))
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

interface Run {
  redis?: RedisServer
  /** The host sets forceCloseConnections: true, and the in-flight requests are keep-alive. */
  forceClose?: boolean
}

async function shutdown (t: Test, { redis, forceClose = false }: Run): Promise<void> {
  const env: Record<string, string> = { FML_SHUTDOWN_FORCE_CLOSE: String(forceClose) }
  if (redis !== undefined) env.FML_SHUTDOWN_REDIS_PORT = String(redis.port)
  const child = startChild(env)
  const [port, pendingId] = (await child.next('READY')).split(' ').map((part, i) => i === 0 ? Number(part) : part) as [number, string]
  const agent = new Agent({ keepAlive: true, maxSockets: 8 })
  t.teardown(() => agent.destroy())

  // A keep-alive connection that has answered once and sits idle at the close.
  t.equal((await call(agent, port, 'GET', `/api/runtimes/rt-2/models/${pendingId}`)).status, 200, 'answered before the close')
  // Two polls held on the pending request (close must answer them), in before Redis pauses.
  const held = [0, 1].map(() => call(false, port, 'GET', `/api/runtimes/rt-2/models/${pendingId}?wait_ms=30000`))
  child.send('WAIT 3')
  await child.next('ARRIVED')

  if (redis !== undefined) {
    // Each run has a server of its own: the pause is left to run out while it stops.
    const pauser = redis.connect()
    t.teardown(() => pauser.disconnect())
    // The store's pub/sub subscriber is there, so the exit below shows it was closed.
    const clients = String(await pauser.call('CLIENT', 'LIST')).split('\n')
    t.ok(clients.some(client => /\bsub=[1-9]/.test(client)), 'the store holds a subscriber connection')
    t.equal(await pauser.call('CLIENT', 'PAUSE', String(pauseMs), 'ALL'), 'OK', 'Redis paused')
  }
  const via = forceClose ? agent : false
  const inFlight = [
    call(via, port, 'POST', '/api/runtimes/rt-3/models'),
    call(via, port, 'POST', '/api/runtimes/rt-2/models', {}),
    call(via, port, 'GET', `/api/runtimes/rt-2/models/${pendingId}`),
    call(via, port, 'POST', `/api/daemon/runtimes/rt-2/models/${pendingId}/result`, { status: 'failed', error: 'late' })
  ]
  // The idle connection's request, the held polls, then the ones in flight.
  child.send(`CLOSE ${1 + held.length + inFlight.length}`)
  const closeMs = Number(await child.next('CLOSED'))
  const heartbeat = await child.next('HEARTBEAT')
  await child.next('RETURNED')
  const returnedAt = Date.now()
  const answers = await Promise.all(inFlight)
  const heldAnswers = await Promise.all(held)
  const exit = await Promise.race([
    child.exited,
    new Promise<null>(resolve => setTimeout(() => resolve(null), exitWithinMs).unref())
  ])

  // Forced: nothing waits. Otherwise close waits for the routes, each bounded by storeTimeoutMs.
  const bound = (redis === undefined || forceClose ? 0 : storeTimeoutMs) + marginMs
  t.ok(closeMs <= bound, `app.close() returned in ${closeMs} ms (bound ${bound} ms)`)
  for (const [i, answer] of answers.entries()) {
    if (forceClose) t.ok(answer.status === 503 || answer.status === 'error', `in-flight request ${i}: cut or 503 (${answer.status})`)
    else if (redis === undefined) t.equal(answer.status, 200, `in-flight request ${i} answered 200`)
    else t.equal(answer.status, 503, `in-flight request ${i} answered 503 while Redis was paused`)
    t.ok(answer.ms <= storeTimeoutMs + marginMs, `in-flight request ${i} settled in ${answer.ms} ms`)
  }
  for (const [i, answer] of heldAnswers.entries()) {
    // Held, it is answered at the close with what it last read; a read caught by the pause answers 503 at its bound.
    if (forceClose) t.ok(answer.status === 200 || answer.status === 503 || answer.status === 'error', `held poll ${i}: answered or cut (${answer.status})`)
    else if (redis === undefined) t.equal(answer.status, 200, `held poll ${i} answered 200 at the close`)
    else t.ok(answer.status === 200 || answer.status === 503, `held poll ${i} answered at the close (${answer.status})`)
    if (answer.status === 200) t.match(JSON.parse(answer.body), { status: 'pending' }, `held poll ${i}: the state it last read`)
    t.ok(answer.ms <= storeTimeoutMs + marginMs, `held poll ${i} (wait_ms=30000) answered in ${answer.ms} ms, not held past the close`)
  }
  if (redis !== undefined) t.equal(heartbeat, 'null', 'the heartbeat in flight answered null within its bound')
  t.not(exit, null, `the process exited by itself within ${exitWithinMs} ms of returning:\n${child.output()}`)
  if (exit !== null) {
    t.equal(exit.code, 0, `exit code 0:\n${child.output()}`)
    t.comment(`${redis === undefined ? 'memory' : 'redis paused'}${forceClose ? ', forceCloseConnections' : ''}: close ${closeMs} ms, ` +
      `in flight settled in ${answers.map(answer => answer.ms).join('/')} ms, held polls (wait_ms=30000) ${heldAnswers.map(answer => `${answer.status} after ${answer.ms}`).join('/')} ms, exit ${exit.at - returnedAt} ms after main returned`)
  }
}

t.test('shutdown: memory store, an idle keep-alive client: the process exits by itself', async t => {
  await shutdown(t, {})
})

/** A private redis-server for one run, stopped when the run ends. */
async function privateRedis (t: Test): Promise<RedisServer> {
  const dir = await makeTempDir('shutdown')
  const redis = await startRedisServer(await freePort(), dir)
  t.teardown(async () => {
    await redis.stop()
    await removeDir(dir)
  })
  return redis
}

t.test('shutdown: Redis paused', async t => {
  const { skip } = needsRedisBinaries()
  if (skip !== false) return t.plan(0, skip)

  t.test('requests in flight answer 503 within storeTimeoutMs, close returns, the process exits by itself', async t => {
    await shutdown(t, { redis: await privateRedis(t) })
  })

  t.test('forceCloseConnections: true with keep-alive requests in flight: close returns at once, the process exits by itself', async t => {
    await shutdown(t, { redis: await privateRedis(t), forceClose: true })
  })
})
