// TypeScript with the ioredis and @fastify/redis this folder installed (5 and 8, or 6 and 9).
import Fastify from 'fastify'
import fastifyRedis from '@fastify/redis'
import { Redis, Cluster } from 'ioredis'
import fastifyModelList, { RedisModelListStore } from 'fastify-model-list'

const hooks = { getRuntime: () => ({ online: true }), authorizeDaemon: () => true }
const app = Fastify()
await app.register(fastifyRedis, { host: '127.0.0.1' })
await app.register(fastifyModelList, (app) => ({ ...hooks, redis: app.redis }))
await app.register(fastifyModelList, { ...hooks, redis: new Redis({ lazyConnect: true }) })
await app.register(fastifyModelList, { ...hooks, store: new RedisModelListStore({ redis: new Cluster([{ host: '127.0.0.1', port: 7001 }], { lazyConnect: true }) }) })
// @ts-expect-error: the redis option is a client, not a URL
await app.register(fastifyModelList, { ...hooks, redis: 'redis://127.0.0.1:6379' })
