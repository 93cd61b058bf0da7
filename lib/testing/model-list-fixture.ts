import { randomUUID } from 'node:crypto'
import type { ModelEntry, ModelListRequest } from '../schemas'
import type { ModelListStore } from '../kinds/model-list-store'
import { Expect, Labels, type ContractTest } from './expect'
import { Clock, start } from './work-fixture'

// What every test of the ModelListStore suite starts from: a hand-moved clock,
// the target's store configured with it, a fresh runtime, labels.

/** What the suite configures a store with: API.md's store options. */
export interface ModelListStoreOptions {
  now: () => number
  pendingTimeoutMs: number
  runningTimeoutMs: number
  retentionMs: number
}

export interface ModelListStoreTarget {
  /** Names the suite's tests. */
  name: string
  /**
   * A store configured with `options` (its clock and lifecycle durations, as
   * `new MemoryModelListStore(options)` takes them). Each call is a replica
   * when `shared`.
   */
  make(options: ModelListStoreOptions): ModelListStore | Promise<ModelListStore>
  /** How the store forgets: by `now` (the default) or by key expiry on its server's real clock (see WorkStoreTarget). */
  forgets?: 'clock' | 'expiry'
  /** Two `make` calls see one store (replicas of one deployment): the replica tests run. */
  shared?: boolean
}

/** API.md's defaults, given explicitly: the words the suite expects follow from them. */
export const defaults = { pendingTimeoutMs: 30_000, runningTimeoutMs: 60_000, retentionMs: 120_000 }

export const models: ModelEntry[] = [
  {
    id: 'claude-sonnet',
    label: 'Claude Sonnet',
    provider: 'anthropic',
    default: true,
    thinking: { supported_levels: [{ value: 'low', label: 'Low' }, { value: 'high', label: 'High', description: 'Thinks longer' }], default_level: 'low' },
    service_tiers: [{ id: 'priority', name: 'Priority', description: 'Faster' }]
  },
  { id: 'gpt-mini', label: 'GPT mini' }
]

export const iso = (ms: number): string => new Date(ms).toISOString()

/** One test's world. */
export class ListBench {
  readonly clock = new Clock()
  readonly labels = new Labels(start)
  readonly e: Expect
  readonly stores: ModelListStore[] = []
  store!: ModelListStore
  rt!: string

  constructor (t: ContractTest, private readonly target: ModelListStoreTarget) {
    this.e = new Expect(t, this.labels)
  }

  /** A store (another replica when shared), closed when the test ends. */
  async make (options: Partial<ModelListStoreOptions> = {}): Promise<ModelListStore> {
    const store = await this.target.make({ ...defaults, now: this.clock.now, ...options })
    this.stores.push(store)
    return store
  }

  runtime (): string {
    return this.labels.runtime(`rt-contract-${randomUUID()}`)
  }

  async create (options?: { coalesce?: boolean }, store = this.store): Promise<ModelListRequest> {
    const created = await store.create(this.rt, options)
    this.labels.request(created.id)
    return created
  }

  async pop (store = this.store): Promise<ModelListRequest | null> {
    const claimed = await store.popPending(this.rt)
    if (claimed !== null) this.labels.request(claimed.id)
    return claimed
  }

  /** A request as the contract says a store answers it. */
  request (created: ModelListRequest, fields: Partial<ModelListRequest> = {}): ModelListRequest {
    return { ...created, ...fields }
  }

  async close (): Promise<void> {
    for (const store of this.stores.splice(0)) await store.close()
  }
}

export type ListCheck = (name: string, body: (b: ListBench) => Promise<void>, options?: Partial<ModelListStoreOptions>) => Promise<void>

export function listChecker (t: ContractTest, target: ModelListStoreTarget): ListCheck {
  return async (name, body, options) => {
    await t.test(name, async (t: ContractTest) => {
      const b = new ListBench(t, target)
      try {
        b.store = await b.make(options)
        b.rt = b.runtime()
        await body(b)
      } finally {
        await b.close()
      }
    })
  }
}
