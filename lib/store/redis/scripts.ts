import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RedisClient } from './client'

// One script per operation, each prefixed with the shared lifecycle chunk; the
// file name says how many keys the script declares (none: one queue per kind
// probed, so the probe is defined once per number of kinds).
// Even the probe's count is a script: only the server knows the server's time.
const files = {
  open: 'open-6',
  get: 'get-1',
  probe: 'probe-n',
  claim: 'claim-3',
  settle: 'settle-4',
  handBack: 'hand-back-3'
} as const
type Operation = keyof typeof files

export type ScriptCall = (...args: Array<string | number>) => Promise<unknown>

/** Each operation's script, a command of the client: one EVALSHA per call. */
export type Scripts = Record<Exclude<Operation, 'probe'>, ScriptCall> & {
  /** The probe of `kinds` queues. */
  probe: (kinds: number) => ScriptCall
  /** The operation's command name on the client (and so on its pipelines). */
  names: Record<Exclude<Operation, 'probe'>, string>
}

const luaDir = join(__dirname, 'lua')
const prelude = readFileSync(join(luaDir, 'lifecycle.lua'), 'utf8')
const commands = (Object.entries(files) as Array<[Operation, string]>).map(([operation, file]) => {
  const lua = `${prelude}\n${readFileSync(join(luaDir, `${file}.lua`), 'utf8')}`
  // The name carries the script's hash: two versions of this package on one
  // client never call each other's scripts.
  const hash = createHash('sha1').update(lua).digest('hex').slice(0, 12)
  return { operation, name: `modelList_${operation}_${hash}`, lua, numberOfKeys: Number(file.split('-').pop()) }
})

/** The script as a command of the client; guarded: a second store on the same client reuses the definition. */
function define (redis: RedisClient, name: string, lua: string, numberOfKeys: number): ScriptCall {
  const client = redis as unknown as Record<string, ScriptCall>
  if (typeof client[name] !== 'function') redis.defineCommand(name, { lua, numberOfKeys })
  return client[name].bind(redis)
}

/** Defines the scripts on `redis` (once per client) and answers them. */
export function defineScripts (redis: RedisClient): Scripts {
  const scripts = {} as Record<Operation, ScriptCall>
  const names = {} as Record<Operation, string>
  for (const { operation, name, lua, numberOfKeys } of commands) {
    scripts[operation] = define(redis, name, lua, Number.isInteger(numberOfKeys) ? numberOfKeys : 1)
    names[operation] = name
  }
  const { name, lua } = commands.find(command => command.operation === 'probe') as typeof commands[number]
  // ioredis-mock cannot take the number of keys per call: one command per number of kinds probed.
  const probes = new Map<number, ScriptCall>([[1, scripts.probe]])
  const probe = (kinds: number): ScriptCall => {
    let call = probes.get(kinds)
    if (call === undefined) probes.set(kinds, call = define(redis, `${name}_${kinds}`, lua, kinds))
    return call
  }
  return { ...scripts, probe, names }
}
