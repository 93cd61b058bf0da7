import t, { type Test } from 'tap'
import { modelListStoreContract, workStoreContract } from '../lib/testing/index'
import type { CatalogWindows } from '../lib/catalog'
import { MemoryWorkStore } from '../lib/store/memory/work-store'
import type { OpenedWork, OpenRequest, Outcome, WorkRecord, WorkStore } from '../lib/store/contract'
import { ModelListOnWorkStore } from '../lib/kinds/model-list-store'
import { isLive, WorkRules } from '../lib/rules'
import { failuresOf } from './helpers/recorder'

// The contract suites have teeth: each mutant is the memory store with one
// bug, and the suites, run against it with a test object that only records
// failures, must fail, naming the rule the bug breaks. The unmutated store is
// the control: it must pass the same way.

/** Rules of the same kind and timeouts with a method or a number changed. */
function rulesLike (rules: WorkRules, change: { retentionMs?: number, settle?: WorkRules['settle'], handBack?: (record: WorkRecord, now: number) => void }): WorkRules {
  const changed = new WorkRules({ pendingTimeoutMs: rules.pendingTimeoutMs, runningTimeoutMs: rules.runningTimeoutMs, retentionMs: change.retentionMs ?? rules.retentionMs }, rules.kind)
  if (change.settle !== undefined) changed.settle = change.settle
  if (change.handBack !== undefined) changed.handBack = change.handBack
  return changed
}

/** The memory store with its rules changed on every call. */
class WithRules extends MemoryWorkStore {
  constructor (options: ConstructorParameters<typeof MemoryWorkStore>[0], private readonly change: (rules: WorkRules) => WorkRules) { super(options) }
  async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> { return await super.open(this.change(rules), rt, request) }
  async get (rules: WorkRules, rt: string, id: string): Promise<WorkRecord | null> { return await super.get(this.change(rules), rt, id) }
  async claim (rules: WorkRules, rt: string, max: number): Promise<WorkRecord[]> { return await super.claim(this.change(rules), rt, max) }
  async settle (rules: WorkRules, rt: string, id: string, outcome: Outcome, cache: 'store' | 'drop' | 'keep'): Promise<WorkRecord | null> { return await super.settle(this.change(rules), rt, id, outcome, cache) }
  async handBack (rules: WorkRules, rt: string, id: string, claimedAt: number): Promise<WorkRecord | null> { return await super.handBack(this.change(rules), rt, id, claimedAt) }
}

type Options = { now: () => number, catalogCache?: CatalogWindows }

const mutants: Record<string, { make: (options: Options) => WorkStore, caughtBy: RegExp, listCaughtBy?: RegExp }> = {
  'never forgets records': {
    make: options => new WithRules(options, rules => rulesLike(rules, { retentionMs: 2 ** 31 - 1 })),
    caughtBy: /forgotten retentionMs after its last change: get answers null/,
    listCaughtBy: /forgotten: get answers null/
  },
  'counts timed-out requests as claimable': {
    // Probes and claims read a clock ten hours behind: every deadline looks ahead.
    make: options => new class extends MemoryWorkStore {
      private lag = 0
      now (): number { return super.now() - this.lag }
      probeNow (rt: string, kinds: readonly string[]): boolean[] { return this.lagging(() => super.probeNow(rt, kinds)) }
      async claim (rules: WorkRules, rt: string, max: number): Promise<WorkRecord[]> { return await this.lagging(async () => await super.claim(rules, rt, max)) }
      private lagging<T> (fn: () => T): T {
        this.lag = 36_000_000
        try { return fn() } finally { this.lag = 0 }
      }
    }(options),
    caughtBy: /past its deadline (the probe answers false|a claim answers nothing)/,
    listCaughtBy: /past it: (hasPending answers false|popPending answers null)/
  },
  'claims newest first': {
    make: options => new class extends MemoryWorkStore {
      async claim (rules: WorkRules, rt: string, max: number): Promise<WorkRecord[]> {
        const all = await super.claim(rules, rt, 1_000)
        const rest = all.slice(0, Math.max(0, all.length - max))
        // Back in their places, newest first: each goes to the front.
        for (const record of [...rest].reverse()) await super.handBack(rules, rt, record.id, record.updatedAt)
        return all.slice(rest.length).reverse()
      }
    }(options),
    caughtBy: /claims are oldest first.*: expected \[req 1, req 2, req 3\] got \[req 5, req 4, req 3\]/,
    listCaughtBy: /claims are oldest first/
  },
  'lets a late report overwrite': {
    make: options => new WithRules(options, rules => rulesLike(rules, {
      settle: (record, outcome, now) => {
        Object.assign(record, outcome.status === 'completed' ? { status: 'completed', result: outcome.result } : { status: 'failed', error: outcome.error }, { updatedAt: now })
        return true
      }
    })),
    caughtBy: /a late failure answers the terminal record unchanged/,
    listCaughtBy: /a late fail answers the completed request unchanged/
  },
  'ignores exclusive': {
    make: options => new class extends MemoryWorkStore {
      async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> { return await super.open(rules, rt, { ...request, exclusive: false }) }
    }(options),
    caughtBy: /busy while pending, naming the request in flight: expected \{ busy: req 1 \}/
  },
  'coalesce joins different params': {
    // Joins the oldest pending request it queued, whatever it asks.
    make: options => new class extends MemoryWorkStore {
      private readonly opened: string[] = []
      async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> {
        if (request.coalesce && !request.useCache) {
          for (const id of this.opened) {
            const record = await this.get(rules, rt, id)
            if (record?.status === 'pending') return { record, queued: false }
          }
        }
        const opened = await super.open(rules, rt, request)
        if ('record' in opened && opened.queued) this.opened.push(opened.record.id)
        return opened
      }
    }(options),
    caughtBy: /coalesce joins past a head that asks something else/
  },
  'hands a claim back to the back of the queue': {
    // Handed back as if newly queued: a fresh deadline files it behind the others.
    make: options => new WithRules(options, rules => rulesLike(rules, {
      handBack: (record, now) => Object.assign(record, { status: 'pending', updatedAt: now, deadline: now + rules.pendingTimeoutMs })
    })),
    caughtBy: /keeps its (old place|order)/,
    listCaughtBy: /keeps its old place/
  },
  'answers busy where it should queue': {
    // Every open of a kind refused as if exclusive and in flight: nothing is ever queued.
    make: options => new class extends MemoryWorkStore {
      async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> {
        const opened = await super.open(rules, rt, request)
        return 'record' in opened ? { busy: opened.record.id } : opened
      }
    }(options),
    caughtBy: /a new request is queued|open must answer a record/
  },
  'fails where a report was raced by another': {
    // A settle that throws: racing callers see an error, not the stored outcome.
    make: options => new class extends MemoryWorkStore {
      async settle (rules: WorkRules, rt: string, id: string, outcome: Outcome, cache: 'store' | 'drop' | 'keep'): Promise<WorkRecord | null> {
        const stored = await super.settle(rules, rt, id, outcome, cache)
        if (stored !== null && stored.status !== outcome.status) throw new Error('report refused')
        return stored
      }
    }(options),
    caughtBy: /threw Error: report refused/
  },
  'lets a late report store the catalog': {
    // A late report counts as accepted for the catalog, the record left as it is.
    make: options => new WithRules(options, rules => rulesLike(rules, {
      settle: (record, outcome, now) => isLive(record.status) ? rules.settle(record, outcome, now) : true
    })),
    caughtBy: /catalog.*(stores no catalog|does not store|does not drop)/
  },
  'lets an older report overwrite a newer catalog': {
    // What an accepted report does to the catalog is done by a request made just
    // then: whichever report lands last wins, however old its own request.
    make: options => new class extends MemoryWorkStore {
      async settle (rules: WorkRules, rt: string, id: string, outcome: Outcome, cache: 'store' | 'drop' | 'keep'): Promise<WorkRecord | null> {
        const before = await this.get(rules, rt, id)
        const stored = await super.settle(rules, rt, id, outcome, 'keep')
        if (cache !== 'keep' && before !== null && isLive(before.status)) {
          const now = await super.open(rules, rt, { coalesce: false, exclusive: false, useCache: false }) as { record: WorkRecord }
          await super.settle(rules, rt, now.record.id, outcome, cache)
        }
        return stored
      }
    }(options),
    caughtBy: /an older report overwrote a newer catalog.*the cache keeps the newer request's catalog/
  }
}

t.test('control: the memory store passes both suites through the recorder', async t => {
  t.same(await failuresOf(t => workStoreContract(t, { name: 'memory', make: (now, { catalogCache }) => new MemoryWorkStore({ now, catalogCache }) })), [])
  t.same(await failuresOf(t => modelListStoreContract(t, { name: 'memory', make: options => new ModelListOnWorkStore(new MemoryWorkStore({ now: options.now }), options) })), [])
})

/** One of `failures` names the rule (`rule` matches it): shown when it does, all of them when none does. */
function named (t: Test, suite: string, failures: string[], rule: RegExp): void {
  const naming = failures.find(failure => rule.test(failure))
  t.ok(naming !== undefined, naming !== undefined
    ? `${suite} names the rule: ${naming}`
    : `${suite}: no failure matches ${String(rule)}; its failures:\n${failures.join('\n')}`)
}

for (const [bug, mutant] of Object.entries(mutants)) {
  t.test(`mutant "${bug}" fails the contract, naming the rule`, async t => {
    const failures = await failuresOf(t => workStoreContract(t, { name: bug, make: (now, { catalogCache }) => mutant.make({ now, catalogCache }) }))
    t.ok(failures.length > 0, `the work store suite fails (${failures.length} failures)`)
    named(t, 'the work store suite', failures, mutant.caughtBy)
    if (mutant.listCaughtBy === undefined) return
    const listFailures = await failuresOf(t => modelListStoreContract(t, { name: bug, make: options => new ModelListOnWorkStore(mutant.make({ now: options.now }), options) }))
    named(t, 'the ModelListStore suite', listFailures, mutant.listCaughtBy)
  })
}

t.test('a ModelListStore that lets malformed ids through, and one without handBack', async t => {
  // Ids reach the store unchecked: the suite names each method that did not reject.
  const lax = (options: { now: () => number }): ModelListOnWorkStore => {
    const store = new ModelListOnWorkStore(new MemoryWorkStore({ now: options.now }), options as never)
    // A refusal swallowed three ways: answered as null, as nothing, as an error object.
    const swallowed = [null, undefined, new Error('swallowed')]
    for (const [i, name] of (['create', 'get', 'hasPending', 'popPending', 'complete', 'fail'] as const).entries()) {
      const method = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>
      Object.assign(store, { [name]: async (...args: unknown[]) => await method(...args).catch(() => swallowed[i % 3]) })
    }
    return store
  }
  const failures = await failuresOf(t => modelListStoreContract(t, { name: 'lax ids', make: lax }))
  named(t, 'the ModelListStore suite', failures, /rejects a malformed id.*no error|rejects a malformed id.*null/)
  // No handBack: the suite says so and does not fail for it.
  const plain = (options: { now: () => number }): ModelListOnWorkStore => {
    const store = new ModelListOnWorkStore(new MemoryWorkStore({ now: options.now }), options as never)
    Object.assign(store, { handBack: undefined })
    return store
  }
  t.same(await failuresOf(t => modelListStoreContract(t, { name: 'no handBack', make: plain })), [])
})
