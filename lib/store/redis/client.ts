/**
 * The Redis client the store takes: an ioredis 5 or 6 `Redis` or `Cluster`
 * (so `app.redis` from @fastify/redis 8 or 9 too). Written out rather than
 * imported so the published types never import ioredis: a memory-only project
 * compiles without it installed, with `skipLibCheck: false`.
 */
export interface RedisClient {
  status: string
  defineCommand(name: string, definition: { lua: string, numberOfKeys?: number, readOnly?: boolean }): void
  duplicate(): unknown
  zcard(key: string): Promise<number>
  disconnect(): void
  quit(): Promise<unknown>
  /** Needed only for waitForReplicas (a state change and its WAIT share a round trip). */
  pipeline?(): unknown
}
