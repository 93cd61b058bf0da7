import { WorkRules, type RulesOptions } from '../../rules'
import type { CatalogCacheOptions } from '../../catalog'
import { ModelListOnWorkStore } from '../../kinds/model-list-store'
import { MemoryWorkStore } from './work-store'

export interface MemoryModelListStoreOptions extends RulesOptions {
  /** The clock every timeout and the catalog's age are measured with. */
  now?: () => number
  /** The catalog cache's windows, or false for none. */
  catalogCache?: CatalogCacheOptions | false
}

/** One process's store: the model list over an in-memory work store. */
export class MemoryModelListStore extends ModelListOnWorkStore {
  constructor (options: MemoryModelListStoreOptions = {}) {
    const { now, catalogCache, ...rules } = options
    // Checked first: a mistake throws before a sweeper starts.
    const checked = new WorkRules(rules)
    super(new MemoryWorkStore({ now, catalogCache }), checked)
  }
}

export { MemoryWorkStore }
