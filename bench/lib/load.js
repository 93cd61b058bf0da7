'use strict'
// Closed-loop load from inside the process: `concurrency` loops, each calling
// the next operation as soon as its last one answered.

/** Runs fn(0) .. fn(count - 1), `concurrency` at a time. */
async function pool (concurrency, count, fn) {
  let next = 0
  const loop = async () => {
    while (next < count) await fn(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, loop))
}

/** Operations per second of `fn(worker)` over `durationMs`, `concurrency` in flight. */
async function rate (concurrency, durationMs, fn) {
  let done = 0
  const start = process.hrtime.bigint()
  const end = Date.now() + durationMs
  const loop = async (worker) => {
    while (Date.now() < end) {
      await fn(worker)
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, worker) => loop(worker)))
  return done / (Number(process.hrtime.bigint() - start) / 1e9)
}

module.exports = { pool, rate }
