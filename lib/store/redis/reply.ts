import type { RecordChange, WorkRecord, WorkStatus } from '../contract'

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
