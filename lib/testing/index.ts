// fastify-model-list/testing: the contract suites the built-in stores pass,
// for authors of their own store: `workStoreContract` for a WorkStore (what
// the plugin calls), `modelListStoreContract` for a ModelListStore object.
// They take any tap-like test object and import no test framework.
export type { ContractTest } from './expect'
export { workStoreContract } from './work-store'
export type { WorkStoreTarget } from './work-fixture'
export { modelListStoreContract } from './model-list-store'
export type { ModelListStoreOptions, ModelListStoreTarget } from './model-list-fixture'
