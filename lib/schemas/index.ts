export * from './model-list'
export * from './routes'
export { WorkRequest } from './work-request'
