import type { TSchema } from '@sinclair/typebox'

type Schema = Record<string, unknown>

// One copy per schema object: Ajv keeps what it compiled, so the same schema
// must not come back as a new object at every registration.
const copies = new WeakMap<object, Schema>()

// Route schemas documented one way and checked another: OpenAPI 3.0 has no
// `if`, so what a documentation tool reads says it in words, and Ajv checks this.
const checkedInstead = new WeakMap<object, TSchema>()

/** `documented`, which a route declares and tools read; Ajv checks `checked` in its place. */
export function checkedAs<Documented extends TSchema> (documented: Documented, checked: TSchema): Documented {
  checkedInstead.set(documented, checked)
  return documented
}

/**
 * The schema as Ajv should check it: a TypeBox union of literals
 * (`anyOf: [{ const }, ...]`) becomes `enum`, so a wrong value gets one error
 * listing the allowed values instead of one "must be equal to constant" per
 * branch. The exported TypeBox schema is left as it is.
 */
export function ajvSchema (schema: TSchema): Schema {
  return convert(checkedInstead.get(schema) ?? schema) as Schema
}

function convert (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(convert)
  if (value === null || typeof value !== 'object') return value
  const known = copies.get(value)
  if (known !== undefined) return known
  const copy: Schema = {}
  for (const [key, inner] of Object.entries(value)) copy[key] = convert(inner)
  const literals = literalUnion(copy.anyOf)
  if (literals !== undefined) {
    delete copy.anyOf
    copy.enum = literals
  }
  copies.set(value, copy)
  return copy
}

function literalUnion (anyOf: unknown): unknown[] | undefined {
  if (!Array.isArray(anyOf)) return undefined
  const branches = anyOf as Schema[]
  return branches.every(branch => 'const' in branch) ? branches.map(branch => branch.const) : undefined
}
