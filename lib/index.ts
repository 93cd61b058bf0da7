import { fastifyModelList } from './plugin'

export { fastifyModelList }
export default fastifyModelList
export type { FastifyModelListOptions, RuntimeInfo } from './options'
export type { ModelListStore, ModelListResult } from './store'
export { MemoryModelListStore, type MemoryModelListStoreOptions } from './stores/memory'
export { RedisModelListStore, type RedisModelListStoreOptions } from './stores/redis'
export {
  ThinkingLevel,
  ModelThinking,
  ModelServiceTier,
  ModelEntry,
  ModelListStatus,
  ModelListRequest,
  ModelListReport,
  PendingModelList
} from './schemas'
export { daemonWork, type DaemonWork, type DaemonWorkOptions, type PendingWork, type PendingWorkItem, type WorkParams, type WorkResult } from './work/declare'
export { WorkRequest } from './work/request'
export type { WorkKindStore } from './work/kind-store'
export type { ClaimPendingWork } from './work/heartbeat'
export type { WorkStore, WorkRules, OpenRequest, OpenedWork, CachedResult } from './store'
export type { WorkRecord, WorkStatus, Outcome } from './lifecycle'
export type { CatalogAction } from './catalog'
