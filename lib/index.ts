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
