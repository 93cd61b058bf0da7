'use strict'
// Type-checks several tsconfig files in one process, loading TypeScript once
// (the pack test's TypeScript 5 checks; each takes seconds with skipLibCheck
// off, most of them TypeScript's own start and lib files). Usage:
//   node check-types.cjs <typescript> '[{ "project": "/abs/tsconfig.json", "outDir": "out"? }]'
// Prints one JSON line: per project its errors as tsc prints them ('' when
// none), and the wall and CPU milliseconds it took. With outDir, the project
// is also emitted there.
const { dirname } = require('node:path')
const ts = require(process.argv[2])
const jobs = JSON.parse(process.argv[3])

const results = jobs.map(({ project, outDir }) => {
  const started = Date.now()
  const cpu = process.cpuUsage()
  const cwd = dirname(project)
  const configHost = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: diagnostic => { throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')) } }
  const parsed = ts.getParsedCommandLineOfConfigFile(project, outDir === undefined ? {} : { noEmit: false, outDir }, configHost)
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, configFileParsingDiagnostics: parsed.errors })
  const diagnostics = [...ts.getPreEmitDiagnostics(program)]
  if (outDir !== undefined) diagnostics.push(...program.emit().diagnostics)
  const errors = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: name => name, getCurrentDirectory: () => cwd, getNewLine: () => '\n' })
  const used = process.cpuUsage(cpu)
  return { errors, ms: Date.now() - started, cpuMs: Math.round((used.user + used.system) / 1000) }
})
console.log(JSON.stringify(results))
