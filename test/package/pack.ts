import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { needsRedis } from '../helpers/redis'

// A newcomer's first five minutes, from the packed tarball: `npm pack`, then
// install it into empty folders beside the versions people run, and use it
// from ESM, CommonJS and TypeScript (node16, nodenext, bundler; skipLibCheck
// off). Peers come from npm's cache (`npm ci` filled it), so this stays fast.
// Run by `npm run test:pack` (and .ci/run), not by `npm test`.

const run = promisify(execFile)
const root = join(__dirname, '..', '..')
const consumer = join(__dirname, 'consumer')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

interface Setup {
  name: string
  /** What the consumer installs beside the tarball (fastify comes as its peer). */
  packages: string[]
  redis: boolean
}

const setups: Setup[] = [
  { name: 'ioredis 5 + @fastify/redis 8', packages: ['ioredis@5', '@fastify/redis@8'], redis: true },
  { name: 'ioredis 6 + @fastify/redis 9', packages: ['ioredis@6', '@fastify/redis@9'], redis: true },
  { name: 'memory only, no ioredis', packages: [], redis: false }
]

const resolutions = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' }
}

const client = ['function', 'function', 'ModelListError']
const expectedFlow = { created: 'pending', claimed: true, report: 200, status: 'completed', models: [{ id: 'm1', label: 'Model one' }] }

const work = mkdtempSync(join(tmpdir(), 'fml-pack-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

async function npmIn (cwd: string, args: string[]): Promise<{ stdout: string, stderr: string }> {
  return await run(npm, args, { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: 'warn' } })
}

async function node (cwd: string, file: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, [file], { cwd })
  return JSON.parse(stdout)
}

/** Runs `jobs` at most `width` at a time; answers their results in order. */
async function pool<T> (width: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const index = next++
      results[index] = await jobs[index]()
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker))
  return results
}

t.test('the packed tarball', async t => {
  const { stdout } = await npmIn(root, ['pack', '--json', '--pack-destination', work])
  const [packed] = JSON.parse(stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  const tarball = join(work, packed.filename)
  const paths = packed.files.map(file => file.path)

  t.test('holds the built files, README, LICENSE and package.json only', async t => {
    const stray = paths.filter(path => !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(path))
    t.same(stray, [], 'nothing else is published')
    for (const path of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/client.js', 'dist/client.mjs', 'dist/client.d.ts', 'dist/client.d.mts', 'README.md', 'LICENSE']) {
      t.ok(paths.includes(path), path)
    }
  })

  const { skip: noRedis } = await needsRedis()

  // Installs run side by side; the TypeScript checks (seconds each with
  // skipLibCheck off) share a pool as wide as the machine.
  const installed = await Promise.all(setups.map(async setup => {
    const dir = join(work, setup.name.replace(/\W+/g, '-'))
    cpSync(consumer, dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    const install = await npmIn(dir, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, '@types/node@20', ...setup.packages])
    return { setup, dir, install }
  }))
  const typeChecks = pool(availableParallelism(), installed.flatMap(({ setup, dir }) => Object.entries(resolutions).map(([name, options]) => async () => {
    const files = name === 'bundler' ? ['types.mts'] : ['types.mts', 'types.cts']
    if (setup.redis) files.push('redis-types.mts')
    const project = `tsconfig.${name}.json`
    writeFileSync(join(dir, project), JSON.stringify({
      compilerOptions: { ...options, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      files
    }))
    const errors = await run(process.execPath, [tsc, '-p', project], { cwd: dir }).then(() => '', (error: { stdout: string }) => error.stdout)
    return { setup: setup.name, name, errors }
  })))

  for (const { setup, dir, install } of installed) {
    t.test(setup.name, async t => {
      t.notMatch(install.stderr, /install-scripts|ERESOLVE|peer dep/i, 'installs without install-script or peer warnings')
      t.equal(existsSync(join(dir, 'node_modules', 'ioredis')), setup.redis, setup.redis ? 'ioredis is there' : 'ioredis is not installed')

      t.same(await node(dir, 'esm.mjs'), { same: true, store: true, schema: 'object', flow: expectedFlow, client }, 'ESM import: default and named, and the client')
      t.same(await node(dir, 'cjs.cjs'), { same: true, store: true, schema: 'object', flow: expectedFlow, client }, 'CommonJS require, and the client')
      if (setup.redis) {
        if (noRedis === false) {
          t.same(await node(dir, 'redis.mjs'), { store: true, flow: expectedFlow }, 'the Redis store through app.redis')
        } else {
          t.comment(`Redis flow skipped: ${noRedis}`)
        }
      }
      for (const { name, errors } of (await typeChecks).filter(check => check.setup === setup.name)) {
        t.equal(errors, '', `TypeScript, moduleResolution ${name}, skipLibCheck false`)
      }
    })
  }
})
