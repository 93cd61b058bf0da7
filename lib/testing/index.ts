// fastify-model-list/testing: the contract suites the built-in stores pass,
// for authors of their own store. They take any tap-like test object and
// import no test framework.
export type { ContractTest } from './expect'
export { workStoreContract } from './work-store'
export type { WorkStoreTarget } from './work-fixture'
