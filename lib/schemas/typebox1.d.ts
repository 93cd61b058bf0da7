// Written by hand and copied to dist/ as it is (tsc would drop the comment
// below): typebox 1 is an optional peer, ESM only. Where it is not installed,
// this import is ignored and a typebox 1 schema's type reads as `any` (there
// are none to read then).
// @ts-ignore: typebox 1 may not be installed.
import type { Static } from 'typebox' with { 'resolution-mode': 'import' }

/** typebox 1's own Static, read from the package the user installed. */
export type StaticOf1<Schema extends object> = Static<Schema>
