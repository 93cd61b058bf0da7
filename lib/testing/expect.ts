// The suites' assertions. Each names the rule it checks and, when it fails,
// the values found and wanted, with ids labelled by creation order ("req 2",
// "rt 1") and times relative to the suite's clock ("t0+1000"), so a failure
// reads as the rule broken rather than two UUIDs.

/** What the suites need of a test object; tap's `t` (or one like it) fits. */
export interface ContractTest {
  // `any`: a framework's own test type (tap's) is handed in; the suite reads it as a ContractTest.
  test(name: string, fn: (t: any) => Promise<void>): unknown
  ok(value: unknown, ...message: [] | [string]): unknown
}

/** Names ids by the order the suite made them, and times by the clock's start. */
export class Labels {
  private readonly names = new Map<string, string>()
  private requests = 0
  private runtimes = 0

  constructor (private readonly origin: number) {}

  /** Labels a request id the store answered (its first sighting fixes its number); answers the id. */
  request (id: string): string {
    if (typeof id === 'string' && !this.names.has(id)) this.names.set(id, `req ${++this.requests}`)
    return id
  }

  /** Labels a runtime id; answers the id. */
  runtime (id: string): string {
    if (!this.names.has(id)) this.names.set(id, `rt ${++this.runtimes}`)
    return id
  }

  /** A value as a failure message shows it. */
  show (value: unknown): string {
    if (typeof value === 'string') return this.names.get(value) ?? JSON.stringify(value)
    if (typeof value === 'number' && Math.abs(value - this.origin) < 1e11) {
      const offset = value - this.origin
      return offset === 0 ? 't0' : `t0${offset > 0 ? '+' : ''}${offset}`
    }
    if (Array.isArray(value)) return `[${value.map(item => this.show(item)).join(', ')}]`
    if (value instanceof Error) return `${value.name}: ${value.message}`
    if (typeof value === 'object' && value !== null) {
      const fields = Object.entries(value).filter(([, field]) => field !== undefined)
      return `{ ${fields.map(([key, field]) => `${key}: ${this.show(field)}`).join(', ')} }`
    }
    return String(value)
  }
}

/**
 * Deep equality of JSON-like values; a property set to undefined counts as
 * absent. A record's `change` (what one call did, for the diagnostics) is not
 * part of the record: the suites check it on its own.
 */
export function equal (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => equal(item, b[i]))
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  const defined = (o: object): string[] => Object.keys(o).filter(key => key !== 'change' && (o as Record<string, unknown>)[key] !== undefined).sort()
  const keys = defined(a)
  return equal(keys, defined(b)) && keys.every(key => equal((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

/** The ids of what a store answered (records, or ids already). */
function idsOf (found: ReadonlyArray<{ id: string } | string | null | undefined>): unknown[] {
  return found.map(item => typeof item === 'object' && item !== null ? item.id : item)
}

/** Assertions that name their rule; one per test, over its labels. */
export class Expect {
  constructor (private readonly t: ContractTest, readonly labels: Labels) {}

  /** `found` deep-equals `wanted`. */
  same (rule: string, found: unknown, wanted: unknown): boolean {
    const pass = equal(found, wanted)
    this.t.ok(pass, pass ? rule : `${rule}: expected ${this.labels.show(wanted)} got ${this.labels.show(found)}`)
    return pass
  }

  /** The ids found are exactly `wanted`, in order. */
  ids (rule: string, found: ReadonlyArray<{ id: string } | string | null | undefined>, wanted: readonly string[]): boolean {
    return this.same(rule, idsOf(found), wanted)
  }

  /** `found` is not `unwanted`. */
  not (rule: string, found: unknown, unwanted: unknown): boolean {
    const pass = !equal(found, unwanted)
    this.t.ok(pass, pass ? rule : `${rule}: got ${this.labels.show(found)}, which it must not be`)
    return pass
  }

  /** `pass` holds; `found` is what the message shows when it does not. */
  that (rule: string, pass: boolean, found?: unknown): boolean {
    this.t.ok(pass, pass ? rule : `${rule}: got ${this.labels.show(found)}`)
    return pass
  }

  /** Calling `fn` throws or answers a rejected promise. */
  async rejects (rule: string, fn: () => unknown): Promise<boolean> {
    let answered: unknown
    try {
      answered = await fn()
    } catch {
      return this.that(rule, true)
    }
    return this.that(rule, false, answered === undefined ? 'no error' : answered)
  }
}
