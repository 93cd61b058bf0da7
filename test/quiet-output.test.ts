// `npm test` prints no warning that is not a real problem (issue 18).
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { mockRedis } from './helpers/redis-mock'

t.test('regression: a file making more than ten ioredis-mock clients printed MaxListenersExceededWarning', async t => {
  const warnings: Error[] = []
  const listen = (warning: Error): void => { warnings.push(warning) }
  process.on('warning', listen)
  t.teardown(() => { process.off('warning', listen) })
  const port = 30_000 + (process.pid % 10_000)
  const clients = Array.from({ length: 12 }, () => mockRedis({ port }))
  // A store's subscriber is a duplicate, on the same shared context.
  const duplicates = clients.map(client => client.duplicate())
  await new Promise(resolve => setImmediate(resolve))
  t.same(warnings.map(warning => warning.name), [])
  for (const client of [...clients, ...duplicates]) client.disconnect()
})

t.test('every ioredis-mock client of the tests comes from test/helpers/redis-mock.ts', async t => {
  const dirs = [__dirname, join(__dirname, 'helpers')]
  const direct = dirs.flatMap(dir => readdirSync(dir).filter(file => file.endsWith('.ts')).map(file => join(dir, file)))
    .filter(file => !file.endsWith('redis-mock.ts') && !file.endsWith('quiet-output.test.ts') && /new RedisMock\(/.test(readFileSync(file, 'utf8')))
  t.same(direct.map(file => file.slice(__dirname.length + 1)), [], 'no new RedisMock( elsewhere')
})
