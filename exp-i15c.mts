import Fastify from 'fastify'
import fastifyModelList from './lib/index'
import { Clock } from './test/helpers/clock'
import { kindMutants } from './test/helpers/kind-mutants'
import { soakKinds, soakTimeouts, soakWork } from './test/helpers/soak-kinds'
for (const bug of ['batch past claimBatch', 'claims skip the oldest']) {
  const clock = new Clock()
  const store = kindMutants[bug].make({ now: clock.now })
  const heard = [0, 0, 0]
  const replicas = []
  for (let i = 0; i < 3; i++) {
    const app = Fastify()
    await app.register(fastifyModelList, { prefix: '/api', store, work: soakWork, ...soakTimeouts, catalogCache: false, coalesce: i % 2 === 0, getRuntime: async () => ({ online: true }), authorizeDaemon: async () => true, notifyPendingWork: () => { heard[i]++ } })
    await app.ready()
    replicas.push(app)
  }
  try {
    const r = await soakKinds({ seed: 891026398, operations: 3000, replicas, clock, hintsHeard: () => heard, wallClockRetention: false, stopAfter: 10 })
    console.log(bug, r.violationCount, r.violations.slice(0, 3), r.counts)
  } catch (e) { console.log(bug, 'THREW', e) }
  for (const a of replicas) await a.close()
}
