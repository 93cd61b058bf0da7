// Coverage measures the library, whichever test runs it: examples, fixtures and
// helpers are not what it is about.
import { readdirSync } from 'node:fs'

const library = readdirSync('lib', { recursive: true })
  .filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts'))
  .map(file => `lib/${file}`)

export default () => library
