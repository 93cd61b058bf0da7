import { InvalidOptionError, shown } from '../../errors'
import { modelListKind } from '../../rules'

// The Redis key layout, in one place. Every key of a runtime carries the hash
// tag {runtimeId}, so a Cluster spreads runtimes over its masters and no script
// spans two slots. Each kind of work, the model list included, has its own
// keys under the runtime's tag, named with the kind:
//
//   <prefix>:{<runtimeId>}:<kind>:queue            sorted set of pending requests, scored
//                                                   by deadline; members '<sequence>:<requestId>'
//   <prefix>:{<runtimeId>}:<kind>:seq              the sequence that keeps equal deadlines in order (and
//                                                   is the creation order the catalog compares)
//   <prefix>:{<runtimeId>}:<kind>:running          sorted set of claimed request ids, scored by deadline
//   <prefix>:{<runtimeId>}:<kind>:req:<requestId>  hash: s status, c created, u updated, d deadline,
//                                                   r result, e error, m queue member, p params,
//                                                   v layout (see lua/lifecycle.lua)
//   <prefix>:{<runtimeId>}:model_list:catalog      the model list's catalog: hash r the last
//                                                   catalog (result JSON), t when stored, o the
//                                                   creation order (sequence) of the request it
//                                                   came from (alone after a drop); expires
//                                                   serveWindowMs after it was stored
//
// The sequence expires once no request it numbered can still be reported (the
// kind's retentionMs, or its pending plus running timeouts if longer) after
// the last one; each other key, the kind's `retentionMs` after its last change.
// Channels (classic pub/sub, published from inside the scripts, each heard by
// one subscriber connection per store; the client's own keyPrefix leads both):
//   <prefix>:settled   '<runtimeId> <requestId>' when a report is accepted (wakes held polls);
//                      when its result (or error) and params together are at most
//                      `carriedBytes`, followed by ' <kind>', a newline and the record,
//                      each field as <name><bytes>:<value> (s c u d, then r or e, p):
//                      the polls it wakes answer it without a read (./reply.ts readSettled)
//   <prefix>:queued    '<runtimeId> <kind>' when a request is queued (the wake-up hint),
//                      '<runtimeId> <kind> back' when a claim is handed back (claimable
//                      again: replicas forget the runtime was idle; no hint)
//   <prefix>:canary:<replica>  a replica's own canary, published by it once a second on
//                      every master, proving its signal path live (./canary.ts)

export const defaultKeyPrefix = 'model-list'

/**
 * The most bytes of result, error and params a settled signal carries (every
 * master of a Cluster forwards every message to every node): a larger
 * record's polls read it.
 */
export const carriedBytes = 16 * 1024

export interface KindKeys {
  queue: string
  seq: string
  running: string
  /** Record keys are this followed by the request id; scripts take it as a key of its own. */
  records: string
}

export function runtimeKey (keyPrefix: string, runtimeId: string): string {
  return `${keyPrefix}:{${runtimeId}}`
}

export function kindKeys (keyPrefix: string, runtimeId: string, kind: string): KindKeys {
  const base = `${runtimeKey(keyPrefix, runtimeId)}:${kind}`
  return { queue: `${base}:queue`, seq: `${base}:seq`, running: `${base}:running`, records: `${base}:req:` }
}

export function catalogKey (keyPrefix: string, runtimeId: string): string {
  return `${runtimeKey(keyPrefix, runtimeId)}:${modelListKind}:catalog`
}

export function channels (prefix: string): { settled: string, queued: string } {
  return { settled: `${prefix}:settled`, queued: `${prefix}:queued` }
}

export function canaryChannel (prefix: string, replica: string): string {
  return `${prefix}:canary:${replica}`
}

// A brace would move the hash tag off the runtime id.
export function checkKeyPrefix (keyPrefix: unknown): string {
  if (typeof keyPrefix !== 'string' || keyPrefix === '' || /[{}]/.test(keyPrefix)) {
    throw new InvalidOptionError(`keyPrefix must be a non-empty string without '{' or '}', got ${shown(keyPrefix)}`)
  }
  return keyPrefix
}
