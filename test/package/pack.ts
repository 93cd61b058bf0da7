import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { needsRedis } from '../helpers/redis'

// A newcomer's first five minutes, from the packed tarball: `npm pack`, then
// install it into empty folders beside the versions people run, and use it
// from an ESM project and a CommonJS one, in JavaScript and in TypeScript
// (node16, nodenext, bundler; TypeScript 5 and 7; skipLibCheck off).
// Each folder is installed once and holds both projects (esm/ with
// "type": "module", cjs/ with "type": "commonjs") over one node_modules.
// Peers come from npm's cache (`npm ci` filled it), so this stays fast.
// Run by `npm run test:pack` (and .ci/run), not by `npm test`.

const run = promisify(execFile)
const root = join(__dirname, '..', '..')
const consumer = join(__dirname, 'consumer')
const typescript5 = join(root, 'node_modules', 'typescript')
// TypeScript 7's native compiler, run directly: its bin is an ES module that
// the loader tap puts in every child process cannot load.
const platformPackage = `@typescript/typescript-${process.platform}-${process.arch}/package.json`
const tsc7 = join(dirname(require.resolve(platformPackage, { paths: [join(root, 'node_modules', 'typescript7')] })), 'lib', process.platform === 'win32' ? 'tsc.exe' : 'tsc')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

type Project = 'esm' | 'cjs'
type Resolution = 'node16' | 'nodenext' | 'bundler'
type Compiler = 'TypeScript 5' | 'TypeScript 7'

interface Setup {
  name: string
  /** What the consumer installs beside the tarball (fastify comes as its peer). */
  packages: string[]
  redis: boolean
  /** Declares kinds with both TypeBox packages (installed here), compiles and runs them. */
  kinds: boolean
  /** Which compilers and module settings check its TypeScript. */
  compilers: Compiler[]
  resolutions: Resolution[]
}

const setups: Setup[] = [
  {
    name: 'ioredis 6 + @fastify/redis 9, both TypeBox packages',
    packages: ['ioredis@6', '@fastify/redis@9', '@sinclair/typebox@0.34', 'typebox@1'],
    redis: true,
    kinds: true,
    compilers: ['TypeScript 5', 'TypeScript 7'],
    resolutions: ['node16', 'nodenext', 'bundler']
  },
  // The other two check what differs in them (ioredis's types, none at all)
  // on one setting, with the fast compiler.
  { name: 'ioredis 5 + @fastify/redis 8', packages: ['ioredis@5', '@fastify/redis@8'], redis: true, kinds: false, compilers: ['TypeScript 7'], resolutions: ['nodenext'] },
  { name: 'memory only, no ioredis', packages: [], redis: false, kinds: false, compilers: ['TypeScript 7'], resolutions: ['nodenext'] }
]

const moduleOptions: Record<Resolution, { module: string, moduleResolution: string }> = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' }
}

/** The TypeScript files each project compiles. */
function filesOf (setup: Setup, project: Project, resolution: Resolution): string[] {
  const files = ['types.ts', 'testing.ts']
  // A CommonJS file beside the ESM ones: one program reads both declaration sets.
  if (project === 'esm' && resolution !== 'bundler') files.push('legacy.cts')
  if (project === 'esm' && setup.redis) files.push('redis-types.ts')
  if (setup.kinds) files.push('sinclair.ts')
  // typebox 1 is ESM only: a CommonJS file can import it under nodenext
  // (require of ESM) and bundler, not under node16 (docs/typescript.md).
  if (setup.kinds && !(project === 'cjs' && resolution === 'node16')) files.push('typebox.ts', 'app.ts')
  return files
}

const client = ['function', 'function', 'ModelListError']
const expectedFlow = { created: 'pending', claimed: true, report: 200, status: 'completed', models: [{ id: 'm1', label: 'Model one' }] }
const expectedKinds = {
  claimed: ['search'],
  cliClaimed: true,
  reports: [200, 200, 400, 200],
  skill: { status: 'completed', params: { skill: 'search' }, result: { imported: true, files: ['SKILL.md'] } },
  cli: { status: 'completed', result: { version: '2.0.0' } },
  limit: 5,
  refused: 400,
  list: { status: 'completed', params: { limit: 5 }, result: { skills: [{ name: 'search', kind: 'local' }] } },
  files: ['SKILL.md']
}

const work = mkdtempSync(join(tmpdir(), 'fml-pack-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const started = Date.now()
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`

async function npmIn (cwd: string, args: string[]): Promise<{ stdout: string, stderr: string }> {
  return await run(npm, args, { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: 'warn' } })
}

async function node (cwd: string, file: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, [file], { cwd })
  return JSON.parse(stdout)
}

interface Check { setup: string, project: Project, resolution: Resolution, compiler: Compiler, errors: string, ms: number, cpuMs?: number }

/** Lays out one installed folder's two projects and their tsconfig files; answers the checks to run. */
function layOut (setup: Setup, dir: string): Array<Omit<Check, 'errors' | 'ms' | 'cpuMs'> & { config: string }> {
  const jobs = []
  for (const project of ['esm', 'cjs'] as const) {
    const projectDir = join(dir, project)
    cpSync(join(consumer, project), projectDir, { recursive: true })
    cpSync(join(consumer, 'shared'), projectDir, { recursive: true })
    for (const resolution of setup.resolutions) {
      const config = join(projectDir, `tsconfig.${resolution}.json`)
      writeFileSync(config, JSON.stringify({
        // Every package's declarations are checked; TypeScript's own lib files
        // (half the lines, and nothing of ours in them) are not.
        compilerOptions: { ...moduleOptions[resolution], target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true, types: ['node'] },
        files: filesOf(setup, project, resolution)
      }, null, 2))
      for (const compiler of setup.compilers) jobs.push({ setup: setup.name, project, resolution, compiler, config })
    }
  }
  return jobs
}

t.test('the packed tarball', async t => {
  const packing = Date.now()
  const { stdout } = await npmIn(root, ['pack', '--json', '--pack-destination', work])
  const [packed] = JSON.parse(stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  const tarball = join(work, packed.filename)
  const paths = packed.files.map(file => file.path)
  t.comment(`npm pack: ${seconds(packing)}`)

  t.test('holds the built files, README, LICENSE and package.json only', async t => {
    const stray = paths.filter(path => !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(path))
    t.same(stray, [], 'nothing else is published')
    for (const path of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/client.js', 'dist/client.mjs', 'dist/client.d.ts', 'dist/client.d.mts', 'dist/testing/index.d.mts', 'dist/schemas/typebox1.d.ts', 'dist/schemas/typebox1.d.mts', 'README.md', 'LICENSE']) {
      t.ok(paths.includes(path), path)
    }
  })

  const { skip: noRedis } = await needsRedis()

  // Installs run side by side (npm waits on its cache and the network).
  const installing = Date.now()
  const installed = await Promise.all(setups.map(async setup => {
    const dir = join(work, setup.name.replace(/\W+/g, '-'))
    mkdirSync(dir)
    for (const file of ['esm.mjs', 'cjs.cjs', 'flow.mjs', 'redis.mjs']) cpSync(join(consumer, file), join(dir, file))
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    const install = await npmIn(dir, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, '@types/node@20', ...setup.packages])
    return { setup, dir, install, jobs: layOut(setup, dir) }
  }))
  t.comment(`npm install, ${setups.length} folders side by side: ${seconds(installing)}`)

  // TypeScript 5 checks its configs in a loop in one process per project
  // (loaded once; all emit nothing, except nodenext, whose output the kinds
  // test runs); TypeScript 7 (native) runs one config at a time beside them:
  // three processes keep two cores busy.
  const checking = Date.now()
  const jobs = installed.flatMap(({ jobs }) => jobs)
  const seven = jobs.filter(job => job.compiler === 'TypeScript 7')
  const fiveDone = Promise.all((['esm', 'cjs'] as const).map(async project => {
    const five = jobs.filter(job => job.compiler === 'TypeScript 5' && job.project === project)
    const loop = five.map(job => ({ project: job.config, outDir: job.resolution === 'nodenext' ? join(job.config, '..', 'out') : undefined }))
    const { stdout } = await run(process.execPath, [join(__dirname, 'check-types.cjs'), typescript5, JSON.stringify(loop)], { maxBuffer: 16 * 1024 * 1024 })
    return (JSON.parse(stdout) as Array<{ errors: string, ms: number, cpuMs: number }>).map((result, index) => ({ ...five[index], ...result }))
  })).then(results => results.flat())
  const sevenDone = (async () => {
    const checks: Check[] = []
    for (const job of seven) {
      const start = Date.now()
      const cwd = join(job.config, '..')
      const errors = await run(tsc7, ['-p', job.config, '--pretty', 'false'], { cwd })
        .then(() => '', (error: { stdout: string, message: string }) => error.stdout || error.message)
      checks.push({ ...job, errors, ms: Date.now() - start })
    }
    return checks
  })()
  const checks: Check[] = [...await fiveDone, ...await sevenDone]
  t.comment(`type checks, ${jobs.length - seven.length} on TypeScript 5 and ${seven.length} on TypeScript 7: ${seconds(checking)}`)
  for (const compiler of ['TypeScript 5', 'TypeScript 7']) {
    const times = checks.filter(check => check.compiler === compiler).map(check => `${(check.ms / 1000).toFixed(1)}${check.cpuMs === undefined ? '' : ` (${(check.cpuMs / 1000).toFixed(1)} CPU)`}`)
    if (times.length > 0) t.comment(`  ${compiler}, seconds per config: ${times.join(', ')}`)
  }

  for (const { setup, dir, install } of installed) {
    await t.test(setup.name, async t => {
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
      for (const check of checks.filter(check => check.setup === setup.name)) {
        t.equal(check.errors, '', `${check.compiler}, ${check.project === 'esm' ? 'ESM' : 'CommonJS'} project, ${check.resolution}, skipLibCheck false`)
      }
      if (setup.kinds) {
        for (const project of ['esm', 'cjs'] as const) {
          t.same(await node(join(dir, project), join('out', 'app.js')), expectedKinds, `declared kinds, compiled by TypeScript 5 (nodenext) and run as ${project === 'esm' ? 'ESM' : 'CommonJS'}`)
        }
      }
    })
  }
  t.comment(`the whole pack test: ${seconds(started)}`)
})
