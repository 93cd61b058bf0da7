// Records the wire golden files (test/golden/memory.json, test/golden/redis.json)
// from the flows in test/helpers/golden.ts, on the code as it is now.
// Run: npx tsx scripts/record-golden.ts   (needs Redis on 127.0.0.1:6379)
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Redis from 'ioredis'
import { deleteGoldenKeys, goldenFiles, goldenPrefix, runGoldenFlows, type GoldenStep } from '../test/helpers/golden'

const root = join(__dirname, '..')

function write (file: string, steps: GoldenStep[]): void {
  const path = join(root, file)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, JSON.stringify(steps, null, 2) + '\n')
  console.log(`${file}: ${steps.length} steps`)
}

async function main (): Promise<void> {
  write(goldenFiles.memory, await runGoldenFlows({ store: 'memory' }))
  const redis = new Redis({ host: '127.0.0.1', port: 6379 })
  const keyPrefix = goldenPrefix()
  try {
    write(goldenFiles.redis, await runGoldenFlows({ store: 'redis', redis, keyPrefix }))
  } finally {
    console.log(`deleted ${await deleteGoldenKeys(redis, keyPrefix)} keys under ${keyPrefix}*`)
    redis.disconnect()
  }
}

main().catch(error => {
  console.error(error)
  process.exitCode = 1
})
