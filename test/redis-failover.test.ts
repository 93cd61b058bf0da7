import t, { type Test } from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import Redis, { Cluster } from 'ioredis'
import fastifyModelList, { RedisModelListStore, type FastifyModelListOptions } from '../lib/index'
import type { RedisWorkStore } from '../lib/store/redis/work-store'
import { hooks, hostApp, routes } from './helpers/apps'
import { clusterPortsAt, needsCluster } from './helpers/cluster'
import { catalog } from './helpers/contract'
import { startFailoverCluster, type FailoverCluster } from './helpers/failover'
import { ready } from './helpers/redis'
import { host, until } from './helpers/redis-server'

// A Redis Cluster failover mid-traffic (issue 15): three masters with a
// replica each (cluster-node-timeout 1000), two app replicas on separate
// Cluster clients, lanes of traffic (POST, the heartbeat's claim, a held poll
// on the other replica, the report). We kill the master that app A's
// subscriber listens on, then the master of a busy runtime's slot. Held polls
// must be answered within a second of their report (or of the end of an
// outage that kept their runtime unreadable right after it); afterwards every request
// is terminal (or vanished with its node), no claim went out twice, no status
// went backwards. Run twice: without waitForReplicas, then with it. The
// figures (503 windows, losses) are printed for docs/guarantees.md.

const storeTimeoutMs = 1_000
const pollWaitMs = 3_000
const wakeBoundMs = 1_000
// A report's wake-up read gets this long before an outage that begins after it counts against the wake.
const graceMs = 250
const lanes = 6
const pendingTimeoutMs = 4_000
const runningTimeoutMs = 4_000
// About a minute alone; more beside the rest of the suite on a busy machine.
t.setTimeout(180_000)

// Ports of its own: base+60 .. base+65 (three masters, then three replicas), bus ports +10000.
const ports = [...clusterPortsAt(60), ...clusterPortsAt(63)]

// Held polls re-read when the subscriber moves to another node (its node
// killed: a Cluster client moves it without a 'ready' of its own), and again
// once a killed master's replica has taken over: a report that master accepted
// just before it died may have taken its PUBLISH with it. Such a report cannot
// be read until the takeover, so a poll's second counts from the takeover of
// its runtime's master when that master died within graceMs of the report.
// While a dead master's slots are unserved the whole Cluster refuses queries
// (cluster_state:fail); a report's signal carries its record, so the polls it
// wakes answer without a read: that outage excuses nothing.

const order: Record<string, number> = { pending: 0, running: 1, completed: 2, failed: 2, timeout: 2 }

interface Figures {
  created: number
  claims: number
  reports: number
  polls: number
  worstWakeMs: number
  /** The worst from the report itself, outages included. */
  worstFromReportMs: number
  /** Answered over wakeBoundMs after their report (each within it of an outage's end). */
  excused: number
  answers503: number
  /** Per kill: how long after it the last 503 was answered. */
  unavailableMs: number[]
  vanished: number
  claimedTwice: number
  backwards: number
  timedOut: number
  unacknowledged: number
}

interface Observation { at: number, status: string }

interface Run {
  apps: FastifyInstance[]
  clients: Cluster[]
  warnings: Array<Record<string, unknown>>
  /** What each WAIT answered (waitForReplicas): enough replicas, or not. */
  waits: { acknowledged: number, not: number }
}

// Watches the WAIT that ends each of the store's pipelines.
function countWaits (client: Cluster, waits: Run['waits']): void {
  const pipeline = client.pipeline.bind(client)
  client.pipeline = ((...args: Parameters<Cluster['pipeline']>) => {
    const made = pipeline(...args)
    const exec = made.exec.bind(made)
    made.exec = (async () => {
      const results = await exec()
      const [error, replicas] = results?.at(-1) ?? [null, 0]
      if (error === null && (replicas as number) >= 1) waits.acknowledged++
      else waits.not++
      return results
    }) as typeof made.exec
    return made
  }) as typeof client.pipeline
}

async function startApps (cluster: FailoverCluster, keyPrefix: string, extra: Partial<FastifyModelListOptions>): Promise<Run> {
  const run: Run = { apps: [], clients: [], warnings: [], waits: { acknowledged: 0, not: 0 } }
  for (const name of ['a', 'b']) {
    const client = new Cluster(cluster.ports.slice(0, 3).map(port => ({ host, port })), {
      redisOptions: { connectionName: `${keyPrefix}-${name}` }
    })
    client.on('error', () => {})
    countWaits(client, run.waits)
    run.clients.push(client)
    const app = await hostApp(async app => {
      await app.register(fastifyModelList, {
        ...hooks, redis: client, keyPrefix, prefix: '/api', storeTimeoutMs, catalogCache: false,
        pendingTimeoutMs, runningTimeoutMs, retentionMs: 60_000, ...extra
      })
    }, {
      logger: {
        level: 'warn',
        stream: { write: (line: string) => { run.warnings.push(JSON.parse(line) as Record<string, unknown>) } }
      }
    })
    run.apps.push(app)
  }
  return run
}

async function stopApps (run: Run | undefined): Promise<void> {
  if (run === undefined) return
  for (const app of run.apps) await app.close().catch(() => {})
  for (const client of run.clients) client.disconnect()
}

/** Runtimes two per master, so every master carries traffic. */
async function pickRuntimes (cluster: FailoverCluster, tag: string): Promise<string[]> {
  const byMaster = new Map<number, string[]>()
  for (let i = 0; [...byMaster.values()].flat().length < lanes && i < 200; i++) {
    const rt = `rt-${tag}-${i}`
    const master = await cluster.masterOf(`{${rt}}`)
    const list = byMaster.get(master) ?? []
    if (list.length < lanes / 3) byMaster.set(master, [...list, rt])
  }
  return [...byMaster.values()].flat()
}

async function failover (t: Test, cluster: FailoverCluster, tag: string, extra: Partial<FastifyModelListOptions>): Promise<Figures> {
  const keyPrefix = `fml-failover-${tag}`
  const run = await startApps(cluster, keyPrefix, extra)
  t.teardown(async () => await stopApps(run))
  const [appA, appB] = run.apps

  // The issue's case: app A's subscriber on a master. ioredis picks its node
  // at random among all nodes; move it until it lands on one (before any traffic).
  const masters = await cluster.masterPorts()
  // A held poll starts the subscriber (an unknown id answers 404 at once).
  await appA.inject({ method: 'GET', url: `${routes.get('rt-warm', '00000000-0000-4000-8000-000000000000').url}?wait_ms=1` })
  for (let tries = 0; tries < 30; tries++) {
    const port = await cluster.subscriberPort(`${keyPrefix}-a`)
    if (port !== undefined && masters.includes(port)) break
    if (port !== undefined) await cluster.moveSubscriber(`${keyPrefix}-a`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const subscriberMaster = await cluster.subscriberPort(`${keyPrefix}-a`) as number
  t.ok(masters.includes(subscriberMaster), `app A's subscriber listens on master ${subscriberMaster}`)
  const runtimes = await pickRuntimes(cluster, tag)
  const target = await (async () => {
    for (const rt of runtimes) if (await cluster.masterOf(`{${rt}}`) !== subscriberMaster) return rt
    return runtimes[0]
  })()

  const answers503: number[] = []
  const observed = new Map<string, Observation[]>()
  const claimed = new Map<string, number>()
  const created = new Set<string>()
  const runtimeOf = new Map<string, string>()
  const wakePolls: Array<{ rt: string, app: string, reportedAt: number, answeredAt: number }> = []
  const late: Array<{ rt: string, app: string, reportedAt: number, ms: number, from: string }> = []
  // When reads of a runtime's keys could not be answered: its master dead
  // until its replica took over, or the whole Cluster down (cluster_state:fail
  // on a live node: with full coverage required, every node refuses queries
  // while a dead master's slots are unserved).
  const outages: Array<{ from: number, to: number, runtimes?: Set<string>, what: string }> = []
  // A poll's second starts at its report; but when its runtime's master died
  // within graceMs of the report, at that master's takeover (a report it
  // accepted just before dying may have taken its PUBLISH along). The whole
  // Cluster refusing queries excuses nothing: the report's signal carries
  // what its polls answer.
  const clockStart = (rt: string, reportedAt: number): { at: number, from: string } => {
    let at = reportedAt
    let from = 'its report'
    for (const outage of [...outages].sort((a, b) => a.from - b.from)) {
      if (outage.runtimes?.has(rt) !== true) continue
      if (outage.from <= at + graceMs && outage.to > at) {
        at = outage.to
        from = outage.what
      }
    }
    return { at, from }
  }
  let claims = 0
  let reports = 0
  let polls = 0
  const see = (id: string, status: string): void => {
    const list = observed.get(id) ?? []
    list.push({ at: performance.now(), status })
    observed.set(id, list)
  }
  // One call, repeated while it answers 503 (a daemon or a browser retries), up to a ceiling.
  const call = async (app: FastifyInstance, request: InjectOptions): Promise<LightMyRequestResponse> => {
    const giveUpAt = performance.now() + 15_000
    for (;;) {
      const response = await app.inject(request)
      if (response.statusCode !== 503 || performance.now() > giveUpAt) return response
      answers503.push(performance.now())
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  let stopping = false
  const lane = async (rt: string, index: number): Promise<void> => {
    const front = run.apps[index % 2]
    const back = run.apps[(index + 1) % 2]
    while (!stopping) {
      const opened = await call(front, routes.create(rt))
      if (opened.statusCode !== 200) continue
      const id = (opened.json() as { id: string }).id
      created.add(id)
      runtimeOf.set(id, rt)
      see(id, (opened.json() as { status: string }).status)
      // Held on the other replica: only the subscriber can wake it.
      let pollAnsweredAt = 0
      const poll = (async () => {
        for (;;) {
          const response = await call(back, { method: 'GET', url: `${routes.get(rt, id).url}?wait_ms=${pollWaitMs}` })
          polls++
          pollAnsweredAt = performance.now()
          if (response.statusCode !== 200) return response.statusCode
          const { status } = response.json() as { status: string }
          see(id, status)
          if (order[status] === 2 || stopping) return status
        }
      })()
      // The heartbeat claims until this lane's request comes out; anything else
      // it is handed (a request whose POST answered 503 but landed) is reported too.
      let reportedAt = 0
      const claimDeadline = performance.now() + pendingTimeoutMs + 1_000
      while (reportedAt === 0 && performance.now() < claimDeadline) {
        const beat = await front.inject(routes.heartbeat(rt))
        const pending = (beat.json() as { pending_model_list?: { id: string } }).pending_model_list
        if (pending === undefined) {
          await new Promise(resolve => setTimeout(resolve, 20))
          continue
        }
        claims++
        claimed.set(pending.id, (claimed.get(pending.id) ?? 0) + 1)
        runtimeOf.set(pending.id, rt)
        see(pending.id, 'running')
        const report = await call(front, routes.report(rt, pending.id, { status: 'completed', models: catalog, supported: true }))
        reports++
        if (report.statusCode === 200 && pending.id === id) reportedAt = performance.now()
      }
      const pollEnded = await poll
      if (reportedAt > 0 && pollEnded === 'completed') {
        wakePolls.push({ rt, app: index % 2 === 0 ? 'B' : 'A', reportedAt, answeredAt: pollAnsweredAt })
      }
    }
  }

  const started = performance.now()
  const traffic = runtimes.map(async (rt, index) => await lane(rt, index))
  // cluster_state on every live node, every 25 ms, while the traffic runs.
  const killedPorts = new Set<number>()
  const stateClients = new Map(cluster.ports.map(port => {
    const client = new Redis({ host, port, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 })
    client.on('error', () => {})
    return [port, client]
  }))
  let watchingState = true
  const stateWatch = (async () => {
    let downSince: number | undefined
    while (watchingState) {
      const live = [...stateClients].filter(([port]) => !killedPorts.has(port))
      const infos = await Promise.all(live.map(async ([, client]) => await client.cluster('INFO').then(info => String(info), () => '')))
      const now = performance.now()
      const down = infos.some(info => /cluster_state:fail/.test(info))
      if (down && downSince === undefined) downSince = now
      if (!down && downSince !== undefined) {
        outages.push({ from: downSince, to: now, what: 'the Cluster up again' })
        downSince = undefined
      }
      await new Promise(resolve => setTimeout(resolve, 25))
    }
    if (downSince !== undefined) outages.push({ from: downSince, to: performance.now(), what: 'the Cluster up again' })
  })()
  const kills: number[] = []
  const killAndWait = async (port: number): Promise<void> => {
    const served = new Set<string>()
    for (const rt of runtimes) if (await cluster.masterOf(`{${rt}}`) === port) served.add(rt)
    killedPorts.add(port)
    const at = performance.now()
    kills.push(at)
    await cluster.kill(port)
    await cluster.untilTakenOver(port)
    outages.push({ from: at, to: performance.now(), runtimes: served, what: `the takeover from ${port}` })
  }
  try {
    await new Promise(resolve => setTimeout(resolve, 1_000))
    if (extra.waitForReplicas !== undefined) {
      // A loaded machine may miss the odd 100 ms: most, not all.
      const { acknowledged, not } = run.waits
      t.ok(acknowledged > 0 && not <= acknowledged / 10, `with every replica up, changes are acknowledged: ${acknowledged} in time, ${not} not`)
    }
    await killAndWait(subscriberMaster)
    t.comment(`killed ${subscriberMaster} (app A's subscriber); taken over after ${Math.round(performance.now() - kills[0])} ms`)
    await new Promise(resolve => setTimeout(resolve, 500))
    const targetMaster = await cluster.masterOf(`{${target}}`)
    await killAndWait(targetMaster)
    t.comment(`killed ${targetMaster} (master of ${target}); taken over after ${Math.round(performance.now() - kills[1])} ms`)
    await new Promise(resolve => setTimeout(resolve, 1_000))
  } finally {
    stopping = true
    await Promise.all(traffic)
    watchingState = false
    await stateWatch
    for (const client of stateClients.values()) client.disconnect()
  }
  for (const outage of outages) t.comment(`outage until ${outage.what}: ${Math.round(outage.from - kills[0])} to ${Math.round(outage.to - kills[0])} ms after the first kill`)
  t.comment(`traffic ran ${Math.round(performance.now() - started)} ms`)

  // Afterwards: every request terminal (a live one past its deadline reads as timeout), or gone with its node.
  let vanished = 0
  let timedOut = 0
  const final = async (id: string): Promise<string> => {
    const response = await call(appB, routes.get(runtimeOf.get(id) as string, id))
    return response.statusCode === 200 ? (response.json() as { status: string }).status : 'gone'
  }
  const ids = new Set([...created, ...claimed.keys()])
  let live: string[] = []
  for (const id of ids) {
    const status = await final(id)
    if (status === 'gone') vanished++
    else if (order[status] !== 2) live.push(id)
    else {
      see(id, status)
      if (status === 'timeout') timedOut++
    }
    if (status === 'timeout' || status === 'gone') t.comment(`${id} (${runtimeOf.get(id) as string}) ended ${status}: seen ${(observed.get(id) ?? []).map(seen => seen.status).join(', ')}; claimed ${claimed.get(id) ?? 0} time(s)`)
  }
  if (live.length > 0) {
    // A report lost with its node leaves the request running until its deadline: then it reads as timeout.
    await new Promise(resolve => setTimeout(resolve, Math.max(pendingTimeoutMs, runningTimeoutMs) + 100))
    const still: string[] = []
    for (const id of live) {
      const status = await final(id)
      if (status === 'timeout') timedOut++
      else if (status !== 'gone' && order[status] !== 2) still.push(id)
      if (status !== 'gone') see(id, status)
    }
    live = still
  }
  t.same(live, [], 'no request is left live past its deadline: each ends completed, or timeout')

  let backwards = 0
  for (const [id, list] of observed) {
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1].status
      const after = list[i].status
      if (order[after] < order[before] || (order[before] === 2 && after !== before)) {
        backwards++
        t.comment(`${id}: ${before} then ${after}`)
      }
    }
  }
  const claimedTwice = [...claimed.values()].filter(count => count > 1).length
  const unavailableMs = kills.map((at, index) => {
    const next = kills[index + 1] ?? Number.POSITIVE_INFINITY
    const last = answers503.filter(time => time >= at && time < next).pop()
    return last === undefined ? 0 : Math.round(last - at)
  })
  const unacknowledged = run.waits.not
  const loggedLines = run.warnings.filter(line => /not acknowledged/.test(String(line.msg))).length
  if (extra.waitForReplicas !== undefined) t.ok(unacknowledged === 0 || loggedLines > 0, `what was not acknowledged was logged (${loggedLines} lines)`)

  const wakes: number[] = []
  // Answered over a second after their report, excused by an outage (the assertion below checks they were).
  let excused = 0
  for (const poll of wakePolls) {
    const start = clockStart(poll.rt, poll.reportedAt)
    if (poll.answeredAt - poll.reportedAt > wakeBoundMs) excused++
    const ms = poll.answeredAt - start.at
    wakes.push(ms)
    if (ms > wakeBoundMs) late.push({ ...poll, ms, from: start.from })
  }
  const worstWakeMs = Math.round(Math.max(0, ...wakes))
  const worstFromReportMs = Math.round(Math.max(0, ...wakePolls.map(poll => poll.answeredAt - poll.reportedAt)))
  // Which polls were late, where they were held, and when their report landed (ms after the first kill).
  for (const poll of late.slice(0, 8)) t.comment(`late poll: ${poll.rt} held on app ${poll.app}, reported ${Math.round(poll.reportedAt - kills[0])} ms after the first kill, answered ${Math.round(poll.ms)} ms after ${poll.from}`)
  t.comment(`held polls answered over ${wakeBoundMs} ms after their report: ${excused} (worst ${worstFromReportMs} ms), each timed from its master's takeover, that master dying within ${graceMs} ms of the report`)
  t.ok(wakes.length > 0, `${wakes.length} held polls answered after their report`)
  t.ok(worstWakeMs <= wakeBoundMs, `every held poll answered within ${wakeBoundMs} ms of its report (or of its master's takeover, the master dying within ${graceMs} ms of it) (worst ${worstWakeMs} ms)`)
  t.ok(answers503.length === 0 || unavailableMs.some(ms => ms > 0), 'the 503s fall after the kills')

  return { created: created.size, claims, reports, polls, worstWakeMs, worstFromReportMs, excused, answers503: answers503.length, unavailableMs, vanished, claimedTwice, backwards, timedOut, unacknowledged }
}

function describe (figures: Figures): string {
  return [
    `requests ${figures.created}, claims ${figures.claims}, reports ${figures.reports}, poll answers ${figures.polls}`,
    `503 answers ${figures.answers503}; last 503 after each kill: ${figures.unavailableMs.map(ms => `${ms} ms`).join(', ')}`,
    `held polls: worst ${figures.worstWakeMs} ms after their report or the outage's end; ${figures.excused} over ${wakeBoundMs} ms after the report (worst ${figures.worstFromReportMs} ms)`,
    `lost: requests vanished ${figures.vanished}, claims handed out twice ${figures.claimedTwice}, statuses backwards ${figures.backwards}, ended timeout ${figures.timedOut}`,
    `WAITs not acknowledged by a replica in time (logged): ${figures.unacknowledged}`
  ].join('\n')
}

t.test('a Redis Cluster failover mid-traffic', async t => {
  if (!(await ready(t, needsCluster))) return
  let cluster: FailoverCluster | undefined
  t.teardown(async () => await cluster?.stop())
  cluster = await startFailoverCluster(ports)
  await cluster.untilReplicated()

  t.test('without waitForReplicas', async t => {
    const figures = await failover(t, cluster as FailoverCluster, 'plain', {})
    t.comment(describe(figures))
    // Replication on loopback is far faster than a kill: in practice nothing is lost.
    t.equal(figures.backwards, 0, 'no status went backwards')
    t.equal(figures.claimedTwice, 0, 'no claim was handed out twice')
  })

  const restartKilled = async (): Promise<void> => {
    const handle = cluster as FailoverCluster
    const killed = handle.ports.filter(port => !handle.servers.some(server => server.port === port && server.child.exitCode === null && server.child.signalCode === null))
    for (const port of killed) await handle.restart(port)
    await handle.untilReplicated()
  }

  t.test('with waitForReplicas: { replicas: 1, timeoutMs: 100 }', async t => {
    await restartKilled()
    const figures = await failover(t, cluster as FailoverCluster, 'waiting', { waitForReplicas: { replicas: 1, timeoutMs: 100 } })
    t.comment(describe(figures))
    t.equal(figures.vanished, 0, 'no request vanished')
    t.equal(figures.backwards, 0, 'no status went backwards')
    t.equal(figures.claimedTwice, 0, 'no claim was handed out twice')
  })

  t.test('regression: a report whose PUBLISH died with its master, on a replica with no other traffic: its held poll reads again within 1 s of the takeover', async t => {
    await restartKilled()
    const handle = cluster as FailoverCluster
    const keyPrefix = 'fml-failover-lost'
    // Deadlines far off: only a wake-up can end the held poll early.
    const run = await startApps(handle, keyPrefix, { pendingTimeoutMs: 30_000, runningTimeoutMs: 30_000 })
    t.teardown(async () => await stopApps(run))
    const [appA, appB] = run.apps
    const work = (appB.modelListStore as RedisModelListStore).workStore as RedisWorkStore
    // The poll starts app B's subscriber; its runtime lives on a master other than the one it listens on.
    await appB.inject({ method: 'GET', url: `${routes.get('rt-warm', '00000000-0000-4000-8000-000000000000').url}?wait_ms=1` })
    let subscriberPort: number | undefined
    await until('app B subscribed', async () => (subscriberPort = await handle.subscriberPort(`${keyPrefix}-b`)) !== undefined)
    let rt = ''
    for (let i = 0; rt === ''; i++) if (await handle.masterOf(`{rt-lost-${i}}`) !== subscriberPort) rt = `rt-lost-${i}`
    const id = (((await appA.inject(routes.create(rt))).json()) as { id: string }).id

    // Held on B, its first read done.
    let reads = 0
    const get = work.get.bind(work)
    work.get = async (...args: Parameters<RedisWorkStore['get']>) => { const record = await get(...args); reads++; return record }
    let answeredAt = 0
    const poll = appB.inject({ method: 'GET', url: `${routes.get(rt, id).url}?wait_ms=20000` }).then(response => {
      answeredAt = performance.now()
      return response
    })
    await until('the poll held on B', async () => reads > 0)
    // From here B's subscriber hears nothing: as if the report's PUBLISH died with its master.
    ;(work as unknown as { subscriber: { hear: () => void } }).subscriber.hear = () => {}

    t.equal((await appA.inject(routes.heartbeat(rt))).json().pending_model_list?.id, id, 'claimed on A')
    t.equal((await appA.inject(routes.report(rt, id, { status: 'completed', models: catalog, supported: true }))).statusCode, 200, 'reported on A')
    await handle.untilReplicated()
    const master = await handle.masterOf(`{${rt}}`)
    await handle.kill(master)
    t.equal(answeredAt, 0, 'the poll still held when the master dies (no signal reached it)')
    await handle.untilTakenOver(master)
    const takenOverAt = performance.now()
    const response = await poll
    t.equal(response.json().status, 'completed', 'answered with the report the replica has')
    const ms = Math.round(answeredAt - takenOverAt)
    t.comment(`master ${master} killed; the held poll answered ${ms} ms after the takeover was seen`)
    t.ok(ms <= wakeBoundMs, `answered within ${wakeBoundMs} ms of the takeover (${ms} ms), not at its wait_ms`)
  })
})
