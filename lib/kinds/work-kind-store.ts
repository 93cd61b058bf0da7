import { checkId } from '../ids'
import type { WorkRequest } from '../schemas'
import type { WorkRecord } from '../store/contract'
import type { DaemonWork, PendingWorkItem, WorkParams, WorkResult } from './declare'
import type { Face } from './face'
import { pendingItems } from './work-kind'

type Request<Kind> = WorkRequest<WorkParams<Kind>, WorkResult<Kind>>

/** A declared kind's store, typed by its schemas: for work a host queues itself (`app.daemonWorkStore(kind)`). */
export interface WorkKindStore<Kind extends DaemonWork = DaemonWork> {
  /** Queues a request (joining an equal pending one when the kind coalesces); an exclusive kind in flight throws a 409. */
  create(runtimeId: string, params: WorkParams<Kind>): Promise<Request<Kind>>
  get(runtimeId: string, requestId: string): Promise<Request<Kind> | null>
  /** Moves up to `claimBatch` of the runtime's oldest claimable requests to running: what the heartbeat hands the daemon. */
  claim(runtimeId: string): Promise<Array<PendingWorkItem<Kind>>>
  complete(runtimeId: string, requestId: string, result: WorkResult<Kind>): Promise<Request<Kind> | null>
  fail(runtimeId: string, requestId: string, error: string): Promise<Request<Kind> | null>
}

function checkIds (runtimeId: string, requestId: string): void {
  checkId('runtimeId', runtimeId)
  checkId('requestId', requestId)
}

/** The typed store of a declared kind over its face: ids checked, then the face. */
export function workKindStore<Kind extends DaemonWork> (face: Face<WorkRequest>): WorkKindStore<Kind> {
  const wire = (record: WorkRecord | null): Request<Kind> | null => record === null ? null : face.kind.toWire(record) as Request<Kind>
  return {
    async create (runtimeId, params) {
      checkId('runtimeId', runtimeId)
      return (await face.open(runtimeId, face.kind.openRequest(params))).answer as Request<Kind>
    },
    async get (runtimeId, requestId) {
      checkIds(runtimeId, requestId)
      return wire(await face.get(runtimeId, requestId))
    },
    async claim (runtimeId) {
      checkId('runtimeId', runtimeId)
      return pendingItems(await face.claim(runtimeId)) as Array<PendingWorkItem<Kind>>
    },
    async complete (runtimeId, requestId, result) {
      checkIds(runtimeId, requestId)
      return wire(await face.settle(runtimeId, requestId, { status: 'completed', result: JSON.stringify(result) }, 'keep'))
    },
    async fail (runtimeId, requestId, error) {
      checkIds(runtimeId, requestId)
      return wire(await face.settle(runtimeId, requestId, { status: 'failed', error: String(error) }, 'keep'))
    }
  }
}
