import { randomUUID } from 'node:crypto'
import t from 'tap'
import type Redis from 'ioredis'
import type { Cluster } from 'ioredis'
import { RedisModelListStore } from '../lib/store/redis'
import { Engine } from '../lib/store/features'
import { modelListKind } from '../lib/rules'
import { redisBackend } from './helpers/backends'
import { Clock } from './helpers/clock'
import { needsCluster, startCluster } from './helpers/cluster'
import { eventually, pickerContract, sameSlotRuntime } from './helpers/picker-contract'
import { ready, uniquePrefix } from './helpers/redis'
import { kindsSuite } from './helpers/kinds'
import { countCommands } from './helpers/count-commands'

// The store contract, unchanged, on a three-master Redis Cluster started for
// this file on 127.0.0.1:7001-7003 (and thrown away at the end), plus the
// layout promise: runtimes spread over the masters, one runtime in one slot.

t.test('Redis Cluster (3 masters on 127.0.0.1:7001-7003)', async t => {
  if (!(await ready(t, needsCluster))) return
  const cluster = await startCluster()
  const clients: Cluster[] = []
  const connect = (): Cluster => {
    const client = cluster.connect()
    clients.push(client)
    return client
  }
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    await cluster.stop()
  })

  // The store contract runs on the Cluster in test/contract.test.ts.

  // The catalog cache, held-poll wake-ups and hints: classic pub/sub reaches
  // every replica whichever master owns the runtime's slot.
  const picker = redisBackend('redis-cluster', () => connect() as unknown as Redis, async () => ({ skip: false }))
  const closeStores = picker.teardown
  picker.teardown = async () => {
    await closeStores().catch(() => {})
    await cluster.deleteKeys(`fml-redis-cluster-${process.pid}-`)
  }
  pickerContract(t, picker)

  // The exported contract suites run on a Cluster in test/contract.test.ts.

  // Other kinds through the plugin: two replicas, a client each.
  const kindsPrefix = uniquePrefix('cluster-kinds')
  const latest: Cluster[] = []
  kindsSuite(t, {
    name: 'redis-cluster',
    setup: async () => ({ skip: false }),
    options: (replica, clock) => ({ redis: latest[replica] = connect(), keyPrefix: kindsPrefix, now: clock.now }),
    count: replica => countCommands(latest[replica] as unknown as { sendCommand: (...args: any[]) => unknown }),
    teardown: async () => {
      await cluster.deleteKeys(`${kindsPrefix}:`)
    }
  })

  t.test('hints flaky on a Cluster (onPendingWork heard [] for a queued runtime): the barrier hint comes from the same master, never ahead', async t => {
    // The picker contract's barrier: a hint for a runtime of its own, sent after
    // rt's, heard only once rt's was. A marker on another master can overtake it.
    const client = connect()
    const keyPrefix = uniquePrefix('cluster-hint-order')
    const store = new RedisModelListStore({ redis: client, keyPrefix })
    t.teardown(() => store.close())
    const engine = new Engine(store.workStore)
    const heard: string[] = []
    engine.onQueued((runtimeId, kind) => { if (kind === modelListKind) heard.push(runtimeId) })
    await engine.listening()
    let overtaken = 0
    const rounds = 200
    for (let i = 0; i < rounds; i++) {
      const rt = `rt-${randomUUID()}`
      const marker = sameSlotRuntime(rt)
      if (i < 10) t.equal(await client.cluster('KEYSLOT', marker), await client.cluster('KEYSLOT', rt), 'the marker is in rt\'s slot')
      heard.length = 0
      await store.create(rt)
      await store.create(marker)
      await eventually('the marker', () => heard.includes(marker))
      if (heard.indexOf(rt) === -1 || heard.indexOf(rt) > heard.indexOf(marker)) overtaken++
    }
    t.equal(overtaken, 0, `rt's hint heard before the marker in all ${rounds} rounds`)
    await cluster.deleteKeys(`${keyPrefix}:`)
  })

  t.test('keys of 30 runtimes land on all three masters; each runtime keeps to one slot', async t => {
    const client = connect()
    const keyPrefix = uniquePrefix('cluster-layout')
    const clock = new Clock()
    const store = new RedisModelListStore({ redis: client, keyPrefix, now: clock.now })
    const runtimes = Array.from({ length: 30 }, (_, i) => `runtime-${i}`)
    for (const rt of runtimes) {
      const first = await store.create(rt)
      await store.create(rt)
      await store.create(rt)
      t.equal((await store.popPending(rt))?.id, first.id)
      t.equal((await store.complete(rt, first.id, { models: [], supported: true }))?.status, 'completed')
    }

    const masters = await cluster.masters()
    t.equal(masters.size, 3, 'three masters')
    // Where each key really is: SCAN every master.
    const nodeOf = new Map<string, string>()
    for (const [address, node] of masters) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000)
        cursor = next
        for (const key of keys) {
          t.notOk(nodeOf.has(key), `${key} is on one node only`)
          nodeOf.set(key, address)
        }
      } while (cursor !== '0')
    }
    // 30 runtimes x (queue + sequence + 3 records + the catalog, which keeps
    // the order of the request that dropped it)
    t.equal(nodeOf.size, runtimes.length * 6, 'every key found')

    const any = [...masters.values()][0]
    const keysPerNode = new Map<string, number>([...masters.keys()].map(address => [address, 0]))
    const runtimesPerNode = new Map<string, number>([...masters.keys()].map(address => [address, 0]))
    for (const rt of runtimes) {
      const keys = [...nodeOf.keys()].filter(key => key.startsWith(`${keyPrefix}:{${rt}}:`))
      t.equal(keys.length, 6, `${rt}: queue, sequence, three records and the catalog`)
      const slots = new Set(await Promise.all(keys.map(async key => await any.cluster('KEYSLOT', key) as number)))
      const tagSlot = await any.cluster('KEYSLOT', rt) as number
      t.same([...slots], [tagSlot], `${rt}: every key in the slot of its hash tag`)
      const nodes = new Set(keys.map(key => nodeOf.get(key) as string))
      t.equal(nodes.size, 1, `${rt}: every key on one master`)
      const [address] = nodes
      // The owning master lists exactly these keys in that slot (other tests' keys filtered out).
      const inSlot = await (masters.get(address) as Redis).cluster('GETKEYSINSLOT', tagSlot, 1000) as string[]
      t.same(inSlot.filter(key => key.startsWith(`${keyPrefix}:{${rt}}:`)).sort(), keys.sort(), `${rt}: the slot's owner holds them`)
      keysPerNode.set(address, (keysPerNode.get(address) as number) + keys.length)
      runtimesPerNode.set(address, (runtimesPerNode.get(address) as number) + 1)
    }
    for (const [address, count] of keysPerNode) t.ok(count > 0, `${address} holds keys (${count})`)
    t.comment(`master          runtimes  keys\n${[...keysPerNode].map(([address, keys]) =>
      `${address.padEnd(16)}${String(runtimesPerNode.get(address)).padStart(8)}${String(keys).padStart(6)}`).join('\n')}`)
    await cluster.deleteKeys(`${keyPrefix}:`)
  })

  t.test('given no now, each master stamps by its own clock inside the script', async t => {
    const client = connect()
    const keyPrefix = uniquePrefix('cluster-clock')
    const store = new RedisModelListStore({ redis: client, keyPrefix })
    for (let i = 0; i < 12; i++) {
      const rt = `runtime-${i}`
      const before = Date.now() - 1_000
      const created = await store.create(rt)
      const createdAt = Date.parse(created.created_at)
      t.ok(createdAt >= before && createdAt <= Date.now() + 1_000, `${rt}: stamped by a master's clock (this host's, give or take)`)
      const record = `${keyPrefix}:{${rt}}:model_list:req:${created.id}`
      t.equal(Number(await client.hget(record, 'd')), createdAt + 30_000, `${rt}: deadline from that stamp`)
      t.equal(await store.hasPending(rt), true)
      const claimed = await store.popPending(rt)
      t.ok(Date.parse(claimed?.updated_at as string) >= createdAt, `${rt}: updated_at does not precede created_at`)
      t.equal(Number(await client.hget(record, 'd')), Date.parse(claimed?.updated_at as string) + 60_000)
    }
    await cluster.deleteKeys(`${keyPrefix}:`)
  })
})
