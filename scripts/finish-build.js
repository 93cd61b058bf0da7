'use strict'
// After tsc: ship the Lua scripts beside the compiled store, and an ESM entry
// whose named exports are read off the CommonJS build, so the two cannot drift.
const { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')
const luaFrom = join(root, 'lib', 'store', 'redis', 'lua')
const luaTo = join(root, 'dist', 'store', 'redis', 'lua')
mkdirSync(luaTo, { recursive: true })
for (const file of readdirSync(luaFrom)) {
  if (file.endsWith('.lua')) copyFileSync(join(luaFrom, file), join(luaTo, file))
}

const names = Object.keys(require(join(root, 'dist', 'index.js'))).filter(name => name !== 'default' && name !== '__esModule')
writeFileSync(join(root, 'dist', 'index.mjs'), [
  "import cjs from './index.js'",
  'export default cjs.default',
  `export const { ${names.join(', ')} } = cjs`,
  ''
].join('\n'))
// Declarations written by hand (tsc reads them, but copies none to dist/).
const lib = join(root, 'lib')
for (const name of readdirSync(lib, { recursive: true, encoding: 'utf8' })) {
  if (name.endsWith('.d.ts')) copyFileSync(join(lib, name), join(root, 'dist', name))
}

// TypeScript resolves the "import" condition here. A named import of the
// CommonJS entry reads the same under node16, nodenext and bundler, where a
// default import would mean module.exports in the first two and
// exports.default in the last.
writeFileSync(join(root, 'dist', 'index.d.mts'), [
  "import { fastifyModelList } from './index.js'",
  "export * from './index.js'",
  'export default fastifyModelList',
  ''
].join('\n'))

// The client helpers import nothing, so their ESM build is a real one (a
// browser loads it as is): tsconfig.client-esm.json compiled it on its own.
renameSync(join(root, 'dist', 'client-esm', 'client.js'), join(root, 'dist', 'client.mjs'))
rmSync(join(root, 'dist', 'client-esm'), { recursive: true, force: true })
copyFileSync(join(root, 'dist', 'client.d.ts'), join(root, 'dist', 'client.d.mts'))

// fastify-model-list/testing: the work store contract suite, for store authors.
// It imports no test framework, so the main entry never pulls one in.
const testing = join(root, 'dist', 'testing')
const testingNames = Object.keys(require(join(testing, 'index.js'))).filter(name => name !== '__esModule')
writeFileSync(join(testing, 'index.mjs'), [
  "import cjs from './index.js'",
  `export const { ${testingNames.join(', ')} } = cjs`,
  ''
].join('\n'))
writeFileSync(join(testing, 'index.d.mts'), [
  "export * from './index.js'",
  ''
].join('\n'))
