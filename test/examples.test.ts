import { execFile } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { buildHost, findRuntime } from '../examples/host'
import { needsRedis } from './helpers/redis'

// The examples use the built package (dist/), as its users do: `npm test` builds first.
const root = join(__dirname, '..')

// An example in a child process, as a user runs it (`npm run demo` runs it
// through tsx too). Resolves whatever the exit code, so a failing example
// shows its output.
function runExample (file: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    const child = execFile(process.execPath, ['--import', 'tsx', join('examples', file)], { cwd: root, timeout: 30_000 }, (_error, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout, stderr })
    })
  })
}

t.test('examples', async t => {
  t.test('demo.ts runs the whole lifecycle and prints the catalog', async t => {
    const { code, stdout, stderr } = await runExample('demo.ts')
    t.equal(code, 0, stderr)
    t.match(stdout, /POST \S+ -> pending/)
    t.match(stdout, /GET .* \(held up to [0-9.]+ s until it ends\)/, 'the client helper long-polls')
    t.match(stdout, /GET .* -> completed/)
    t.match(stdout, /POST \S+ -> completed from the cache \(stored [0-9T:.-]+Z\), 4 models/, 'the second picker open is answered from the cache')
    t.match(stdout, /claude-sonnet-4-5 +Claude Sonnet 4\.5 +anthropic +yes/, 'the table lists the default model')
    t.match(stdout, /404 FST_MODEL_LIST_RUNTIME_NOT_FOUND/)
  })

  t.test('host.ts: daemon and user auth', async t => {
    const app = buildHost()
    t.teardown(() => app.close())

    const laptop = 'rt-alice-laptop'
    const asDaemon = (id: string): { authorization: string } => ({ authorization: `Bearer ${findRuntime(id).token}` })
    const report = `/api/daemon/runtimes/${laptop}/models/00000000-0000-4000-8000-000000000000/result`
    const models = [{ id: 'gpt-5', label: 'GPT-5', provider: 'openai', default: true }]

    t.test('a heartbeat without a token is a 401', async t => {
      const response = await app.inject({ method: 'POST', url: '/api/daemon/heartbeat' })
      t.equal(response.statusCode, 401)
    })

    t.test('a heartbeat with an unknown token is a 401', async t => {
      const response = await app.inject({ method: 'POST', url: '/api/daemon/heartbeat', headers: { authorization: 'Bearer nope' } })
      t.equal(response.statusCode, 401)
    })

    t.test('a report without a token is the host\'s 401, passed through', async t => {
      const response = await app.inject({ method: 'POST', url: report, payload: { status: 'completed', models } })
      t.equal(response.statusCode, 401)
    })

    t.test('a report with another runtime\'s token is a 404', async t => {
      const response = await app.inject({ method: 'POST', url: report, payload: { status: 'completed', models }, headers: asDaemon('rt-bob-desktop') })
      t.equal(response.statusCode, 404)
      t.equal(response.json().code, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
    })

    t.test('a heartbeat with nothing pending answers ok and nothing else', async t => {
      const response = await app.inject({ method: 'POST', url: '/api/daemon/heartbeat', headers: asDaemon(laptop) })
      t.equal(response.statusCode, 200)
      t.same(response.json(), { status: 'ok' })
    })

    t.test('a user sees only their own runtimes', async t => {
      const foreign = await app.inject({ method: 'POST', url: `/api/runtimes/${laptop}/models`, headers: { 'x-user': 'bob' } })
      t.equal(foreign.statusCode, 404)
      t.equal(foreign.json().code, 'FST_MODEL_LIST_RUNTIME_NOT_FOUND')
      const anonymous = await app.inject({ method: 'POST', url: `/api/runtimes/${laptop}/models` })
      t.equal(anonymous.statusCode, 401)
      const offline = await app.inject({ method: 'POST', url: '/api/runtimes/rt-alice-nas/models', headers: { 'x-user': 'alice' } })
      t.equal(offline.statusCode, 503)
      t.equal(offline.json().code, 'FST_MODEL_LIST_RUNTIME_OFFLINE')
    })

    t.test('the heartbeat hands out a request once, and the report completes it', async t => {
      const created = await app.inject({ method: 'POST', url: `/api/runtimes/${laptop}/models`, headers: { 'x-user': 'alice' } })
      t.equal(created.json().status, 'pending')
      const { id } = created.json()

      // Another runtime's heartbeat must not claim it.
      const other = await app.inject({ method: 'POST', url: '/api/daemon/heartbeat', headers: asDaemon('rt-bob-desktop') })
      t.same(other.json(), { status: 'ok' })

      const claimed = await app.inject({ method: 'POST', url: '/api/daemon/heartbeat', headers: asDaemon(laptop) })
      t.same(claimed.json(), { status: 'ok', pending_model_list: { id } })
      const again = await app.inject({ method: 'POST', url: '/api/daemon/heartbeat', headers: asDaemon(laptop) })
      t.same(again.json(), { status: 'ok' })

      const reported = await app.inject({
        method: 'POST',
        url: `/api/daemon/runtimes/${laptop}/models/${id}/result`,
        headers: asDaemon(laptop),
        payload: { status: 'completed', models }
      })
      t.same(reported.json(), { status: 'ok' })

      const polled = await app.inject({ method: 'GET', url: `/api/runtimes/${laptop}/models/${id}`, headers: { 'x-user': 'alice' } })
      t.equal(polled.json().status, 'completed')
      t.same(polled.json().models, models)
    })
  })

  t.test('replicas.ts keeps one lifecycle across two replicas on one Redis', await needsRedis(), async t => {
    const { code, stdout, stderr } = await runExample('replicas.ts')
    t.equal(code, 0, stderr)
    t.match(stdout, /coherent: A and B answer the same record \(completed/)
  })
})
