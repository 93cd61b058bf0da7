import { randomUUID } from 'node:crypto'
import { idPattern } from './schemas'
import { InvalidIdError } from './errors'

const idRegExp = new RegExp(idPattern)

export function isId (value: unknown): value is string {
  return typeof value === 'string' && idRegExp.test(value)
}

// Runtime ids become Redis hash tags and key parts: refuse anything else
// before a backend sees it.
export function checkId (name: string, value: unknown): void {
  if (!isId(value)) throw new InvalidIdError(name)
}

// 122 random bits, URL-safe.
export const newId: () => string = randomUUID
