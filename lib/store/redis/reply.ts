import type { RecordChange, WorkRecord, WorkStatus } from '../contract'
import { isLive } from '../../rules'

// A script's answer: field/value pairs, as HGETALL answers (see
// lua/lifecycle.lua). Redis turns an empty table into an empty array;
// ioredis-mock too.
export type Pairs = Array<string | number>

export interface Reply {
  /** The script's own fields (`opened`, `queued`, `now`, ...). */
  fields: Map<string, string>
  /** The records it holds, each begun by `id`. */
  records: WorkRecord[]
  /** The keys of unreadable records it removed, for the caller to log. */
  discarded: string[]
}

const recordFields: Record<string, (record: WorkRecord, value: string) => void> = {
  s: (record, value) => { record.status = value as WorkStatus },
  c: (record, value) => { record.createdAt = Number(value) },
  u: (record, value) => { record.updatedAt = Number(value) },
  d: (record, value) => { record.deadline = Number(value) },
  r: (record, value) => { record.result = value },
  e: (record, value) => { record.error = value },
  p: (record, value) => { record.params = value }
}

/** A script's answer read by field name; its records are of `kind` and `runtimeId`. */
export function readReply (kind: string, runtimeId: string, reply: unknown): Reply {
  const pairs = reply as Pairs
  const fields = new Map<string, string>()
  const records: WorkRecord[] = []
  let record: WorkRecord | undefined
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const field = String(pairs[i])
    const value = String(pairs[i + 1])
    if (field === 'id') {
      records.push(record = { id: value, runtimeId, kind, status: 'pending', createdAt: 0, updatedAt: 0, deadline: 0 })
    } else if (record !== undefined && Object.hasOwn(recordFields, field)) {
      recordFields[field](record, value)
    } else {
      fields.set(field, value)
    }
  }
  const discarded = fields.get('discarded')
  return { fields, records, discarded: discarded === undefined ? [] : discarded.split('\n') }
}

/** What a script says it changed (see `told` in lua/lifecycle.lua, and settle's answer), or undefined when nothing. */
export function changeOf (fields: Map<string, string>): RecordChange | undefined {
  const timedOut = fields.get('timedOut') as RecordChange['timedOut']
  const settled = fields.get('settled')
  if (timedOut === undefined && settled === undefined) return undefined
  const change: RecordChange = {}
  if (timedOut !== undefined) change.timedOut = timedOut
  if (settled !== undefined) change.settled = settled === '1'
  const claimedAt = fields.get('claimedAt')
  if (claimedAt !== undefined) change.claimedAt = Number(claimedAt)
  return change
}

/** A settled signal: the request, and the record when the signal carries it (see ./keys.ts). */
export interface Settled {
  runtimeId: string
  id: string
  record?: WorkRecord
}

const digits = /^\d+$/
// What a carried record must hold to be answered: a settled status and its times.
const carriedNeeds = ['s', 'c', 'u', 'd']

/** A message on the settled channel, or undefined when it cannot be read (never thrown: a subscriber hears anyone). */
export function readSettled (message: string): Settled | undefined {
  const newline = message.indexOf('\n')
  const head = (newline === -1 ? message : message.slice(0, newline)).split(' ')
  const [runtimeId, id, kind] = head
  if (id === undefined) return undefined
  if (newline === -1 || kind === undefined) return { runtimeId, id }
  const record: WorkRecord = { id, runtimeId, kind, status: 'pending', createdAt: 0, updatedAt: 0, deadline: 0 }
  // Lengths are in bytes: the values are read from the bytes, not the string.
  const bytes = Buffer.from(message.slice(newline + 1))
  let at = 0
  let needed = 0
  while (at < bytes.length) {
    const colon = bytes.indexOf(58, at)
    const field = String.fromCharCode(bytes[at])
    const length = bytes.toString('latin1', at + 1, colon)
    if (colon === -1 || !Object.hasOwn(recordFields, field) || !digits.test(length)) return { runtimeId, id }
    const end = colon + 1 + Number(length)
    if (end > bytes.length) return { runtimeId, id }
    recordFields[field](record, bytes.toString('utf8', colon + 1, end))
    if (carriedNeeds.includes(field)) needed++
    at = end
  }
  // Anything short of a whole settled record wakes the polls to read.
  if (needed < carriedNeeds.length || isLive(record.status)) return { runtimeId, id }
  return { runtimeId, id, record }
}
