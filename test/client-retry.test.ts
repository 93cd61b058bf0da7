import { mock } from 'node:test'
import t, { type Test } from 'tap'
import { listModels } from '../lib/client'
import { catalog } from './helpers/contract'

// listModels and a poll answered 503 (the store briefly unavailable): sent
// again with backoff, within timeoutMs. A file of its own, against a scripted
// fetch: Node 20's fake timers lose timers once a timer made under an earlier
// fake clock (undici keeps one) is cleared under a later one, which the socket
// tests in client.test.ts leave behind.

// Lets what is under way run: turns of the event loop, never time.
async function until (t: Test, what: string, condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !condition(); turn++) await new Promise(resolve => setImmediate(resolve))
  t.ok(condition(), what)
}

// Checks the poll is sent again after exactly `delays`.
async function retrySchedule (t: Test, attempts: () => number, delays: number[]): Promise<void> {
  await until(t, 'first attempt', () => attempts() === 1)
  for (const [index, delay] of delays.entries()) {
    mock.timers.tick(delay - 1)
    for (let turn = 0; turn < 50; turn++) await new Promise(resolve => setImmediate(resolve))
    t.equal(attempts(), index + 1, `not sent again before ${delay} ms`)
    mock.timers.tick(1)
    await until(t, `sent again after ${delay} ms`, () => attempts() === index + 2)
  }
}

/**
 * A server played by a script, no socket involved (so nothing but the client
 * arms a timer under the fake clock): the POST answers a pending request, each
 * poll the next answer in `polls` (a 503 once they run out). Counts the polls
 * answered and the wait each asked for.
 */
function scripted (polls: Array<503 | 'completed'>): { fetch: typeof fetch, count: () => number, asked: number[] } {
  const asked: number[] = []
  const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
  const request = { id: 'req-1', runtime_id: 'rt', supported: true, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' }
  return {
    asked,
    count: () => asked.length,
    fetch: async (input, init) => {
      if ((init?.method ?? 'GET') === 'POST') return json(200, { ...request, status: 'pending' })
      asked.push(Number(new URL(String(input)).searchParams.get('wait_ms')))
      const next = polls[asked.length - 1] ?? 503
      return next === 503
        ? json(503, { statusCode: 503, code: 'FST_MODEL_LIST_STORE_UNAVAILABLE', error: 'Service Unavailable', message: 'store unavailable' })
        : json(200, { ...request, status: 'completed', models: catalog })
    }
  }
}

t.test('listModels: a poll answered 503 is sent again after 0.25, 0.5, 1 and 2 s; the request that completed resolves', async t => {
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  const server = scripted([503, 503, 503, 503, 'completed'])
  const listing = listModels({ baseUrl: 'http://server.invalid/api', runtimeId: 'rt', fetch: server.fetch })
  await retrySchedule(t, server.count, [250, 500, 1_000, 2_000])
  t.strictSame(await listing, { models: catalog, supported: true, cached: false }, 'the picker gets the models, not the 503')
  t.equal(server.count(), 5, 'four polls answered 503, the fifth found it completed')
})

t.test('listModels: a poll answered 503 five times more gives up with that 503', async t => {
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => mock.timers.reset())
  const server = scripted([])
  const listing = listModels({ baseUrl: 'http://server.invalid/api', runtimeId: 'rt', fetch: server.fetch }).catch((error: unknown) => error)
  await retrySchedule(t, server.count, [250, 500, 1_000, 2_000, 4_000])
  t.match(await listing, { name: 'ModelListError', statusCode: 503, code: 'FST_MODEL_LIST_STORE_UNAVAILABLE' })
  t.equal(server.count(), 6, 'six polls in all')
})

t.test('listModels: the retries of a 503 stay within timeoutMs, each asking for no more than the time left', async t => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] })
  t.teardown(() => mock.timers.reset())
  const server = scripted([])
  const listing = listModels({ baseUrl: 'http://server.invalid/api', runtimeId: 'rt', timeoutMs: 1_000, fetch: server.fetch }).catch((error: unknown) => error)
  await retrySchedule(t, server.count, [250, 500])
  mock.timers.tick(250)
  t.match(await listing, { name: 'ModelListError', code: 'ETIMEDOUT' }, 'timeoutMs ends it during a wait')
  t.same(server.asked, [1_000, 750, 250], 'each attempt asks for the time left')
})
