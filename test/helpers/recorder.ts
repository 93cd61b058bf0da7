import type { ContractTest } from '../../lib/testing/index'

// The exported contract suites run against a test object that only records
// failures: how the mutant tests show a suite fails on a broken store.

/** A tap-like test object that collects failures instead of reporting them. */
export class Recorder implements ContractTest {
  constructor (private readonly path: string, readonly failures: string[], private readonly running: Array<Promise<void>>) {}

  async test (name: string, fn: (t: Recorder) => Promise<void>): Promise<void> {
    const child = new Recorder(this.path === '' ? name : `${this.path} > ${name}`, this.failures, this.running)
    const done = fn(child).catch((error: unknown) => { this.failures.push(`${child.path}: threw ${String(error)}`) })
    this.running.push(done)
    await done
  }

  ok (value: unknown, message = '(no message)'): void {
    if (value !== true) this.failures.push(`${this.path}: ${message}`)
  }
}

/** The failures a suite run through the recorder met. */
export async function failuresOf (run: (t: ContractTest) => void): Promise<string[]> {
  const failures: string[] = []
  const running: Array<Promise<void>> = []
  run(new Recorder('', failures, running))
  while (running.length > 0) await running.shift()
  return failures
}
