'use strict'
// The memory store's queue under load: what one claim costs with 10 and with
// 50,000 requests queued, and the longest the event loop is held when 50,000
// uncoalesced requests time out (the next probe of their runtime, or, when it
// never heartbeats again, the sweep an unrelated POST runs).
//   npm run build && node bench/memory-queue.js
const { MemoryModelListStore } = require('..')

const claims = 2_000

function clock () {
  let t = Date.UTC(2026, 0, 1)
  return { now: () => t, advance: ms => { t += ms } }
}

function ms (start) {
  return Number(process.hrtime.bigint() - start) / 1e6
}

// One claim with `queued` requests waiting: each claim is followed by a create,
// so the queue keeps its length; the mean of `claims` claims.
async function claimCost (queued) {
  const { now } = clock()
  const store = new MemoryModelListStore({ now })
  for (let i = 0; i < queued; i++) await store.create('rt')
  let spent = 0n
  for (let i = 0; i < claims; i++) {
    const start = process.hrtime.bigint()
    await store.popPending('rt')
    spent += process.hrtime.bigint() - start
    await store.create('rt')
  }
  await store.close()
  return Number(spent) / claims / 1e3
}

// The longest of 10 calls after 50,000 requests of one runtime timed out.
async function timedOut (after, call) {
  const time = clock()
  const store = new MemoryModelListStore({ now: time.now })
  for (let i = 0; i < 50_000; i++) await store.create('crowded')
  time.advance(after)
  let longest = 0
  for (let i = 0; i < 10; i++) {
    const start = process.hrtime.bigint()
    await call(store, i)
    longest = Math.max(longest, ms(start))
  }
  await store.close()
  return longest
}

async function main () {
  await claimCost(10) // warm-up
  for (const queued of [10, 50_000]) {
    console.log(`popPending, ${String(queued).padStart(6)} queued: ${(await claimCost(queued)).toFixed(2)} µs per claim (mean of ${claims})`)
  }
  const probe = store => store.hasPending('crowded')
  const post = (store, i) => store.create(`unrelated-${i}`)
  console.log(`50,000 timed out, longest heartbeat probe: ${(await timedOut(30_001, probe)).toFixed(1)} ms`)
  console.log(`50,000 forgotten, longest unrelated POST:  ${(await timedOut(120_001, post)).toFixed(1)} ms`)
  console.log(`50,000 forgotten, longest heartbeat probe: ${(await timedOut(120_001, probe)).toFixed(1)} ms`)
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
