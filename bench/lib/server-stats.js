'use strict'
// What a private Redis server itself reports: INFO commandstats (calls and
// microseconds per command, the commands scripts run included) and its CPU
// time (I/O and all), read before and after a piece of work.

function parseCommandStats (info) {
  const stats = {}
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim())
    if (match !== null) stats[match[1]] = { calls: Number(match[2]), usec: Number(match[3]) }
  }
  return stats
}

function parseCpu (info) {
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0)
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0)
  return (user + sys) * 1e6
}

async function snapshot (client) {
  const [commands, cpu] = await Promise.all([client.info('commandstats'), client.info('cpu')])
  return { commands: parseCommandStats(commands), cpuUsec: parseCpu(cpu) }
}

/** name -> { calls, usec } done between two snapshots, and the server's CPU µs. */
function difference (before, after) {
  const commands = {}
  for (const [name, { calls, usec }] of Object.entries(after.commands)) {
    const earlier = before.commands[name] ?? { calls: 0, usec: 0 }
    if (calls > earlier.calls) commands[name] = { calls: calls - earlier.calls, usec: usec - earlier.usec }
  }
  // The INFO calls of the snapshots themselves are not the work's.
  delete commands.info
  return { commands, cpuUsec: after.cpuUsec - before.cpuUsec }
}

/** Runs `work` and answers what the server did meanwhile. */
async function measure (client, work) {
  const before = await snapshot(client)
  await work()
  return difference(before, await snapshot(client))
}

/**
 * Counts the commands a connection sends at the top level (one round trip
 * each), from MONITOR on the server: a script's own commands show with the
 * source "lua" and are not round trips. `count(work)` answers name -> count
 * for what the given connections sent while `work` ran.
 */
async function monitorCounter (connect) {
  const base = connect()
  const monitor = await base.monitor()
  const control = connect()
  const lines = []
  const waiters = new Map()
  monitor.on('monitor', (_time, args, source) => {
    const name = String(args[0]).toLowerCase()
    // The idle runtime cache's canary (once a second per replica and master,
    // on a connection of its own) is no operation's command: told apart.
    lines.push({ name: name === 'publish' && String(args[1]).includes(':canary:') ? 'canary publish' : name, source })
    if (String(args[0]).toLowerCase() === 'echo' && waiters.has(args[1])) waiters.get(args[1])()
  })
  const controlAddress = /addr=(\S+)/.exec(await control.client('INFO'))[1]
  let markers = 0
  // Once MONITOR shows a marker sent after the work, it has shown all of the work.
  const mark = async () => {
    const marker = `bench-marker-${markers++}`
    const seen = new Promise(resolve => waiters.set(marker, resolve))
    await control.echo(marker)
    await seen
    waiters.delete(marker)
    return lines.length
  }
  const count = async (work) => {
    const start = await mark()
    await work()
    const end = await mark()
    const counts = {}
    for (const { name, source } of lines.slice(start, end - 1)) {
      if (source === 'lua' || source === controlAddress) continue
      counts[name] = (counts[name] ?? 0) + 1
    }
    lines.length = 0
    return counts
  }
  const close = () => { monitor.disconnect(); base.disconnect(); control.disconnect() }
  return { count, close }
}

module.exports = { snapshot, difference, measure, monitorCounter }
