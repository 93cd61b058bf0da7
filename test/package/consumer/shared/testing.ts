// fastify-model-list/testing: a store author runs the contract on their store.
import { MemoryModelListStore, type WorkStore } from 'fastify-model-list'
import { modelListStoreContract, workStoreContract, type ContractTest, type WorkStoreTarget } from 'fastify-model-list/testing'

declare const t: ContractTest
declare const myStore: (now: () => number) => WorkStore
const target: WorkStoreTarget = { name: 'my store', make: now => myStore(now), forgets: 'clock' }
workStoreContract(t, target)
modelListStoreContract(t, { name: 'memory', make: options => new MemoryModelListStore(options) })
// @ts-expect-error: a target names its suite
workStoreContract(t, { make: now => myStore(now) })
