'use strict'
// Prints docs/benchmarks.md's tables from bench/results.json (what the last
// `npm run bench` wrote): node bench/markdown.js
const results = require('./results.json')
const { mainTable, capacityTable } = require('./lib/report')

const { date, node, machine, parameters } = results
const load = machine.load.start.map(v => v.toFixed(1)).join(', ')
console.log(`Run of ${date.slice(0, 16).replace('T', ' ')} UTC: Node ${node}, ${machine.cpus} cores (${machine.model}), load average ${load} at the start; ` +
  `${parameters.rounds} rounds.\n`)
console.log(mainTable(results.figures))
if (results.results.capacity) {
  const { assumptions } = results.results.capacity
  console.log(`\nCapacity on paper, from the figures above. Assumptions: a heartbeat every ${assumptions.heartbeatEverySeconds} s; ` +
    `${assumptions.opensPerDaemonPerHour} picker opens per daemon per hour, ${assumptions.openMix}; idle heartbeats ${assumptions.idleHeartbeats ?? 'each one Redis probe'}; cores planned at ${assumptions.targetUtilisation * 100}% busy; ` +
    `one core per replica; one core per Redis master, and a Cluster of ${assumptions.minimumClusterMasters} masters at least once one core is not enough; ` +
    `pub/sub messages delivered ${assumptions.deliveriesPerMessage}.\n`)
  console.log(capacityTable(results.results.capacity))
}
