import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

// These read the built package (dist/), as its users do: `npm test` builds first.
const run = promisify(execFile)
const root = join(__dirname, '..')
const publicNames = [
  'default', 'fastifyModelList', 'MemoryModelListStore', 'RedisModelListStore',
  'ThinkingLevel', 'ModelThinking', 'ModelServiceTier', 'ModelEntry', 'ModelListStatus',
  'ModelListRequest', 'ModelListReport', 'PendingModelList', 'daemonWork', 'WorkRequest'
].sort()

t.test('require() gets the plugin and every named export', async t => {
  const { stdout } = await run(process.execPath, ['-e', `
    const m = require('fastify-model-list')
    console.log(JSON.stringify({ names: Object.keys(m).sort(), same: m.default === m.fastifyModelList,
      name: m.fastifyModelList[Symbol.for('fastify.display-name')], schema: m.ModelEntry.type }))
  `], { cwd: root })
  t.same(JSON.parse(stdout), { names: publicNames, same: true, name: 'fastify-model-list', schema: 'object' })
})

t.test('import gets the plugin as default and every named export', async t => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `
    import plugin, * as m from 'fastify-model-list'
    console.log(JSON.stringify({ names: Object.keys(m).sort(), same: plugin === m.fastifyModelList,
      name: plugin[Symbol.for('fastify.display-name')] }))
  `], { cwd: root })
  t.same(JSON.parse(stdout), { names: publicNames, same: true, name: 'fastify-model-list' })
})

t.test('TypeScript consumers type-check under nodenext, as ESM and as CommonJS', async t => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const fixtures = ['consumer.mts', 'consumer.cts'].map(file => join(__dirname, 'fixtures', file))
  const { stdout } = await run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', ...fixtures], { cwd: root }).catch(error => error)
  t.equal(stdout, '', 'no type errors')
})

t.test('fastify-model-list/client loads with nothing installed beside it (no server code)', async t => {
  const { cpSync, mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  // A folder with no node_modules above it: any import of Fastify, TypeBox or
  // our server files would fail to resolve.
  const alone = mkdtempSync(join(tmpdir(), 'fml-client-'))
  t.teardown(() => rmSync(alone, { recursive: true, force: true }))
  for (const file of ['client.js', 'client.mjs']) cpSync(join(root, 'dist', file), join(alone, file))
  const names = ['ModelListError', 'listModels', 'reportModelList']
  const esm = await run(process.execPath, ['--input-type=module', '-e', "import * as c from './client.mjs'; console.log(JSON.stringify(Object.keys(c).sort()))"], { cwd: alone })
  t.same(JSON.parse(esm.stdout), names, 'import')
  const cjs = await run(process.execPath, ['-e', "console.log(JSON.stringify(Object.keys(require('./client.js')).filter(k => k !== '__esModule').sort()))"], { cwd: alone })
  t.same(JSON.parse(cjs.stdout), names, 'require')
})

t.test('the client entry resolves through the package exports, ESM and CommonJS', async t => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `
    import { listModels, ModelListError } from 'fastify-model-list/client'
    import { createRequire } from 'node:module'
    const cjs = createRequire(process.cwd() + '/')('fastify-model-list/client')
    console.log(JSON.stringify({ esm: typeof listModels, cjs: typeof cjs.reportModelList, error: new ModelListError('x').name }))
  `], { cwd: root })
  t.same(JSON.parse(stdout), { esm: 'function', cjs: 'function', error: 'ModelListError' })
})

t.test('fastify-model-list/testing: the work store contract, from require and import; no test framework loaded', async t => {
  const { stdout } = await run(process.execPath, ['-e', `
    const main = require('fastify-model-list')
    const loaded = () => Object.keys(require.cache).some(file => /node_modules[\\\\/](tap|@tapjs)[\\\\/]/.test(file))
    const mainLoadsTap = loaded()
    const testing = require('fastify-model-list/testing')
    console.log(JSON.stringify({ mainLoadsTap, testingLoadsTap: loaded(), names: Object.keys(testing).sort(), daemonWork: typeof main.daemonWork }))
  `], { cwd: root })
  t.same(JSON.parse(stdout), { mainLoadsTap: false, testingLoadsTap: false, names: ['modelListStoreContract', 'workStoreContract'], daemonWork: 'function' })
  const esm = await run(process.execPath, ['--input-type=module', '-e', `
    import { workStoreContract } from 'fastify-model-list/testing'
    console.log(typeof workStoreContract)
  `], { cwd: root })
  t.equal(esm.stdout.trim(), 'function')
})

// Found by the pack test: the store's protected backend brought `import ... from
// 'ioredis'` back into dist/stores/redis.d.ts, breaking memory-only TypeScript users.
t.test('regression: no published declaration imports ioredis (memory-only users have none)', async t => {
  const { readdirSync, readFileSync } = await import('node:fs')
  const declarations = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' })
    .filter(file => file.endsWith('.d.ts') || file.endsWith('.d.mts'))
  t.ok(declarations.length > 10, `${declarations.length} declaration files`)
  const importing = declarations.filter(file => /from 'ioredis'|import\('ioredis'\)|require\('ioredis'\)/.test(readFileSync(join(root, 'dist', file), 'utf8')))
  t.same(importing, [])
})
