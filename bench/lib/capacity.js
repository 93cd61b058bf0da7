'use strict'
// Item 7 on paper: what 10k, 100k and 1M daemons heartbeating every 15 s
// need, from the figures this run measured. The assumptions are returned
// with the table, and printed beside it.

const assumptions = {
  heartbeatEverySeconds: 15,
  // Headroom for spikes, failover and everything else a core does.
  targetUtilisation: 0.5,
  opensPerDaemonPerHour: 2,
  // Worst case: every open is cold (POST, a claiming heartbeat, the report, one held GET).
  openMix: 'all cold, with wait_ms',
  // Steady state with the idle runtime cache: what the heartbeats spread over
  // 1,000 idle runtimes sent after warm-up (a runtime's first heartbeat, and
  // its first after work was queued, probe once; the canary is per replica).
  idleHeartbeats: 'as measured spread over 1,000 idle runtimes, after warm-up',
  // Classic PUBLISH: every replica's subscriber hears every message (in a Cluster,
  // every master relays it too).
  deliveriesPerMessage: 'one per replica',
  // A held poll reads the record when it arrives and once more when woken.
  readsPerHeldPoll: 2,
  replicaCoresPerReplica: 1,
  // One single-threaded Redis master per core; a Cluster needs three at least.
  minimumClusterMasters: 3
}

const daemonCounts = [10_000, 100_000, 1_000_000, 10_000_000]

function row (routes, name) {
  return routes.rows.find(r => r.name === name)
}

function capacity ({ heartbeat, routes, picker }) {
  const idle = row(routes, 'heartbeat (nothing to claim)')
  const claim = row(routes, 'heartbeat (claims)')
  const post = row(routes, 'POST (new request)')
  const read = row(routes, 'GET')
  const report = row(routes, 'report (completed)')
  const fresh = row(routes, 'POST (catalog cache, fresh)')
  const stale = row(routes, 'POST (catalog cache, stale: refresh queued)')
  // A replica's CPU for one HTTP request, beyond what the route does (inject measures no socket I/O).
  const httpUsec = heartbeat.replicaCpuUsecPerHeartbeat.bare
  const sum = (parts) => ({
    commands: parts.reduce((a, [r, n]) => a + n * r.roundTrips, 0),
    serverUsec: parts.reduce((a, [r, n]) => a + n * r.serverCpuUsec, 0),
    replicaUsec: parts.reduce((a, [r, n]) => a + (r === read ? 1 : n) * (r.replicaCpuUsec + httpUsec), 0),
    publishes: parts.reduce((a, [r, n]) => a + n * r.publishes, 0)
  })
  const catalogCache = routes.catalogCache.fresh === true
  // Without the spread figure (an older results file): every idle heartbeat probes.
  const spreadCommands = heartbeat.redisCommandsPerSpreadHeartbeat ?? idle.roundTrips
  const perUnit = {
    heartbeat: {
      commands: spreadCommands,
      // What a probe costs Redis, per command it sends.
      serverUsec: spreadCommands * idle.serverCpuUsec / idle.roundTrips,
      replicaUsec: heartbeat.replicaCpuUsecPerHeartbeat['redis-spread'] ?? NaN,
      publishes: 0
    },
    // The frontend's POST and one held GET (read on arrival and on waking), the daemon's claiming heartbeat and report.
    coldOpen: sum([[post, 1], [claim, 1], [report, 1], [read, assumptions.readsPerHeldPoll]]),
    // Answered from the catalog: the POST alone.
    warmOpen: catalogCache ? sum([[fresh, 1]]) : null,
    // Answered from the catalog, and the refresh it queued: the daemon's claim and report.
    staleOpen: catalogCache ? sum([[stale, 1], [claim, 1], [report, 1]]) : null,
    report: sum([[report, 1]])
  }
  const coldRedis = perUnit.coldOpen
  const coldReplicaUsec = perUnit.coldOpen.replicaUsec
  const heartbeatReplicaUsec = perUnit.heartbeat.replicaUsec
  const heartbeatsPerReplicaCore = 1e6 / heartbeatReplicaUsec
  const table = daemonCounts.map(daemons => {
    const heartbeats = daemons / assumptions.heartbeatEverySeconds
    const opens = daemons * assumptions.opensPerDaemonPerHour / 3600
    const replicaCores = Math.ceil((heartbeats * heartbeatReplicaUsec + opens * coldReplicaUsec) / 1e6 / assumptions.targetUtilisation)
    const redisCores = (heartbeats * perUnit.heartbeat.serverUsec + opens * coldRedis.serverUsec) / 1e6 / assumptions.targetUtilisation
    const masters = redisCores <= 1 ? 1 : Math.max(assumptions.minimumClusterMasters, Math.ceil(redisCores))
    const replicas = Math.ceil(replicaCores / assumptions.replicaCoresPerReplica)
    const published = opens * coldRedis.publishes
    return {
      daemons,
      heartbeatsPerSecond: heartbeats,
      opensPerSecond: opens,
      redisCommandsPerSecond: heartbeats * perUnit.heartbeat.commands + opens * coldRedis.commands,
      replicaCores,
      redisCores,
      clusterMasters: masters,
      pubsubPublishedPerSecond: published,
      pubsubDeliveredPerSecond: published * replicas
    }
  })
  return { assumptions, perUnit, heartbeatsPerReplicaCore, table }
}

module.exports = { capacity }
