// `npm test`'s reporter for tap (`tap --reporter=./scripts/tap-summary.js`):
// one line per test file as it ends (with the reasons of its skips), every
// failure in full (the failing assertions' TAP, diagnostics included), tap's
// own messages (coverage errors), and closing lines of counts. The raw TAP of
// every passing assertion is left out; the test files' stderr (warnings
// included) is not ours to filter and reaches the terminal as it is.
'use strict'
const { Transform } = require('node:stream')

const fileIndent = '    '

/** The TAP of one test file: its lines (without the file's indentation) until its result. */
class FileRun {
  constructor (name) {
    this.name = name
    this.lines = []
    this.skips = new Map()
  }

  add (line) {
    const inner = line.startsWith(fileIndent) ? line.slice(fileIndent.length) : line.trimStart()
    this.lines.push(inner)
    const skip = /^\s*ok \d+ - (.*?) # (SKIP|TODO)\b:?\s*(.*)$/.exec(inner)
    if (skip !== null) {
      const reason = `${skip[2] === 'SKIP' ? 'skipped' : 'todo'}: ${skip[3] === '' ? skip[1] : skip[3]}`
      this.skips.set(reason, (this.skips.get(reason) ?? 0) + 1)
    }
  }

  /**
   * Each failing assertion with its diagnostics (the YAML block under it),
   * then the subtests it failed, by name (their YAML repeats the source).
   */
  failures () {
    const shown = []
    for (let i = 0; i < this.lines.length; i++) {
      const failing = /^(\s*)not ok .*?( # time=[\d.]+ms)?$/.exec(this.lines[i])
      if (failing === null) continue
      shown.push(this.lines[i])
      const yaml = `${failing[1]}  ---`
      if (this.lines[i + 1] !== yaml) continue
      const end = `${failing[1]}  ...`
      const subtest = failing[2] !== undefined
      for (i++; i < this.lines.length; i++) {
        if (!subtest) shown.push(this.lines[i])
        if (this.lines[i] === end) break
      }
    }
    return shown
  }
}

function seconds (ms) {
  return ms === undefined ? '' : `  ${(ms / 1000).toFixed(1)} s`
}

class TapSummary extends Transform {
  constructor () {
    super({ decodeStrings: false, encoding: 'utf8' })
    this.partial = ''
    this.file = undefined
    /** The last file's result, while its YAML block (a failed one's) is read. */
    this.ended = undefined
    this.files = { passed: 0, failed: 0, skipped: 0 }
    this.totals = undefined
    this.timeMs = undefined
  }

  _transform (chunk, _encoding, done) {
    const lines = (this.partial + String(chunk)).split('\n')
    this.partial = lines.pop()
    for (const line of lines) this.line(line)
    done()
  }

  _flush (done) {
    if (this.partial !== '') this.line(this.partial)
    const { passed, failed, skipped } = this.files
    const totals = this.totals
    this.say('')
    if (this.timeMs !== undefined) this.say(`time: ${(this.timeMs / 60_000).toFixed(1)} min`)
    this.say(`files: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`)
    this.say(totals === undefined
      ? 'asserts: no totals from tap (the run stopped early)'
      : `asserts: ${totals.pass ?? 0} passed, ${totals.fail ?? 0} failed, ${(totals.skip ?? 0) + (totals.todo ?? 0)} skipped`)
    done()
  }

  say (text) {
    this.push(`${text}\n`)
  }

  line (line) {
    if (this.file !== undefined && (line.startsWith(' ') || line === '')) {
      this.file.add(line)
      return
    }
    if (this.ended !== undefined && line.startsWith('  ')) {
      // A failed file's own YAML (its exit code or signal, a timeout).
      if (/^ {2}(exitCode|signal|expired|timeout|message|reason|error):/.test(line)) this.say(`      ${line.trim()}`)
      return
    }
    this.ended = undefined
    const subtest = /^# Subtest: (.*)$/.exec(line)
    if (subtest !== null) {
      this.file = new FileRun(subtest[1])
      return
    }
    const result = /^(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b:?\s*(.*?))?(?: # time=([\d.]+)ms)?$/.exec(line)
    if (result !== null) {
      this.fileEnded(result)
      return
    }
    const totals = /^# \{ (.*) \}$/.exec(line)
    if (totals !== null) {
      this.totals = Object.fromEntries([...totals[1].matchAll(/(\w+): (\d+)/g)].map(([, key, count]) => [key, Number(count)]))
      return
    }
    const time = /^# time=([\d.]+)ms$/.exec(line)
    if (time !== null) {
      this.timeMs = Number(time[1])
      return
    }
    // tap's own messages (coverage errors, a bail out); the plan and version say nothing.
    if (line !== '' && !/^(TAP version \d+|\d+\.\.\d+)$/.test(line)) this.say(line)
  }

  fileEnded ([, status, ended, directive, reason, time]) {
    // A file tap stopped ends as `not ok 1 - timeout!`: named by what was read.
    const file = this.file ?? new FileRun(ended)
    const name = file.name === ended ? ended : `${file.name} (${ended})`
    this.file = undefined
    if (directive === 'SKIP') {
      this.files.skipped++
      this.say(`skip  ${name}${reason === '' ? '' : `: ${reason}`}`)
      return
    }
    const ok = status === 'ok'
    if (ok) this.files.passed++
    else this.files.failed++
    this.say(`${ok ? '  ok' : 'FAIL'}  ${name}${seconds(time === undefined ? undefined : Number(time))}`)
    for (const [skip, count] of file.skips) this.say(`        ${count} ${skip}`)
    if (!ok) {
      for (const failure of file.failures()) this.say(`      ${failure}`)
      this.ended = file
    }
  }
}

// tap imports a reporter and takes its default export: a CommonJS module's is module.exports.
module.exports = TapSummary
