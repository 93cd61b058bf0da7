import t from 'tap'
import { randomBytes } from 'node:crypto'
import Redis from 'ioredis'
import fastifyModelList from '../lib/index'
import { catalog } from './helpers/contract'
import { hooks, hostApp, routes } from './helpers/apps'
import { connect, deleteKeys, needsRedis, ready, uniquePrefix } from './helpers/redis'

// Managed Redis often denies MULTI/EXEC and confines a user to its key
// pattern. The whole flow must work for such a user.

t.test('an ACL user limited to its prefix and denied MULTI/EXEC runs the whole flow', async t => {
  if (!(await ready(t, needsRedis))) return
  const admin = connect()
  const keyPrefix = uniquePrefix('acl')
  const username = `fml-acl-${process.pid}-${randomBytes(4).toString('hex')}`
  const password = randomBytes(16).toString('hex')
  let user: Redis | undefined
  t.teardown(async () => {
    user?.disconnect()
    await admin.call('ACL', 'DELUSER', username)
    await deleteKeys(admin, keyPrefix)
    admin.disconnect()
  })

  // Exactly the commands docs/redis-keys.md lists for such a user, and no more.
  await admin.call('ACL', 'SETUSER', username, 'reset', 'on', `>${password}`, `~${keyPrefix}*`, `&${keyPrefix}*`,
    '+evalsha', '+eval', '+time', '+zcount', '+zcard', '+hmget', '+hset', '+pexpire', '+incr', '+zadd', '+zrem', '+zrangebyscore',
    '+zremrangebyscore', '+del', '+publish', '+subscribe', '+acl|whoami', '+info')
  user = new Redis({ host: '127.0.0.1', port: 6379, username, password })
  t.equal(await user.call('ACL', 'WHOAMI'), username, 'connected as the ACL user')

  // The ACL bites: no transactions, no keys outside the prefix.
  await t.rejects(user.call('MULTI'), /NOPERM/, 'MULTI is refused')
  await t.rejects(user.call('EXEC'), /NOPERM/, 'EXEC is refused')
  await t.rejects(user.call('WATCH', `${keyPrefix}:x`), /NOPERM/, 'WATCH is refused')
  await t.rejects(user.hset(`not-${keyPrefix}:x`, 'f', '1'), /NOPERM/, 'a key outside the prefix is refused')
  await t.rejects(user.eval("return redis.call('HMGET', KEYS[1], 'f')", 1, `not-${keyPrefix}:x`), /NOPERM|no permissions/i, 'and so is a script touching one')

  const app = await hostApp(async app => {
    await app.register(fastifyModelList, { redis: user, keyPrefix, prefix: '/api', ...hooks })
  })
  t.teardown(() => app.close())

  const rt = `rt-acl-${process.pid}`
  const created = await app.inject(routes.create(rt))
  t.equal(created.statusCode, 200, 'POST')
  const { id } = created.json<{ id: string }>()
  t.equal(created.json().status, 'pending')

  const joined = await app.inject(routes.create(rt))
  t.equal(joined.json().id, id, 'a second POST joins it (coalescing)')

  t.same(await app.claimPendingModelList(rt), { id }, 'the heartbeat claims it')
  t.equal(await app.claimPendingModelList(rt), null, 'and the next heartbeat finds nothing')

  const reported = await app.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))
  t.equal(reported.statusCode, 200, 'the report')
  t.same(reported.json(), { status: 'ok' })

  const polled = await app.inject(routes.get(rt, id))
  t.equal(polled.statusCode, 200, 'GET')
  t.match(polled.json(), { id, status: 'completed', models: catalog })

  const cached = await app.inject(routes.create(rt))
  t.match(cached.json(), { status: 'completed', cached: true, models: catalog }, 'the next POST is answered from the catalog')

  const failed = await app.inject({ ...routes.create(rt), payload: { force: true } })
  const failedId = failed.json<{ id: string }>().id
  t.equal((await app.inject(routes.report(rt, failedId, { status: 'failed', error: 'no models' }))).statusCode, 200, 'a failure report')
  t.match((await app.inject(routes.get(rt, failedId))).json(), { status: 'failed', error: 'no models' })

  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...found)
  } while (cursor !== '0')
  t.ok(keys.length > 0 && keys.every(key => key.startsWith(`${keyPrefix}:{${rt}}:`)), 'every key it wrote is under its prefix')
})
