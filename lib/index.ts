import { fastifyModelList } from './plugin'

export { fastifyModelList }
export default fastifyModelList
export type { FastifyModelListOptions, RuntimeInfo } from './options'
export type { ModelListStore } from './kinds/model-list-store'
export type { ModelListResult } from './kinds/model-list'
export { MemoryModelListStore, type MemoryModelListStoreOptions } from './store/memory'
export { RedisModelListStore, type RedisModelListStoreOptions, type WaitForReplicas } from './store/redis'
export type { RedisClient } from './store/redis/client'
export {
  ThinkingLevel,
  ModelThinking,
  ModelServiceTier,
  ModelEntry,
  ModelListStatus,
  ModelListRequest,
  ModelListReport,
  PendingModelList,
  WorkRequest
} from './schemas'
export { daemonWork, type DaemonWork, type DaemonWorkOptions, type PendingWork, type PendingWorkItem, type WorkParams, type WorkResult } from './kinds/declare'
export type { WorkKindStore } from './kinds/work-kind-store'
export type { ClaimPendingModelList, ClaimPendingWork } from './heartbeat'
export type { WorkStore, OpenRequest, OpenedWork, CachedResult, WorkRecord, RecordChange, WorkStatus, Outcome, CatalogAction, QueuedListener } from './store/contract'
export type { LifecycleEvent, LifecycleMessage, StoreCallContext, HeartbeatMessage } from './diagnostics'
export type { WorkRules, RulesOptions } from './rules'
export type { CatalogCacheOptions } from './catalog'
