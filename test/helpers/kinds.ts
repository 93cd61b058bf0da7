import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import fastifyModelList, { daemonWork, type FastifyModelListOptions } from '../../lib/index'
import { ModelListOnWorkStore } from '../../lib/kinds/model-list-store'
import type { WorkStore } from '../../lib/store/contract'
import { Clock } from './clock'
import { hooks } from './apps'
import { eventually, listening } from './picker-contract'

// Other kinds of daemon work through the plugin, on one backend: two replicas
// (two apps on one store), a batch kind, an exclusive kind, params, held polls
// and hints for a kind that is not the model list, and bad input per kind.

export const skillImport = daemonWork({
  name: 'skill_import',
  path: 'skill-imports',
  params: Type.Object({ skill: Type.String({ maxLength: 256 }), version: Type.Optional(Type.Integer({ minimum: 1 })) }),
  result: Type.Object({ imported: Type.Boolean(), files: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 })) }),
  pendingTimeoutMs: 180_000,
  coalesce: false,
  claimBatch: 10
})
export const cliUpdate = daemonWork({
  name: 'cli_update',
  result: Type.Object({ version: Type.String({ maxLength: 64 }) }),
  exclusive: true,
  pendingTimeoutMs: 120_000,
  runningTimeoutMs: 150_000
})
export const localSkills = daemonWork({
  name: 'local_skills',
  result: Type.Object({ skills: Type.Array(Type.Object({ name: Type.String({ maxLength: 256 }) }), { maxItems: 1_000 }) })
})
export const work = [skillImport, cliUpdate, localSkills] as const

/** One backend the kinds suite runs on: two replicas of one deployment, and what their stores send. */
export interface KindsTarget {
  name: string
  setup(): Promise<{ skip: string | false }>
  /** Register options for one replica (a store, or a client and key prefix); `replica` is 0 or 1. */
  options(replica: number, clock: Clock): Partial<FastifyModelListOptions>
  /**
   * Counts store round trips of a replica made from here on: Redis commands
   * its client sends, or (memory) calls into its work store.
   */
  count(replica: number, app: FastifyInstance): () => number
  teardown(): Promise<void>
}

// The work store methods a call into is what a round trip is elsewhere.
const countedMethods = ['open', 'get', 'probe', 'probeNow', 'mayHavePending', 'claim', 'settle']
const callsOf = new WeakMap<object, number>()
const inside = new WeakSet<object>()

/**
 * Counts calls into the work stores of these classes, per store object. The
 * plugin finds a store's optional methods once, at start-up: call this before
 * any app is registered. A call made from inside another (a probe of several
 * kinds through mayHavePending) is not counted again, nor a probeNow that
 * answered undefined (it could not answer at once: the heartbeat then probes).
 */
export function countWorkStoreCalls (...classes: Array<{ prototype: object }>): void {
  for (const { prototype } of classes) {
    const spied = prototype as Record<string, (...args: unknown[]) => unknown>
    for (const method of countedMethods) {
      const original = spied[method]
      if (typeof original !== 'function' || (original as { counted?: true }).counted === true) continue
      const counting = function (this: object, ...args: unknown[]): unknown {
        if (inside.has(this)) return original.apply(this, args)
        inside.add(this)
        let answer: unknown
        try {
          answer = original.apply(this, args)
        } finally {
          inside.delete(this)
        }
        // A probeNow that cannot answer at once (undefined) sends nothing: the heartbeat then probes.
        if (method !== 'probeNow' || answer !== undefined) callsOf.set(this, (callsOf.get(this) ?? 0) + 1)
        return answer
      }
      spied[method] = Object.assign(counting, { counted: true as const })
    }
  }
}

/** Calls into this work store from here on (the memory store: each is what a round trip is elsewhere); see countWorkStoreCalls. */
export function countBackendCalls (backend: WorkStore): () => number {
  const start = callsOf.get(backend) ?? 0
  return () => (callsOf.get(backend) ?? 0) - start
}

/** The work store a built-in store runs, which every kind of an app shares. */
export function workBackend (app: FastifyInstance): WorkStore {
  const store = app.modelListStore
  if (!(store instanceof ModelListOnWorkStore)) throw new Error('a built-in store runs a work store of its own')
  return store.workStore
}

interface Replicas { a: FastifyInstance, b: FastifyInstance, clock: Clock, hints: { a: string[], b: string[] } }

export function kindsSuite (t: Test, target: KindsTarget): void {
  t.test(`other kinds of work: ${target.name}`, async t => {
    const { skip } = await target.setup()
    if (skip !== false) {
      t.plan(0, skip)
      return
    }
    t.teardown(() => target.teardown())

    const replicas = async (t: Test): Promise<Replicas> => {
      const clock = new Clock()
      const hints = { a: [] as string[], b: [] as string[] }
      const make = async (name: 'a' | 'b', replica: number): Promise<FastifyInstance> => {
        const app = Fastify()
        await app.register(fastifyModelList, {
          ...hooks,
          prefix: '/api',
          work,
          notifyPendingWork: (rt, kind) => { hints[name].push(`${rt} ${kind}`) },
          ...target.options(replica, clock)
        })
        app.post<{ Params: { runtimeId: string } }>('/api/daemon/heartbeat/:runtimeId', async request => {
          const pending = await app.claimPendingWork<typeof work>(request.params.runtimeId, request)
          return { status: 'ok', ...pending }
        })
        await app.ready()
        t.teardown(() => app.close())
        await listening(app.modelListStore)
        return app
      }
      return { a: await make('a', 0), b: await make('b', 1), clock, hints }
    }
    const rt = (): string => `rt-${randomUUID()}`
    const post = async (app: FastifyInstance, url: string, payload?: unknown) => await app.inject({ method: 'POST', url: `/api${url}`, ...(payload !== undefined && { payload: payload as object }) })
    const get = async (app: FastifyInstance, url: string) => await app.inject({ method: 'GET', url: `/api${url}` })
    const heartbeat = async (app: FastifyInstance, runtimeId: string) => (await post(app, `/daemon/heartbeat/${runtimeId}`)).json<Record<string, any>>()

    t.test('two kinds queued for one runtime: one claimPendingWork claims both, with one probe round trip', async t => {
      const { a, b } = await replicas(t)
      const runtimeId = rt()
      const imported = (await post(a, `/runtimes/${runtimeId}/skill-imports`, { skill: 'search' })).json()
      const update = (await post(b, `/runtimes/${runtimeId}/cli-update`)).json()
      const nothing = rt()
      // Warm: the scripts are loaded, so no call is sent twice (EVALSHA, then EVAL).
      const warm = rt()
      await post(a, `/runtimes/${warm}/skill-imports`, { skill: 'warm' })
      await post(a, `/runtimes/${warm}/cli-update`)
      t.ok(await a.claimPendingWork(warm))
      const sent = target.count(0, a)
      t.equal(await a.claimPendingWork(nothing), null, 'a runtime with nothing queued')
      t.equal(sent(), 1, 'costs one round trip: the probe of all four kinds')
      const claimed = await a.claimPendingWork<typeof work>(runtimeId)
      t.same(claimed, {
        pending_skill_import: [{ id: imported.id, params: { skill: 'search' } }],
        pending_cli_update: { id: update.id }
      })
      t.equal(sent(), 4, 'then one probe, and one claim per kind that had work')
      t.equal(await b.claimPendingWork(runtimeId), null, 'each request to one caller')
    })

    t.test('a batch kind with 25 queued: 10, 10, 5 over three heartbeats across two replicas, each once', async t => {
      const { a, b } = await replicas(t)
      const runtimeId = rt()
      const ids: string[] = []
      for (let i = 0; i < 25; i++) ids.push((await post(i % 2 === 0 ? a : b, `/runtimes/${runtimeId}/skill-imports`, { skill: `skill-${i}` })).json().id)
      const batches = [await heartbeat(a, runtimeId), await heartbeat(b, runtimeId), await heartbeat(a, runtimeId)]
      t.same(batches.map(batch => batch.pending_skill_import.length), [10, 10, 5])
      const claimed = batches.flatMap(batch => batch.pending_skill_import as Array<{ id: string, params: { skill: string } }>)
      t.same(claimed.map(item => item.id), ids, 'oldest first, each once')
      t.same(claimed.map(item => item.params.skill), ids.map((_, i) => `skill-${i}`), 'each with its params')
      t.same(await heartbeat(b, runtimeId), { status: 'ok' }, 'nothing left')
    })

    t.test('exclusive: 409 on another replica while pending or running, naming the request; accepted again once terminal', async t => {
      const { a, b } = await replicas(t)
      const runtimeId = rt()
      const first = (await post(a, `/runtimes/${runtimeId}/cli-update`)).json()
      for (const state of ['pending', 'running']) {
        if (state === 'running') t.same((await heartbeat(b, runtimeId)).pending_cli_update, { id: first.id })
        const busy = await post(b, `/runtimes/${runtimeId}/cli-update`)
        t.equal(busy.statusCode, 409, state)
        t.equal(busy.json().code, 'FST_MODEL_LIST_WORK_BUSY')
        t.match(busy.json().message, first.id, 'the body names the request in flight')
      }
      const report = await post(b, `/daemon/runtimes/${runtimeId}/cli-update/${first.id}/result`, { status: 'completed', result: { version: '2.0.0' } })
      t.equal(report.statusCode, 200)
      const next = await post(a, `/runtimes/${runtimeId}/cli-update`)
      t.equal(next.statusCode, 200, 'terminal: accepted')
      t.not(next.json().id, first.id)
      t.equal((await post(b, `/runtimes/${runtimeId}/models`)).statusCode, 200, 'other kinds are not held up')
    })

    t.test('exclusive across replicas at once: one request is accepted, the others answer 409', async t => {
      const { a, b } = await replicas(t)
      const runtimeId = rt()
      const answers = await Promise.all(Array.from({ length: 6 }, async (_, i) => await post(i % 2 === 0 ? a : b, `/runtimes/${runtimeId}/cli-update`)))
      const accepted = answers.filter(answer => answer.statusCode === 200)
      t.equal(accepted.length, 1)
      t.same(answers.filter(answer => answer.statusCode === 409).length, 5)
    })

    t.test('params survive create, claim and GET; the result is read back on the other replica', async t => {
      const { a, b } = await replicas(t)
      const runtimeId = rt()
      const params = { skill: 'résumé ✓', version: 3 }
      const created = (await post(a, `/runtimes/${runtimeId}/skill-imports`, { ...params, unknown: 'dropped' })).json()
      t.same(created.params, params, 'on create, unknown fields dropped')
      t.same((await heartbeat(b, runtimeId)).pending_skill_import, [{ id: created.id, params }], 'in the heartbeat answer')
      const read = (await get(b, `/runtimes/${runtimeId}/skill-imports/${created.id}`)).json()
      t.same({ status: read.status, params: read.params }, { status: 'running', params }, 'on GET')
      await post(a, `/daemon/runtimes/${runtimeId}/skill-imports/${created.id}/result`, { status: 'completed', result: { imported: true, files: ['SKILL.md'] } })
      const done = (await get(b, `/runtimes/${runtimeId}/skill-imports/${created.id}`)).json()
      t.same(done, { id: created.id, runtime_id: runtimeId, status: 'completed', params, result: { imported: true, files: ['SKILL.md'] }, created_at: created.created_at, updated_at: done.updated_at })
    })

    t.test('coalesce (the default) joins a pending request with equal params only', async t => {
      const { a, b } = await replicas(t)
      const runtimeId = rt()
      const first = (await post(a, `/runtimes/${runtimeId}/local-skills`)).json()
      t.equal((await post(b, `/runtimes/${runtimeId}/local-skills`, {})).json().id, first.id, 'joined across replicas')
      const imports = [(await post(a, `/runtimes/${runtimeId}/skill-imports`, { skill: 'x' })).json().id, (await post(b, `/runtimes/${runtimeId}/skill-imports`, { skill: 'x' })).json().id]
      t.not(imports[0], imports[1], 'coalesce: false queues each')
    })

    t.test('held polls and hints work for a second kind, across replicas', async t => {
      const { a, b, hints } = await replicas(t)
      const runtimeId = rt()
      const created = (await post(a, `/runtimes/${runtimeId}/local-skills`)).json()
      await eventually('the hint on both replicas', () => hints.a.includes(`${runtimeId} local_skills`) && hints.b.includes(`${runtimeId} local_skills`))
      t.pass('notifyPendingWork(runtimeId, kind) was called on both replicas')
      t.same((await heartbeat(b, runtimeId)).pending_local_skills, { id: created.id })
      const started = Date.now()
      const held = get(a, `/runtimes/${runtimeId}/local-skills/${created.id}?wait_ms=20000`)
      // The report lands on the other replica once the poll is held.
      setTimeout(() => { void post(b, `/daemon/runtimes/${runtimeId}/local-skills/${created.id}/result`, { status: 'completed', result: { skills: [{ name: 'search' }] } }) }, 50)
      const answer = (await held).json()
      t.equal(answer.status, 'completed')
      t.same(answer.result, { skills: [{ name: 'search' }] })
      t.ok(Date.now() - started < 5_000, 'answered when the report landed, not at wait_ms')
    })

    t.test('bad input per kind answers 400 and changes nothing; an unknown kind\'s path answers 404', async t => {
      const { a, b } = await replicas(t)
      const runtimeId = rt()
      await post(a, `/runtimes/${rt()}/cli-update`)
      const before = target.count(0, a)
      for (const payload of [{ skill: 5 }, {}, { skill: 'x'.repeat(257) }, { skill: 'x', version: 0 }, { skill: 'x', version: '2' }]) {
        t.equal((await post(a, `/runtimes/${runtimeId}/skill-imports`, payload)).statusCode, 400, JSON.stringify(payload).slice(0, 60))
      }
      t.equal((await post(a, `/runtimes/${runtimeId}/skill-imports`)).statusCode, 400, 'no body where params are required')
      t.equal((await post(a, `/runtimes/${runtimeId}/cli-update`, { unexpected: true })).statusCode, 200, 'unknown fields are dropped, not refused')
      t.equal(before(), 1, 'only the accepted POST reached the store')
      const created = (await heartbeat(b, runtimeId)).pending_cli_update
      const reports = [
        { status: 'completed' },
        { status: 'completed', result: { version: 2 } },
        { status: 'completed', result: { version: 'x'.repeat(65) } },
        { status: 'done', result: { version: '1' } },
        { status: 'failed', error: 5 }
      ]
      const sent = target.count(1, b)
      for (const report of reports) {
        t.equal((await post(b, `/daemon/runtimes/${runtimeId}/cli-update/${created.id as string}/result`, report)).statusCode, 400, JSON.stringify(report))
      }
      t.equal(sent(), 0, 'no bad report reached the store')
      t.equal((await get(a, `/runtimes/${runtimeId}/cli-update/${created.id as string}`)).json().status, 'running', 'the request is as it was')
      t.equal((await post(a, `/runtimes/${runtimeId}/no-such-kind`)).statusCode, 404)
      t.equal((await get(a, `/runtimes/${runtimeId}/no-such-kind/${created.id as string}`)).statusCode, 404)
      t.equal((await post(a, `/daemon/runtimes/${runtimeId}/no-such-kind/${created.id as string}/result`, { status: 'failed' })).statusCode, 404)
      t.equal((await get(a, `/runtimes/${runtimeId}/skill-imports/${created.id as string}`)).statusCode, 404, 'a request of another kind is not found')
    })
  })
}
