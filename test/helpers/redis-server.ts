import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Redis, { type RedisOptions } from 'ioredis'

// Private redis-server processes for the tests that must not share the
// Redis on 6379 (a cluster, a server under MONITOR). Everything started here
// is stopped by `stop()`, and killed on process exit if a test crashed first.

export const host = '127.0.0.1'

const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

function missingBinary (binary: string): string | null {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  if (probe.error !== undefined) return `${binary} is not installed (${probe.error.message})`
  if (probe.status !== 0) return `${binary} --version exited with ${String(probe.status)}`
  return null
}

/**
 * The tap `skip` option for a test that starts its own redis-server (and,
 * for a cluster, runs redis-cli): a reason outside CI when a binary is
 * missing; under CI=true a missing binary is a failure, never a skip.
 */
export function needsRedisBinaries (binaries: string[] = ['redis-server']): { skip: string | false } {
  for (const binary of binaries) {
    const reason = missingBinary(binary)
    if (reason === null) continue
    if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`)
    return { skip: reason }
  }
  return { skip: false }
}

/** Whether nothing listens on host:port (checked by binding it for a moment). */
export async function portIsFree (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

/** A loopback port nothing listens on right now. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export async function makeTempDir (name: string): Promise<string> {
  return await mkdtemp(join(tmpdir(), `fml-${name}-`))
}

export async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

export interface RedisServer {
  host: string
  port: number
  child: ChildProcess
  /** What the server printed so far (for failure messages). */
  output: () => string
  /** A new client to this server; the caller disconnects it. */
  connect: (options?: RedisOptions) => Redis
  /** Stops the process and waits for it to exit. Safe to call twice. */
  stop: () => Promise<void>
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child)
    return
  }
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(killer)
  running.delete(child)
}

/**
 * Starts `redis-server` on host:port in the foreground and resolves once it
 * says it is ready to accept connections; rejects (with the server's output)
 * if it exits first or is not ready within 15 s.
 */
export async function startRedisServer (port: number, dir: string, extraArgs: string[] = []): Promise<RedisServer> {
  const args = [
    '--port', String(port), '--bind', host, '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no',
    ...extraArgs
  ]
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let output = ''
  const collect = (chunk: Buffer): void => { output += chunk.toString() }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const stop = async (): Promise<void> => { await stopChild(child) }

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`redis-server on port ${port} was not ready within 15 s:\n${output}`)) }, 15_000)
      const onData = (): void => {
        if (output.includes('Ready to accept connections')) { cleanup(); resolve() }
      }
      const onExit = (code: number | null, signal: string | null): void => {
        cleanup()
        const busy = /Address already in use/i.test(output) ? ` (port ${port} on ${host} is busy)` : ''
        reject(new Error(`redis-server on port ${port} exited with ${String(code ?? signal)} before it was ready${busy}:\n${output}`))
      }
      const onError = (error: Error): void => { cleanup(); reject(error) }
      const cleanup = (): void => {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        child.stderr?.off('data', onData)
        child.off('exit', onExit)
        child.off('error', onError)
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', onExit)
      child.once('error', onError)
      onData()
    })
  } catch (error) {
    await stop()
    throw error
  }

  return {
    host,
    port,
    child,
    output: () => output,
    connect: (options: RedisOptions = {}) => new Redis({ host, port, ...options }),
    stop
  }
}

/** Resolves when `check` answers true, polling every `everyMs`; rejects after `withinMs`. */
export async function until (what: string, check: () => Promise<boolean>, withinMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + withinMs
  let last: unknown
  for (;;) {
    try {
      if (await check()) return
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${withinMs} ms${last instanceof Error ? ` (last error: ${last.message})` : ''}`)
    }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
