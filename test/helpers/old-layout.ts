import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type Redis from 'ioredis'

// A replica still running the version before record layouts were versioned
// (its scripts are kept as they shipped in test/fixtures/layout-0), driven as
// that version's store drove them, so a test can run it beside this one on one
// Redis the way a rolling deploy does.

const dir = join(__dirname, '..', 'fixtures', 'layout-0')
const prelude = readFileSync(join(dir, 'lifecycle.lua'), 'utf8')
const files = { create: 'create-3', get: 'get-1', popPending: 'pop-pending-1', settle: 'settle-2' } as const

export interface OldRecord { id: string, status: string, result?: string, error?: string }

type Call = (...args: Array<string | number>) => Promise<unknown>

function parse (reply: unknown): OldRecord | null {
  if (!Array.isArray(reply)) return null
  const [id, status, , , , result, error] = reply as Array<string | null | false>
  const record: OldRecord = { id: id as string, status: status as string }
  if (typeof result === 'string') record.result = result
  if (typeof error === 'string') record.error = error
  return record
}

export function oldLayoutReplica (redis: Redis, keyPrefix: string, pendingTimeoutMs = 30_000, runningTimeoutMs = 60_000, retentionMs = 120_000) {
  const client = redis as unknown as Record<string, Call>
  const call = {} as Record<keyof typeof files, Call>
  for (const [operation, file] of Object.entries(files) as Array<[keyof typeof files, string]>) {
    const name = `modelListLayout0_${operation}`
    if (typeof client[name] !== 'function') {
      redis.defineCommand(name, { lua: `${prelude}\n${readFileSync(join(dir, `${file}.lua`), 'utf8')}`, numberOfKeys: Number(file.split('-').pop()) })
    }
    call[operation] = client[name].bind(redis)
  }
  const runtime = (rt: string): string => `${keyPrefix}:{${rt}}`
  const common = (now: number): Array<string | number> => [now, retentionMs, 'daemon did not respond within 30 seconds', 'daemon did not finish within 60 seconds']
  return {
    async create (rt: string, id: string, coalesce = false): Promise<OldRecord | null> {
      const now = Date.now()
      return parse(await call.create(`${runtime(rt)}:queue`, `${runtime(rt)}:seq`, `${runtime(rt)}:req:${id}`, ...common(now), id, now + pendingTimeoutMs, coalesce ? '1' : '0'))
    },
    async get (rt: string, id: string): Promise<OldRecord | null> {
      return parse(await call.get(`${runtime(rt)}:req:${id}`, ...common(Date.now()), id))
    },
    async hasPending (rt: string): Promise<boolean> {
      return await redis.zcount(`${runtime(rt)}:queue`, Date.now(), '+inf') > 0
    },
    async popPending (rt: string): Promise<OldRecord | null> {
      const now = Date.now()
      return parse(await call.popPending(`${runtime(rt)}:queue`, ...common(now), now + runningTimeoutMs))
    },
    async settle (rt: string, id: string, status: 'completed' | 'failed', payload: string): Promise<OldRecord | null> {
      return parse(await call.settle(`${runtime(rt)}:req:${id}`, `${runtime(rt)}:queue`, ...common(Date.now()), id, status, payload))
    }
  }
}
