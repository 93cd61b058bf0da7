import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

// The README as a newcomer reads it: every TypeScript snippet compiles as
// written, against the built package (`npm test` builds first), as ESM files
// under nodenext; its commands name real scripts and files; its links land; it
// stays short enough to read.
const run = promisify(execFile)
const root = join(__dirname, '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const maxLines = 450

interface Snippet { language: string, code: string, line: number, declares: string[] }

// A snippet that uses names it does not define says so in a comment above it,
// `<!-- readme-test: app getRuntime -->`, and gets these declarations.
const declarations: Record<string, string> = {
  app: "declare const app: import('fastify').FastifyInstance",
  getRuntime: "declare const getRuntime: (request: import('fastify').FastifyRequest, runtimeId: string) => Promise<{ online: boolean } | null>",
  authorizeDaemon: "declare const authorizeDaemon: (request: import('fastify').FastifyRequest, runtimeId: string) => Promise<boolean>",
  sockets: 'declare const sockets: Map<string, { send (message: string): void }>',
  heartbeatAnswer: 'declare const heartbeatAnswer: { pending_model_list: { id: string } }',
  models: "declare const models: import('fastify-model-list/client').ClientModelEntry[]",
  runtimeId: 'declare const runtimeId: string',
  token: 'declare const token: string',
  signal: 'declare const signal: AbortSignal'
}

function snippets (text: string): Snippet[] {
  const found: Snippet[] = []
  for (const match of text.matchAll(/(?:<!-- readme-test: ([^>]*?) -->\n)?```(\w*)\n([\s\S]*?)```/g)) {
    const line = text.slice(0, match.index).split('\n').length + (match[1] === undefined ? 0 : 1)
    found.push({ language: match[2], code: match[3], line, declares: match[1]?.split(/\s+/) ?? [] })
  }
  return found
}

const all = snippets(readme)

t.test(`the README stays under ${maxLines} lines`, async t => {
  const lines = readme.split('\n').length
  t.ok(lines <= maxLines, `${lines} lines`)
})

t.test('every TypeScript snippet compiles as written', async t => {
  const ts = all.filter(snippet => snippet.language === 'ts')
  t.ok(ts.length >= 6, `${ts.length} snippets`)
  t.match(ts[0].code, /claimPendingModelList/, 'the first is the quick start')
  // Inside the package folder, so `fastify-model-list` resolves to itself.
  const dir = mkdtempSync(join(root, '.readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const files = ts.map((snippet, i) => {
    for (const name of snippet.declares) t.ok(declarations[name], `line ${snippet.line}: a declaration for ${name}`)
    const file = join(dir, `snippet-${i}-line-${snippet.line}.mts`)
    writeFileSync(file, [...snippet.declares.map(name => declarations[name]), snippet.code, 'export {}'].join('\n'))
    return file
  })
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const errors = await run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', ...files], { cwd: root })
    .then(() => '', (error: { stdout: string }) => error.stdout)
  // Issue 18: while dist/index.d.mts re-exports the CommonJS declarations, an ESM
  // project sees two TypeBoxes (TS2741 '[Kind]'); real ESM declarations end it,
  // and this test then holds every snippet to no error at all.
  const reexportsCommonJs = /export \* from '\.\/index\.js'/.test(readFileSync(join(root, 'dist', 'index.d.mts'), 'utf8'))
  const dualTypeBox = (line: string): boolean => /error TS2741: Property '\[Kind\]' is missing/.test(line)
  const lines = errors.split('\n').filter(line => /error TS/.test(line))
  const left = reexportsCommonJs ? lines.filter(line => !dualTypeBox(line)) : lines
  if (left.length < lines.length) t.comment(`${lines.length - left.length} TS2741 '[Kind]' errors left to the ESM declarations of issue 18`)
  t.same(left, [], 'no type errors (file names carry the snippet\'s line in README.md)')
})

t.test('every JSON snippet parses', async t => {
  for (const snippet of all.filter(snippet => snippet.language === 'json')) {
    t.doesNotThrow(() => JSON.parse(snippet.code), `line ${snippet.line}`)
  }
})

t.test('its commands name real scripts and files', async t => {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const shell = all.filter(snippet => snippet.language === 'sh').map(snippet => snippet.code).join('\n')
  t.match(shell, /npm install && npm run demo/, 'the demo, from a fresh clone')
  t.match(shell, /npm install && npm test/, 'the tests, from a fresh clone (CI runs the same npm test)')
  t.match(readFileSync(join(root, '.ci', 'run'), 'utf8'), /^npm test$/m)
  for (const [, script] of `${shell}\n${readme}`.matchAll(/npm run ([\w:-]+)/g)) t.ok(scripts[script], `npm run ${script}`)
  t.ok(scripts.test, 'npm test')
  for (const [, file] of readme.matchAll(/`((?:examples|test|docs|scripts)\/[\w./-]+\.\w+)`/g)) t.ok(existsSync(join(root, file)), file)
})

t.test('its links land', async t => {
  const anchors = new Set([...readme.matchAll(/^#+ (.*)$/gm)].map(([, heading]) =>
    heading.toLowerCase().replace(/[^\w\s-]/g, '').replace(/\s/g, '-')))
  for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^https?:/.test(target)) continue
    const [path, anchor] = target.split('#')
    if (path === '') t.ok(anchors.has(anchor), `#${anchor}`)
    else t.ok(existsSync(join(root, path)), path)
  }
})
