import type { StaticOf1 } from './typebox1'

// A kind's schemas come from either TypeBox: @sinclair/typebox 0.34 (its
// schemas carry their type in a `static` member) or typebox 1 (marked by
// '~kind', typed by its own Static). Read structurally, so neither package's
// TSchema is required: a CommonJS declaration and an ESM program each see
// their own copy of @sinclair/typebox, and both fit.

/** A TypeBox schema, from @sinclair/typebox 0.34 or typebox 1. */
export type WorkSchema = { static: unknown } | { '~kind': string }

/** The type a TypeBox schema describes, from either package. */
export type SchemaStatic<Schema> = Schema extends { static: unknown }
  ? (Schema & { params: [] })['static']
  : Schema extends { '~kind': string } ? StaticOf1<Schema> : unknown
