// `npm test`'s reporter (scripts/tap-summary.js): a line per file, skip
// reasons, every failure in full, tap's own messages, and closing counts.
import t from 'tap'
import type { Transform } from 'node:stream'

// What tap loads for `--reporter=./scripts/tap-summary.js` (its default export).
const TapSummary = require('../scripts/tap-summary.js') as new () => Transform

async function report (tap: string, chunkSize = 7): Promise<string> {
  const summary = new TapSummary()
  let out = ''
  summary.on('data', (chunk: string) => { out += chunk })
  const ended = new Promise(resolve => summary.on('end', resolve))
  // In pieces that cut lines, as a pipe delivers them.
  for (let i = 0; i < tap.length; i += chunkSize) summary.write(tap.slice(i, i + chunkSize))
  summary.end()
  await ended
  return out
}

const passing = `TAP version 14
1..3
# Subtest: test/a.test.ts
    # Subtest: works
        ok 1 - fine
        1..1
    ok 1 - works # time=3.2ms
    ok 2 - on Redis # SKIP Redis is not running on 127.0.0.1:6379
    ok 3 - on the Cluster # SKIP Redis is not running on 127.0.0.1:6379
    ok 4 - later # TODO
    1..4
ok 1 - test/a.test.ts # time=1234.5ms

# Subtest: test/b.test.ts
    1..0 # no tests
ok 2 - test/b.test.ts # SKIP no tests found
`

const failing = `# Subtest: test/c.test.ts
    # Subtest: a group
        # Subtest: inner
            not ok 1 - one is two
              ---
              diff: |
                -2
                +1
              ...
            ok 2 - fine
            1..2
        not ok 1 - inner # time=5ms
          ---
          source: |
            repeated source
          ...
        1..1
    not ok 1 - a group # time=6ms
    1..1
not ok 3 - test/c.test.ts # time=2000ms
  ---
  args:
    - a long list
  exitCode: 1
  signal: null
  ...

# ERROR: incomplete lines coverage (99.5%)
# { total: 5, pass: 2, fail: 1, skip: 2 }
# time=90000ms
`

t.test('a passing run: a line per file, its skips by reason, closing counts', async t => {
  const out = await report(passing + '# { total: 4, pass: 1, skip: 2, todo: 1 }\n# time=61000ms\n')
  t.equal(out, [
    '  ok  test/a.test.ts  1.2 s',
    '        2 skipped: Redis is not running on 127.0.0.1:6379',
    '        1 todo: later',
    'skip  test/b.test.ts: no tests found',
    '',
    'time: 1.0 min',
    'files: 1 passed, 0 failed, 1 skipped',
    'asserts: 1 passed, 0 failed, 3 skipped',
    ''
  ].join('\n'))
})

t.test('a failing run: the failing assertion in full, the subtests by name, the file\'s exit, tap\'s messages', async t => {
  const out = await report(passing + failing, 5)
  t.match(out, [
    'FAIL  test/c.test.ts  2.0 s',
    '              not ok 1 - one is two',
    '                ---',
    '                diff: |',
    '                  -2',
    '                  +1',
    '                ...',
    '          not ok 1 - inner # time=5ms',
    '      not ok 1 - a group # time=6ms',
    '      exitCode: 1',
    '      signal: null',
    '# ERROR: incomplete lines coverage (99.5%)',
    '',
    'time: 1.5 min',
    'files: 1 passed, 1 failed, 1 skipped',
    'asserts: 2 passed, 1 failed, 2 skipped',
    ''
  ].join('\n'))
  t.notMatch(out, /repeated source|a long list|ok 1 - fine/, 'no passing assertions, no repeated YAML')
  t.notMatch(out, /TAP version|^1\.\.3$/m)
})

t.test('a file tap stopped (a timeout) is named by what was read; a run that stopped early says so', async t => {
  const out = await report(`# Subtest: test/slow.test.ts
    # Subtest: waits
        not ok 1 - timeout!
          ---
          expired: TAP
          ...
        1..1
    not ok 1 - waits # time=30000ms
not ok 1 - timeout!
  ---
  expired: test/slow.test.ts
  ...
`)
  t.match(out, /^FAIL {2}test\/slow\.test\.ts \(timeout!\)$/m)
  t.match(out, /^ {6}expired: test\/slow\.test\.ts$/m)
  t.match(out, /^ {10}not ok 1 - timeout!\n {10} {2}---\n {10} {2}expired: TAP/m)
  t.match(out, /asserts: no totals from tap \(the run stopped early\)\n$/)
})
