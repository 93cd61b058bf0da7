// `npm test` prints no warning that is not a real problem (issue 18).
import t from 'tap'
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
