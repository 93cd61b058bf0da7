import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

// The README's quick start compiles as written, against the built package
// (`npm test` builds first), as an ESM TypeScript file under nodenext.
const run = promisify(execFile)
const root = join(__dirname, '..')

function codeAfter (readme: string, heading: string): string {
  const section = readme.slice(readme.indexOf(`\n${heading}\n`))
  const match = /```ts\n([\s\S]*?)```/.exec(section)
  if (match === null) throw new Error(`no ts block after ${heading}`)
  return match[1]
}

t.test('the quick start compiles as written', async t => {
  const code = codeAfter(readFileSync(join(root, 'README.md'), 'utf8'), '## Quick start')
  t.match(code, /claimPendingModelList/, 'it is the quick start')
  // Inside the package folder, so `fastify-model-list` resolves to itself.
  const dir = mkdtempSync(join(root, '.readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'quickstart.mts'), code)
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const errors = await run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', join(dir, 'quickstart.mts')], { cwd: root })
    .then(() => '', (error: { stdout: string }) => error.stdout)
  t.equal(errors, '', 'no type errors')
})
