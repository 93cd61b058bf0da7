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
  // A held poll reads the record when it arrives and once more when woken.
  readsPerHeldPoll: 2,
  replicaCoresPerReplica: 1,
  // One single-threaded Redis master per core; a Cluster needs three at least.
  minimumClusterMasters: 3
}

const daemonCounts = [10_000, 100_000, 1_000_000]

function row (routes, name) {
  return routes.rows.find(r => r.name === name)
}

function capacity ({ heartbeat, routes, picker }) {
  const idle = row(routes, 'heartbeat (nothing to claim)')
  const claim = row(routes, 'heartbeat (claims)')
  const post = row(routes, 'POST (new request)')
  const read = row(routes, 'GET')
  const report = row(routes, 'report (completed)')
  const coldRedis = {
    commands: post.roundTrips + claim.roundTrips + report.roundTrips + assumptions.readsPerHeldPoll * read.roundTrips,
    serverUsec: post.serverCpuUsec + claim.serverCpuUsec + report.serverCpuUsec + assumptions.readsPerHeldPoll * read.serverCpuUsec,
    publishes: post.publishes + claim.publishes + report.publishes + read.publishes
  }
  const httpPerOpen = picker?.withWait?.cold?.httpRequests ?? 2
  // A cold open's HTTP requests: the frontend's, the daemon's heartbeat and report.
  const httpOverheadUsec = heartbeat.replicaCpuUsecPerHeartbeat.bare
  const coldReplicaUsec = post.replicaCpuUsec + claim.replicaCpuUsec + report.replicaCpuUsec + read.replicaCpuUsec +
    (httpPerOpen + 2) * httpOverheadUsec
  const heartbeatReplicaUsec = heartbeat.replicaCpuUsecPerHeartbeat.redis
  const perUnit = {
    heartbeat: { commands: idle.roundTrips, serverUsec: idle.serverCpuUsec, replicaUsec: heartbeatReplicaUsec },
    coldOpen: { commands: coldRedis.commands, serverUsec: coldRedis.serverUsec, replicaUsec: coldReplicaUsec, publishes: coldRedis.publishes, httpRequests: httpPerOpen }
  }
  const heartbeatsPerReplicaCore = 1e6 / heartbeatReplicaUsec
  const table = daemonCounts.map(daemons => {
    const heartbeats = daemons / assumptions.heartbeatEverySeconds
    const opens = daemons * assumptions.opensPerDaemonPerHour / 3600
    const replicaCores = Math.ceil((heartbeats * heartbeatReplicaUsec + opens * coldReplicaUsec) / 1e6 / assumptions.targetUtilisation)
    const redisCores = (heartbeats * idle.serverCpuUsec + opens * coldRedis.serverUsec) / 1e6 / assumptions.targetUtilisation
    const masters = redisCores <= 1 ? 1 : Math.max(assumptions.minimumClusterMasters, Math.ceil(redisCores))
    const replicas = Math.ceil(replicaCores / assumptions.replicaCoresPerReplica)
    const published = opens * coldRedis.publishes
    return {
      daemons,
      heartbeatsPerSecond: heartbeats,
      opensPerSecond: opens,
      redisCommandsPerSecond: heartbeats * idle.roundTrips + opens * coldRedis.commands,
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
