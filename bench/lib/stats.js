'use strict'
// Small statistics for noisy machines: medians of per-round ratios, never
// means of absolute rates.

function median (values) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** The value below which `p` (0..1) of the samples fall (nearest rank). */
function percentile (values, p) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[rank]
}

/**
 * Runs `contenders` (name -> async () => rate) for `rounds` rounds, each round
 * in the opposite order to the last (A B C, C B A, ...), so drift in the
 * machine's load does not always favour the same one. Answers name -> rates.
 */
async function interleave (contenders, rounds) {
  const names = Object.keys(contenders)
  const rates = Object.fromEntries(names.map(name => [name, []]))
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse()
    for (const name of order) rates[name].push(await contenders[name]())
  }
  return rates
}

/** The median over rounds of a / b, each ratio taken within one round. */
function medianRatio (a, b) {
  return median(a.map((value, round) => value / b[round]))
}

module.exports = { median, percentile, interleave, medianRatio }
