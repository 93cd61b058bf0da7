'use strict'
// Private redis-server processes on free loopback ports, for figures the
// shared Redis cannot give (INFO commandstats, MONITOR, a Cluster). Every
// server started here is stopped by `stopAll()`, and killed if the process
// exits first.
const { spawn, spawnSync, execFile } = require('node:child_process')
const { mkdtempSync, rmSync } = require('node:fs')
const { createServer } = require('node:net')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { promisify } = require('node:util')
const Redis = require('ioredis')

const host = '127.0.0.1'
const readyWithinMs = 15_000
const run = promisify(execFile)
const children = new Set()
const dirs = new Set()

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Why private servers cannot be started here, or null. */
function missingBinaries (binaries = ['redis-server']) {
  for (const binary of binaries) {
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' })
    if (probe.error !== undefined || probe.status !== 0) return `${binary} is not installed`
  }
  return null
}

async function portIsFree (port) {
  return await new Promise(resolve => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

async function freePort () {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function startServer (port, dir, extraArgs = []) {
  const args = ['--port', String(port), '--bind', host, '--dir', dir, '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--protected-mode', 'no', ...extraArgs]
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let output = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready within ${readyWithinMs} ms:\n${output}`)), readyWithinMs)
    const onData = chunk => {
      output += chunk
      if (output.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`redis-server on ${port} exited with ${code}:\n${output}`)) })
  })
  child.stdout.removeAllListeners('data')
  child.stderr.removeAllListeners('data')
  child.stdout.resume()
  child.stderr.resume()
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return children.delete(child)
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(killer)
    children.delete(child)
  }
  return { host, port, stop, connect: (options = {}) => new Redis({ host, port, ...options }) }
}

function makeDir (name) {
  const dir = mkdtempSync(join(tmpdir(), `fml-bench-${name}-`))
  dirs.add(dir)
  return dir
}

function removeDir (dir) {
  rmSync(dir, { recursive: true, force: true })
  dirs.delete(dir)
}

/** One standalone redis-server on a free port, in a temp dir of its own. */
async function startRedis (name) {
  const dir = makeDir(name)
  const server = await startServer(await freePort(), dir)
  const stop = server.stop
  server.stop = async () => { await stop(); removeDir(dir) }
  return server
}

// Cluster nodes need their port and port + 10000 (the bus) free.
async function freeClusterPorts (count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 9_000)
    const ports = Array.from({ length: count }, (_, i) => base + i)
    const all = [...ports, ...ports.map(port => port + 10_000)]
    let free = true
    for (const port of all) if (!(await portIsFree(port))) { free = false; break }
    if (free) return ports
  }
  throw new Error('no free run of cluster ports found in 20000-39999')
}

/** A Cluster of `count` masters and no replicas on free ports. */
async function startCluster (count = 3) {
  const dir = makeDir('cluster')
  const ports = await freeClusterPorts(count)
  const servers = []
  const stop = async () => {
    await Promise.all(servers.map(server => server.stop()))
    removeDir(dir)
  }
  try {
    for (const port of ports) {
      servers.push(await startServer(port, dir, ['--cluster-enabled', 'yes',
        '--cluster-config-file', `${dir}/nodes-${port}.conf`, '--cluster-node-timeout', '5000']))
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map(port => `${host}:${port}`),
      '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
    const deadline = Date.now() + readyWithinMs
    for (const server of servers) {
      const client = server.connect()
      try {
        while (!/cluster_state:ok/.test(await client.cluster('INFO'))) {
          if (Date.now() > deadline) throw new Error('cluster_state:ok not reached')
          await new Promise(resolve => setTimeout(resolve, 50))
        }
      } finally {
        client.disconnect()
      }
    }
  } catch (error) {
    await stop()
    throw error
  }
  const connect = (options = {}) => new Redis.Cluster(ports.map(port => ({ host, port })), options)
  return { ports, servers, connect, stop }
}

/** A master and one replica of it, each on a free port, in a temp dir of their own; resolved once the replica is in sync. */
async function startReplicaPair (name) {
  const dir = makeDir(name)
  const master = await startServer(await freePort(), dir)
  let replica
  const stop = async () => {
    await Promise.all([master.stop(), replica?.stop()])
    removeDir(dir)
  }
  try {
    replica = await startServer(await freePort(), dir, ['--replicaof', host, String(master.port), '--dbfilename', 'replica.rdb'])
    const client = master.connect()
    try {
      const deadline = Date.now() + readyWithinMs
      while (!/slave0:.*state=online/.test(await client.info('replication'))) {
        if (Date.now() > deadline) throw new Error('the replica did not come online')
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    } finally {
      client.disconnect()
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { master, replica, stop }
}

module.exports = { host, missingBinaries, freePort, startRedis, startCluster, startReplicaPair }
