// Wire golden files: every route's answers for the scripted flows of
// test/helpers/golden.ts, on the memory store and the real Redis, compared step
// by step with test/golden/*.json (recorded before the one-engine refactor by
// `npx tsx scripts/record-golden.ts`). A difference is a change on the wire.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Redis from 'ioredis'
import { deleteGoldenKeys, goldenFiles, goldenPrefix, runGoldenFlows, type GoldenEnv, type GoldenStep, type StoreName } from './helpers/golden'
import { needsRedis, ready } from './helpers/redis'

const root = join(__dirname, '..')
const golden = (store: StoreName): GoldenStep[] => JSON.parse(readFileSync(join(root, goldenFiles[store]), 'utf8'))

function compare (t: Test, actual: GoldenStep[], expected: GoldenStep[]): void {
  t.same(actual.map(s => s.step), expected.map(s => s.step), 'the same steps, in the same order')
  const count = Math.max(actual.length, expected.length)
  for (let i = 0; i < count; i++) {
    t.same(actual[i], expected[i], `step ${i + 1}: ${expected[i]?.step ?? actual[i]?.step}`)
  }
}

t.test('memory store: the wire is unchanged', async t => {
  compare(t, await runGoldenFlows({ store: 'memory' }), golden('memory'))
})

t.test('redis store: the wire is unchanged', async t => {
  if (!(await ready(t, needsRedis))) return
  const redis = new Redis({ host: '127.0.0.1', port: 6379 })
  const keyPrefix = goldenPrefix()
  const env: GoldenEnv = { store: 'redis', redis, keyPrefix }
  t.teardown(async () => {
    await deleteGoldenKeys(redis, keyPrefix)
    redis.disconnect()
  })
  compare(t, await runGoldenFlows(env), golden('redis'))
})

t.test('both stores answer the same bytes', async t => {
  // No store-specific difference is expected on the wire; if one ever becomes
  // legitimate, list it here by step name.
  t.same(golden('redis'), golden('memory'))
})
