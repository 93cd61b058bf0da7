'use strict'
// The table: one row per figure, its target, whether it is met, and the
// Go-pattern baseline where one applies.

const fixed = (digits) => value => (typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : String(value))
const f2 = fixed(2)
const f1 = fixed(1)
const f0 = fixed(0)
const thousands = value => Math.round(value).toLocaleString('en-US')

function check (value, op, target) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null
  if (op === '>=') return value >= target
  if (op === '<=') return value <= target
  return Math.abs(value - target) < 1e-9
}

function figure (item, name, value, format, target, baseline) {
  const met = target ? check(value, target[0], target[1]) : null
  return { item, name, value, shown: format(value), target: target ? `${target[0]} ${target[1]}` : '', met, baseline: baseline ?? '' }
}

function skipped (item, name, reason) {
  return { item, name, value: null, shown: `skipped: ${reason}`, target: '', met: null, baseline: '' }
}

function rows (results) {
  const out = []
  const { heartbeat, storeOps, routes, fullCycle, memoryStore, picker, cluster, capacity, skippedRedis, replicas, heldPolls } = results
  if (heartbeat) {
    out.push(figure(1, 'heartbeat, memory store / same route without the claim', heartbeat.ratio.memory, f2, ['>=', 0.95]))
    if (heartbeat.ratio.redis !== undefined) out.push(figure(1, 'heartbeat, Redis store / same route with one plain round trip', heartbeat.ratio.redis, f2, ['>=', 0.90]))
    out.push(figure(1, 'noise floor: a second bare route / the bare route', heartbeat.ratio.noiseFloor, f2))
    // Idle heartbeats (issue 16): spread over 1,000 idle runtimes, against the bare route.
    out.push(figure(1, 'heartbeat over 1,000 idle runtimes (id in the path), memory store / same route without the claim', heartbeat.ratio.memorySpread, f2, ['>=', 0.95]))
    if (heartbeat.ratio.redisSpread !== undefined) {
      out.push(figure(1, 'heartbeat over 1,000 idle runtimes (id in the path), Redis store (idle runtime cache) / same route without the claim', heartbeat.ratio.redisSpread, f2, ['>=', 0.95]))
      out.push(figure(1, 'Redis commands per idle heartbeat over 1,000 runtimes, after warm-up', heartbeat.redisCommandsPerSpreadHeartbeat, f2, ['<=', 0.005]))
    }
    // Diagnostics (issue 17): a subscriber on every channel, against the same route with none.
    if (heartbeat.ratio.memorySubscribed !== undefined) {
      const rps = heartbeat.requestsPerSecond
      const cpu = heartbeat.replicaCpuUsecPerHeartbeat
      const both = store => v => `${f2(v)} (${thousands(rps[`${store}+subscriber`])} / ${thousands(rps[store])} req/s; ${f1(cpu[`${store}+subscriber`])} / ${f1(cpu[store])} CPU µs)`
      out.push(figure(1, 'heartbeat, memory store, a subscriber on every diagnostics channel / none', heartbeat.ratio.memorySubscribed, both('memory')))
      if (heartbeat.ratio.redisSubscribed !== undefined) out.push(figure(1, 'heartbeat, Redis store, a subscriber on every diagnostics channel / none', heartbeat.ratio.redisSubscribed, both('redis')))
    }
    const cpu = heartbeat.replicaCpuUsecPerHeartbeat
    const names = ['bare', 'memory', 'bare-spread', 'memory-spread', 'plain-redis', 'redis', 'redis-spread'].filter(name => cpu[name] !== undefined)
    out.push(figure(1, `replica CPU µs per heartbeat: ${names.join(' / ')}`, cpu.bare, () => names.map(name => f1(cpu[name])).join(' / ')))
  }
  if (storeOps) {
    for (const [operation, ours] of Object.entries(storeOps.ours)) {
      const go = storeOps['go-pattern'][operation]
      const sent = go.commandsSent === go.roundTrips ? '' : `${f0(go.commandsSent)} commands pipelined: `
      out.push(figure(2, `Redis round trips per ${operation}`, ours.roundTrips, f2, ['=', 1], `${f2(go.roundTrips)} (${sent}${Object.keys(go.commands).join(', ')})`))
    }
  }
  if (routes) {
    const cached = routes.rows.find(r => r.name === 'POST (catalog cache, fresh)')
    if (routes.catalogCache.fresh) out.push(figure(2, 'Redis round trips per cache-answering POST', cached.roundTrips, f2, ['=', 1]))
    else out.push(skipped(2, 'Redis round trips per cache-answering POST', 'no catalog cache on this build'))
  }
  if (fullCycle) {
    out.push(figure(3, `full cycle, ${fullCycle.inFlight} in flight / raw ioredis ceiling`, fullCycle.ratio.ours, f2, ['>=', 0.8], f2(fullCycle.ratio['go-pattern'])))
    const cpu = fullCycle.cpuUsecPerCycle
    const both = c => `${f1(c.client)} / ${f1(c.server)}`
    out.push(figure(3, 'CPU µs per full cycle: this process / Redis (ceiling: 4 trivial calls)', cpu.ours.client, () => both(cpu.ours), null,
      `${both(cpu['go-pattern'])} (ceiling ${both(cpu.ceiling)})`))
    // Even a store costing nothing but the wire shapes leaves this process busier per cycle than the ceiling's.
    const bound = cpu.ceiling.client / (cpu.ceiling.client + fullCycle.wireShapeUsec)
    out.push(figure(3, 'µs per cycle for the wire shapes alone (catalog JSON, ISO dates, an id); the ratio they allow', fullCycle.wireShapeUsec, v => `${f1(v)}; <= ${f2(bound)}`))
    out.push(figure(4, 'full cycles per second (median round)', fullCycle.cyclesPerSecond.ours, thousands, null,
      `${thousands(fullCycle.cyclesPerSecond['go-pattern'])} (ceiling ${thousands(fullCycle.cyclesPerSecond.ceiling)})`))
  }
  if (storeOps) {
    const cycleOps = ['create', 'popPending', 'complete', 'get']
    const trips = kind => cycleOps.reduce((sum, op) => sum + storeOps[kind][op].roundTrips, 0)
    out.push(figure(4, 'round trips per full cycle', trips('ours'), f2, null, f2(trips('go-pattern'))))
  }
  if (memoryStore) {
    const { scaling, heap } = memoryStore
    out.push(figure(5, 'claim at 100,000 requests over 10,000 runtimes / at 100', scaling.ratio.manyRuntimes, f2, ['<=', 1.25]))
    out.push(figure(5, 'claim with a 50,000-long queue / a 10-long one', scaling.ratio.longQueue, f2, ['<=', 1.25]))
    out.push(figure(5, 'claim with a 1,000-long queue / a 10-long one', scaling.ratio.midQueue, f2))
    const ns = scaling.nsPerClaim
    out.push(figure(5, 'ns per claim: 10-long / 50,000-long queue; 100 / 100,000 stored', ns.shortQueue, () => `${f0(ns.shortQueue)} / ${f0(ns.longQueue)}; ${f0(ns.few)} / ${f0(ns.many)}`))
    out.push(figure(5, 'heap bytes per pending request', heap.pendingBytes, f0))
    out.push(figure(5, 'heap bytes per completed request (4-model catalog)', heap.completedBytes, f0))
    out.push(figure(5, 'heap left after retention, % of the peak growth', 100 * heap.leftoverBytes / heap.peakGrowthBytes, f2, ['<=', 1]))
    out.push(figure(5, 'heap bytes per cached catalog (kept for serveWindowMs, one per runtime)', heap.catalogBytesPerRuntime, f0))
  }
  if (picker?.skipped) out.push(skipped(6, 'picker open', picker.skipped))
  else if (picker) {
    for (const [mode, label] of [['withoutWait', 'polling'], ['withWait', 'wait_ms']]) {
      for (const kind of ['cold', 'warm', 'stale']) {
        const r = picker[mode][kind]
        out.push(figure(6, `open ${kind}, ${label}: HTTP requests / discoveries / ms`, r.httpRequests, v => `${f1(v)} / ${f1(r.discoveries)} / ${f0(r.msToAnswer)}`))
      }
    }
    const s = picker.simultaneous
    out.push(figure(6, `${s.opens} simultaneous opens: discoveries`, s.discoveries, f0, ['=', 1]))
    out.push(figure(6, `${s.opens} simultaneous opens: HTTP requests per open / p50 / p99 ms`, s.httpRequestsPerOpen, v => `${f1(v)} / ${f0(s.msToAnswer.p50)} / ${f0(s.msToAnswer.p99)}`))
    out.push(figure(6, 'report on A to held poll on B answering, p50 / p99 ms', picker.reportToHeldPoll.p50, v => `${f1(v)} / ${f1(picker.reportToHeldPoll.p99)}`))
    out.push(figure(6, 'Redis commands a held poll sends while waiting (canary publishes, 1 s window)', picker.commandsWhileHeld.commands, v => `${f0(v)} (${f0(picker.commandsWhileHeld.canaryPublishes)})`, ['=', 0]))
  }
  if (capacity) {
    const { perUnit, heartbeatsPerReplicaCore } = capacity
    const units = [['heartbeat (nothing to claim)', 'heartbeat'], ['cold open (wait_ms)', 'coldOpen'], ['warm open', 'warmOpen'], ['stale open (and its refresh)', 'staleOpen'], ['report', 'report']]
    for (const [label, key] of units) {
      const u = perUnit[key]
      if (u === null) out.push(skipped(7, `per ${label}`, 'no catalog cache on this build'))
      else out.push(figure(7, `per ${label}: Redis commands / server µs / replica µs / messages`, u.commands, v => `${f2(v)} / ${f1(u.serverUsec)} / ${f1(u.replicaUsec)} / ${f0(u.publishes)}`))
    }
    out.push(figure(7, 'heartbeats per second per replica core', heartbeatsPerReplicaCore, thousands))
  }
  if (routes) {
    for (const r of routes.rows) out.push(figure(7, `${r.name}: Redis commands / server µs`, r.roundTrips, v => `${f2(v)} / ${f1(r.serverCpuUsec)}`))
  }
  if (cluster) out.push(figure(7, `3-master Cluster, ${cluster.runtimes} runtimes: busiest / idlest master`, cluster.maxOverMin, f2, ['<=', 1.2]))
  if (replicas) {
    // waitForReplicas: the same operation off / on, on a master with one replica.
    const both = (row, pick) => `${pick(row.off)} / ${pick(row.on)}`
    for (const row of replicas.rows) {
      out.push(figure(15, `waitForReplicas off / on (replica down): ${row.operation} round trips (commands), median ms`, row.on.roundTrips,
        () => `${both(row, r => `${f0(r.roundTrips)} (${f0(r.commands)})`)}; ${both(row, r => f2(r.medianMs))} (${f1(row.replicaDown.medianMs)})`))
    }
  }
  if (heldPolls) {
    // Wake bursts (issue 15): one replica, its polls held over HTTP.
    const bare = heldPolls.bare
    if (bare !== undefined) {
      out.push(figure(15, `${bare.polls.toLocaleString('en-US')} requests held on a bare Fastify route, answered at once: wake p99 ms (p50; replica CPU ms; longest block ms, CPU ms)`, bare.wakeMs.p99,
        v => `${f0(v)} (${f0(bare.wakeMs.p50)}; ${f0(bare.answerCpuMs)}; ${f1(bare.maxBlockMs)}, ${f1(bare.maxBlockCpuMs)})`))
    }
    for (const store of ['memory', 'redis']) {
      const r = heldPolls[store]
      if (r === undefined) continue
      const name = `${r.polls.toLocaleString('en-US')} polls held on one request, ${store === 'memory' ? 'memory store' : 'Redis'}`
      out.push(figure(15, `${name}: polls answered (completed)`, r.completed, v => `${f0(v)} of ${f0(r.polls)}`, ['=', r.polls]))
      out.push(figure(15, `${name}: wake p99 ms (p50; replica CPU ms from the report to the last answer)`, r.wakeMs.p99, v => `${f0(v)} (${f0(r.wakeMs.p50)}; ${f0(r.answerCpuMs)})`, ['<=', 250]))
      out.push(figure(15, `${name}: longest event-loop block ms (CPU ms)`, r.maxBlockMs, v => `${f1(v)} (${f1(r.maxBlockCpuMs)})`, ['<=', 50]))
    }
    const b = heldPolls.burst
    if (b !== undefined) {
      const name = `${b.polls.toLocaleString('en-US')} polls on ${b.requests.toLocaleString('en-US')} requests reported in a burst, Redis`
      out.push(figure(15, `${name}: polls answered 503`, b.unavailable, v => `${f0(v)} (${f0(b.completed)} completed; reports took ${f0(b.reportsMs)} ms; wake p50 / p99 ${f0(b.wakeMs.p50)} / ${f0(b.wakeMs.p99)} ms; longest block ${f1(b.maxBlockMs)} ms, ${f1(b.maxBlockCpuMs)} CPU ms)`, ['=', 0]))
    }
  }
  if (skippedRedis) out.push(skipped('1-7', 'Redis figures', skippedRedis))
  return out
}

function table (headers, lines) {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map(l => String(l[i]).length)))
  const format = cells => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |'
  return [format(headers), '|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(format)].join('\n')
}

function mainTable (figures) {
  const verdict = met => (met === null ? '' : met ? 'met' : 'MISSED')
  return table(['#', 'figure', 'value', 'target', '', 'Go-pattern baseline'],
    figures.map(f => [f.item, f.name, f.shown, f.target, verdict(f.met), f.baseline]))
}

function capacityTable (capacity) {
  return table(['daemons', 'heartbeats/s', 'opens/s', 'Redis commands/s', 'replica cores', 'Redis cores', 'Cluster masters', 'pub/sub published/s', 'pub/sub delivered/s'],
    capacity.table.map(r => [thousands(r.daemons), thousands(r.heartbeatsPerSecond), f1(r.opensPerSecond), thousands(r.redisCommandsPerSecond),
      r.replicaCores, f2(r.redisCores), r.clusterMasters, f1(r.pubsubPublishedPerSecond), f1(r.pubsubDeliveredPerSecond)]))
}

module.exports = { rows, mainTable, capacityTable }
