'use strict'
// After tsc: ship the Lua scripts beside the compiled store, ESM entries whose
// named exports are read off the CommonJS build (so the two cannot drift, and
// a class is one class whichever way it is loaded), and ES module declarations.
const { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs')
const { dirname, join, relative } = require('node:path')

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
// The client helpers import nothing, so their ESM build is a real one (a
// browser loads it as is): tsconfig.client-esm.json compiled it on its own.
renameSync(join(root, 'dist', 'client-esm', 'client.js'), join(root, 'dist', 'client.mjs'))
rmSync(join(root, 'dist', 'client-esm'), { recursive: true, force: true })

// fastify-model-list/testing: the work store contract suite, for store authors.
// It imports no test framework, so the main entry never pulls one in.
const testing = join(root, 'dist', 'testing')
const testingNames = Object.keys(require(join(testing, 'index.js'))).filter(name => name !== '__esModule')
writeFileSync(join(testing, 'index.mjs'), [
  "import cjs from './index.js'",
  `export const { ${testingNames.join(', ')} } = cjs`,
  ''
].join('\n'))

// Declarations written by hand (tsc reads them, but copies none to dist/).
const lib = join(root, 'lib')
for (const name of readdirSync(lib, { recursive: true, encoding: 'utf8' })) {
  if (name.endsWith('.d.ts')) copyFileSync(join(lib, name), join(root, 'dist', name))
}

// ES module declarations: every .d.ts again as a .d.mts whose relative imports
// name .mjs files, so an ESM program reads the whole package as ESM and its
// imports (TypeBox above all) resolve to the same ESM types as the user's own
// code. The texts are tsc's: the sources use ES module syntax only, so the
// CommonJS and ESM passes emit the same declarations.
const dist = join(root, 'dist')
const specifier = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g
const bare = /^(node:|(@[\w.-]+\/)?[\w.-]+$)/

function esmSpecifier (file, spec) {
  if (!spec.startsWith('.')) {
    // A deep path (TypeBox's build/cjs/...) would drag CommonJS types back in.
    if (!bare.test(spec)) throw new Error(`${relative(root, file)} imports ${spec}: only package names can be read the same from ESM`)
    return spec
  }
  const target = join(dirname(file), spec)
  if (existsSync(`${target}.d.ts`)) return `${spec}.mjs`
  if (existsSync(join(target, 'index.d.ts'))) return `${spec}/index.mjs`
  throw new Error(`${relative(root, file)} imports ${spec}, which has no declaration`)
}

for (const name of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
  if (!name.endsWith('.d.ts')) continue
  const file = join(dist, name)
  const text = readFileSync(file, 'utf8').replace(specifier, (_match, head, quote, spec) => `${head}${quote}${esmSpecifier(file, spec)}${quote}`)
  writeFileSync(file.replace(/\.d\.ts$/, '.d.mts'), text)
}
