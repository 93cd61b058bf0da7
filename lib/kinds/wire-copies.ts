// A wake-up answers thousands of polls from one record: what every answer
// would parse or format alike is worked out once, and each answer still gets
// objects of its own (a host hook may change its payload).

/** A deep copy of a JSON value as JSON.parse gives it: plain objects, arrays and primitives. */
export function copyJson (value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) copy[i] = copyJson(value[i])
    return copy
  }
  const copy: Record<string, unknown> = {}
  for (const key in value) {
    const item = copyJson((value as Record<string, unknown>)[key])
    // JSON.parse makes `__proto__` an own key; an assignment would set the prototype.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true })
    else copy[key] = item
  }
  return copy
}

/**
 * JSON.parse of a text, the same text as last time answered by a copy of a
 * value kept apart (never handed out), which costs a fraction of parsing it
 * again. A text seen once is parsed as before.
 */
export class LastParsed {
  private text: string | undefined
  private kept: { value: unknown } | undefined

  parse (text: string): unknown {
    if (text !== this.text) {
      this.kept = undefined
      const value: unknown = JSON.parse(text)
      this.text = text
      return value
    }
    this.kept ??= { value: JSON.parse(text) }
    return copyJson(this.kept.value)
  }
}

/** An instant's ISO string, the last one's kept. */
export class LastIso {
  private ms = NaN
  private iso = ''

  format (ms: number): string {
    if (ms !== this.ms) {
      this.iso = new Date(ms).toISOString()
      this.ms = ms
    }
    return this.iso
  }
}
