// The Redis store on the ioredis and @fastify/redis this folder installed,
// against the Redis on 127.0.0.1:6379, under a key prefix of its own.
import Fastify from 'fastify'
import fastifyRedis from '@fastify/redis'
import fastifyModelList, { RedisModelListStore } from 'fastify-model-list'
import { flow } from './flow.mjs'

const keyPrefix = `fml-pack-${process.pid}-${Date.now()}`
const app = Fastify()
await app.register(fastifyRedis, { host: '127.0.0.1', port: 6379 })
await app.register(fastifyModelList, (parent) => ({
  prefix: '/api', keyPrefix, redis: parent.redis, getRuntime: () => ({ online: true }), authorizeDaemon: () => true
}))
await app.ready()
const result = { store: app.modelListStore instanceof RedisModelListStore, flow: await flow(app) }
const keys = await app.redis.keys(`${keyPrefix}:*`)
if (keys.length > 0) await app.redis.del(...keys)
await app.close()
console.log(JSON.stringify(result))
