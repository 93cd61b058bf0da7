import { modelListKind } from '../lifecycle'

// The Redis key layout, in one place. Every key of a runtime carries the hash
// tag {runtimeId}, so a Cluster spreads runtimes over its masters and no script
// spans two slots. Each kind of work has its own keys under the runtime's tag,
// named with the kind; the model list (the first kind) keeps the names it had
// before there were other kinds, so records written then read the same.
//
//   <prefix>:{<runtimeId>}:<kind>:queue            sorted set of pending requests, scored
//                                                   by deadline; members '<sequence>:<requestId>'
//   <prefix>:{<runtimeId>}:<kind>:seq              the sequence that keeps equal deadlines in order
//   <prefix>:{<runtimeId>}:<kind>:running          sorted set of claimed request ids, scored by deadline
//   <prefix>:{<runtimeId>}:<kind>:req:<requestId>  hash: s status, c created, u updated, d deadline,
//                                                   r result, e error, m queue member, p params,
//                                                   v layout (see lua/lifecycle.lua)
//   <prefix>:{<runtimeId>}:catalog                 the model list's catalog: hash r the last
//                                                   catalog (result JSON), t when stored;
//                                                   expires serveWindowMs after it was stored
// where ':<kind>' is left out for the model list ('<prefix>:{rt}:queue', '<prefix>:{rt}:req:<id>').
// Each other key expires the kind's `retentionMs` after its last change.
// Channels (classic pub/sub, published from inside the scripts, each heard by
// one subscriber connection per store; the client's own keyPrefix leads both):
//   <prefix>:settled   '<runtimeId> <requestId>' when a report is accepted (wakes held polls)
//   <prefix>:queued    '<runtimeId> <kind>' when a request is queued (the wake-up hint)

/** A kind name that would make one kind's key another's ('<prefix>:{rt}:req:queue'). */
export const reservedKindNames: readonly string[] = ['req']

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
  const base = kind === modelListKind ? runtimeKey(keyPrefix, runtimeId) : `${runtimeKey(keyPrefix, runtimeId)}:${kind}`
  return { queue: `${base}:queue`, seq: `${base}:seq`, running: `${base}:running`, records: `${base}:req:` }
}

export function catalogKey (keyPrefix: string, runtimeId: string): string {
  return `${runtimeKey(keyPrefix, runtimeId)}:catalog`
}

export function channels (prefix: string): { settled: string, queued: string } {
  return { settled: `${prefix}:settled`, queued: `${prefix}:queued` }
}
