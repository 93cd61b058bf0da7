import Redis from 'ioredis'
import { clusterNodeArgs, startCluster, type RedisClusterHandle } from './cluster'
import { host, startRedisServer, until, type RedisServer } from './redis-server'

// A Redis Cluster whose masters can be killed: three masters, one replica
// each, `cluster-node-timeout` short enough that a replica takes over within
// a couple of seconds. Everything asked of it goes to live nodes only.

export const failoverNodeTimeoutMs = 1_000

export interface FailoverCluster extends RedisClusterHandle {
  /** The port of the master serving `key`'s slot now. */
  masterOf: (key: string) => Promise<number>
  /** The live masters' ports. */
  masterPorts: () => Promise<number[]>
  /** The port of the node a Cluster client named `connectionName` keeps its subscriber on. */
  subscriberPort: (connectionName: string) => Promise<number | undefined>
  /** Drops that client's subscriber connection (ioredis then picks another node at random). */
  moveSubscriber: (connectionName: string) => Promise<void>
  /** SIGKILL: no goodbye, no save. Answers when the process is gone. */
  kill: (port: number) => Promise<void>
  /** Resolves once no slot is served by `port` and every live node says cluster_state:ok. */
  untilTakenOver: (port: number) => Promise<void>
  /** Starts a killed node again: it rejoins as a replica (untilReplicated waits for it to catch up). */
  restart: (port: number) => Promise<void>
  /** Resolves once every master has a replica online and caught up. */
  untilReplicated: () => Promise<void>
}

type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]]

export async function startFailoverCluster (ports: number[]): Promise<FailoverCluster> {
  const cluster = await startCluster(ports, { replicas: 1, nodeTimeoutMs: failoverNodeTimeoutMs })
  const killed = new Set<number>()
  const live = (): RedisServer[] => cluster.servers.filter(server => !killed.has(server.port))

  // One short-lived connection per question: a killed node must not leave a client retrying.
  const ask = async <T> (server: RedisServer, question: (client: Redis) => Promise<T>): Promise<T> => {
    const client = new Redis({ host, port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 })
    client.on('error', () => {})
    try {
      return await question(client)
    } finally {
      client.disconnect()
    }
  }
  const slots = async (): Promise<SlotRange[]> => await ask(live()[0], async client => await client.cluster('SLOTS') as unknown as SlotRange[])

  const masterOf = async (key: string): Promise<number> => {
    const slot = await ask(live()[0], async client => await client.cluster('KEYSLOT', key))
    const range = (await slots()).find(([from, to]) => slot >= from && slot <= to)
    if (range === undefined) throw new Error(`no master serves slot ${slot} of ${key}`)
    return range[2][1]
  }
  const masterPorts = async (): Promise<number[]> => [...new Set((await slots()).map(range => range[2][1]))].sort()

  const findSubscriber = async (connectionName: string): Promise<{ port: number, id: string } | undefined> => {
    for (const server of live()) {
      const list = await ask(server, async client => await client.call('CLIENT', 'LIST', 'TYPE', 'pubsub') as string)
      const line = list.split('\n').find(entry => entry.includes(` name=ioredis-cluster(subscriber):${connectionName} `))
      if (line !== undefined) return { port: server.port, id: /\bid=(\d+)/.exec(line)?.[1] as string }
    }
    return undefined
  }
  const subscriberPort = async (connectionName: string): Promise<number | undefined> => (await findSubscriber(connectionName))?.port
  const moveSubscriber = async (connectionName: string): Promise<void> => {
    const found = await findSubscriber(connectionName)
    if (found === undefined) return
    const server = live().find(node => node.port === found.port) as RedisServer
    await ask(server, async client => await client.call('CLIENT', 'KILL', 'ID', found.id))
  }

  const kill = async (port: number): Promise<void> => {
    const server = cluster.servers.find(node => node.port === port && !killed.has(port))
    if (server === undefined) throw new Error(`no live node on port ${port}`)
    killed.add(port)
    const { child } = server
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
  }

  const untilTakenOver = async (port: number): Promise<void> => {
    await until(`a replica takes over from ${port}`, async () => {
      if ((await slots()).some(range => range[2][1] === port)) return false
      const states = await Promise.all(live().map(async server => await ask(server, async client => await client.cluster('INFO') as string)))
      return states.every(info => /cluster_state:ok/.test(info))
    }, 15_000, 25)
  }

  const untilReplicated = async (): Promise<void> => {
    await until('every master has a replica in sync', async () => {
      const masters = await masterPorts()
      const infos = await Promise.all(masters.map(async port => await ask(live().find(node => node.port === port) as RedisServer,
        async client => await client.info('replication'))))
      return infos.every(info => {
        const offset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1])
        const replica = /slave0:.*state=online,offset=(\d+)/.exec(info)
        return replica !== null && Number(replica[1]) === offset
      })
    }, 20_000, 50)
  }

  const restart = async (port: number): Promise<void> => {
    if (!killed.has(port)) throw new Error(`node ${port} was not killed`)
    const index = cluster.servers.findIndex(node => node.port === port)
    // The same config file: the node knows the cluster and rejoins it, now as a replica.
    cluster.servers[index] = await startRedisServer(port, cluster.dir, clusterNodeArgs(cluster.dir, port, failoverNodeTimeoutMs))
    killed.delete(port)
  }

  return { ...cluster, masterOf, masterPorts, subscriberPort, moveSubscriber, kill, untilTakenOver, restart, untilReplicated }
}
