import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import Redis, { Cluster } from 'ioredis'
import { host, makeTempDir, needsRedisBinaries, portIsFree, removeDir, startRedisServer, until, type RedisServer } from './redis-server'

const run = promisify(execFile)

// FML_CLUSTER_PORT_BASE moves the three masters (and their bus ports, +10000),
// so two checkouts can run their suites side by side.
const clusterPortBase = Number(process.env.FML_CLUSTER_PORT_BASE ?? 7001)
export const clusterPorts = [clusterPortBase, clusterPortBase + 1, clusterPortBase + 2]
/** Ports of a cluster of its own for a test file that may run beside another (tap runs files in parallel). */
export const clusterPortsAt = (offset: number): number[] => clusterPorts.map(port => port + offset)

/**
 * The tap `skip` option for the cluster test: redis-server and redis-cli must
 * be installed; outside CI a missing one skips with the reason, under CI=true
 * it fails (as needsRedis does for the shared server).
 */
export function needsCluster (): { skip: string | false } {
  return needsRedisBinaries(['redis-server', 'redis-cli'])
}

export interface RedisClusterHandle {
  ports: number[]
  dir: string
  servers: RedisServer[]
  /** A new ioredis Cluster client; the caller disconnects it. */
  connect: () => Cluster
  /** One plain client per master, keyed by "host:port" (closed by stop). */
  masters: () => Promise<Map<string, Redis>>
  /** Deletes every key under `prefix` on every master (cluster-aware: SCAN runs per node). */
  deleteKeys: (prefix: string) => Promise<void>
  /** Stops the servers and removes the temp dir; safe after a partial start. */
  stop: () => Promise<void>
}

export interface ClusterShape {
  /** Replicas per master: the first ports.length / (1 + replicas) ports become the masters. */
  replicas?: number
  /** `cluster-node-timeout`: how long a node is unreachable before its replica takes over. */
  nodeTimeoutMs?: number
}

/** The redis-server arguments of a cluster node on `port` in `dir`. */
export function clusterNodeArgs (dir: string, port: number, nodeTimeoutMs: number): string[] {
  return [
    '--cluster-enabled', 'yes',
    '--cluster-config-file', `${dir}/nodes-${port}.conf`,
    '--cluster-node-timeout', String(nodeTimeoutMs)
  ]
}

/**
 * A three-master Redis Cluster on loopback (with `replicas` per master when
 * asked), in a temp dir of its own: each node a redis-server child process,
 * joined by `redis-cli --cluster create`, resolved once every node says
 * cluster_state:ok. Busy ports fail at once with a message naming them.
 */
export async function startCluster (ports: number[] = clusterPorts, { replicas = 0, nodeTimeoutMs = 5000 }: ClusterShape = {}): Promise<RedisClusterHandle> {
  const busy: number[] = []
  for (const port of ports) if (!(await portIsFree(port))) busy.push(port)
  if (busy.length > 0) {
    throw new Error(`the Redis Cluster test needs ports ${ports.join(', ')} on ${host} free, but ${busy.join(', ')} ${busy.length === 1 ? 'is' : 'are'} busy (another cluster or service listens there): stop it and run again`)
  }

  const dir = await makeTempDir('cluster')
  const servers: RedisServer[] = []
  const clients: Redis[] = []
  const stop = async (): Promise<void> => {
    for (const client of clients.splice(0)) client.disconnect()
    await Promise.all(servers.map(async server => await server.stop()))
    await removeDir(dir)
  }

  try {
    for (const port of ports) {
      servers.push(await startRedisServer(port, dir, clusterNodeArgs(dir, port, nodeTimeoutMs)))
    }
    await run('redis-cli', [
      '--cluster', 'create', ...ports.map(port => `${host}:${port}`),
      '--cluster-replicas', String(replicas), '--cluster-yes'
    ], { timeout: 30_000 })

    const probes = ports.map(port => {
      const client = new Redis({ host, port, lazyConnect: false, maxRetriesPerRequest: 1 })
      client.on('error', () => {})
      clients.push(client)
      return client
    })
    await until('cluster_state:ok on every node', async () => {
      const infos = await Promise.all(probes.map(async client => await client.cluster('INFO') as string))
      return infos.every(info => /cluster_state:ok/.test(info))
    })
    for (const client of probes) client.disconnect()
    clients.length = 0
  } catch (error) {
    await stop()
    throw error
  }

  const connect = (): Cluster => new Cluster(ports.map(port => ({ host, port })))

  let mastersByAddress: Promise<Map<string, Redis>> | undefined
  const masters = async (): Promise<Map<string, Redis>> => await (mastersByAddress ??= findMasters())
  const findMasters = async (): Promise<Map<string, Redis>> => {
    const byAddress = new Map<string, Redis>()
    const nodes = await Promise.all(servers.map(async server => {
      const client = server.connect()
      clients.push(client)
      const role = await client.call('ROLE') as [string]
      return { client, address: `${server.host}:${server.port}`, master: role[0] === 'master' }
    }))
    for (const node of nodes) if (node.master) byAddress.set(node.address, node.client)
    return byAddress
  }

  const deleteKeys = async (prefix: string): Promise<void> => {
    for (const client of (await masters()).values()) {
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        // One key per DEL: keys of different slots cannot share a command.
        for (const key of keys) await client.del(key)
      } while (cursor !== '0')
    }
  }

  return { ports, dir, servers, connect, masters, deleteKeys, stop }
}
