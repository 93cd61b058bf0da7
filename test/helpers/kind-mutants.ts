// Broken work stores for what the kinds promise beyond the model list:
// exclusivity, claims in creation order (batches too), params kept as POSTed,
// coalescing on equal params. Each is the memory store with one bug; the kinds
// soak (test/helpers/soak-kinds.ts) or the exported work store contract, or
// both, must catch it, naming the rule (test/kinds-mutants.test.ts).
import { randomUUID } from 'node:crypto'
import { MemoryWorkStore, type MemoryWorkStoreOptions } from '../../lib/store/memory/work-store'
import type { OpenedWork, OpenRequest, WorkRecord, WorkStore } from '../../lib/store/contract'
import type { WorkRules } from '../../lib/rules'

export interface KindMutant {
  does: string
  make: (options: MemoryWorkStoreOptions) => WorkStore
  /** The soak's violation that names the bug; absent when the soak cannot see it. */
  soak?: RegExp
  /** The contract suite's failure that names the bug; absent when the suite cannot see it. */
  contract?: RegExp
}

/** The memory store with its params changed on the way in (a store that re-serializes them). */
function rewritingParams (rewrite: (params: string) => string): (options: MemoryWorkStoreOptions) => WorkStore {
  return options => new class extends MemoryWorkStore {
    async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> {
      return await super.open(rules, rt, request.params === undefined ? request : { ...request, params: rewrite(request.params) })
    }
  }(options)
}

export const kindMutants: Record<string, KindMutant> = {
  'exclusive lets two in flight': {
    does: 'open ignores exclusive',
    make: options => new class extends MemoryWorkStore {
      async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> { return await super.open(rules, rt, { ...request, exclusive: false }) }
    }(options),
    soak: /two in flight/,
    contract: /busy while pending/
  },
  'exclusive refuses only while pending': {
    does: 'a running request does not hold off another',
    make: options => new class extends MemoryWorkStore {
      async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> {
        const pending = this.probeNow(rt, [rules.kind])[0]
        return await super.open(rules, rt, { ...request, exclusive: request.exclusive && pending })
      }
    }(options),
    soak: /two in flight/,
    contract: /busy while running/
  },
  'exclusive names the wrong request': {
    does: 'a 409 names a request that is not in flight',
    make: options => new class extends MemoryWorkStore {
      async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> {
        const opened = await super.open(rules, rt, request)
        return 'busy' in opened ? { busy: randomUUID() } : opened
      }
    }(options),
    soak: /answered 409 naming .*, which was not in flight/,
    contract: /naming the request in flight/
  },
  'batch claimed out of creation order': {
    does: 'a batch comes newest first',
    make: options => new class extends MemoryWorkStore {
      async claim (rules: WorkRules, rt: string, max: number): Promise<WorkRecord[]> { return (await super.claim(rules, rt, max)).reverse() }
    }(options),
    soak: /out of creation order/,
    contract: /claims are oldest first/
  },
  'claims skip the oldest': {
    does: 'the oldest claimable request is left for later while newer ones go',
    make: options => new class extends MemoryWorkStore {
      async claim (rules: WorkRules, rt: string, max: number): Promise<WorkRecord[]> {
        const taken = await super.claim(rules, rt, max + 1)
        if (taken.length < 2) return taken
        // Back to the front of the queue, as a heartbeat that gave up would hand it back.
        await this.handBack(rules, rt, taken[0].id, taken[0].updatedAt)
        return taken.slice(1)
      }
    }(options),
    soak: /claims are not oldest first|while .* was claimable/,
    contract: /claims are oldest first|claims one at a time are oldest first/
  },
  'batch past claimBatch': {
    does: 'a claim takes one more than asked',
    make: options => new class extends MemoryWorkStore {
      async claim (rules: WorkRules, rt: string, max: number): Promise<WorkRecord[]> { return await super.claim(rules, rt, max + 1) }
    }(options),
    // A claimBatch-1 kind's heartbeat answers the first: the other is taken and handed to nobody.
    soak: /more than its claimBatch|is running but no heartbeat claimed it|while .* was claimable/,
    contract: /at most max|no claim answers more than max/
  },
  'params keys reordered': {
    does: 'params stored with their keys in reverse order',
    make: rewritingParams(params => {
      const value = JSON.parse(params) as unknown
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return params
      return JSON.stringify(Object.fromEntries(Object.entries(value).reverse()))
    }),
    soak: /params of soak_batch .* via the heartbeat are/
  },
  'params normalized': {
    does: 'params text normalized to Unicode NFC (e + combining accent becomes é)',
    make: rewritingParams(params => params.normalize('NFC')),
    soak: /params of soak_batch .* are|do not hold the params as POSTed/
  },
  'params through UTF-8': {
    does: 'params strings round-tripped through UTF-8 bytes (lone surrogates become U+FFFD)',
    make: rewritingParams(params => JSON.stringify(JSON.parse(params, (_key, value: unknown) => typeof value === 'string' ? Buffer.from(value).toString() : value))),
    soak: /params of soak_batch .* are|do not hold the params as POSTed/
  },
  'coalesce joins different params': {
    does: 'a POST joins the oldest pending request of its kind, whatever it asks',
    make: options => new class extends MemoryWorkStore {
      private readonly opened: Array<{ rt: string, kind: string, id: string }> = []
      async open (rules: WorkRules, rt: string, request: OpenRequest): Promise<OpenedWork> {
        if (request.coalesce && !request.exclusive && !request.useCache) {
          for (const { id } of this.opened.filter(opened => opened.rt === rt && opened.kind === rules.kind)) {
            const record = await this.get(rules, rt, id)
            if (record?.status === 'pending') return { record, queued: false }
          }
        }
        const opened = await super.open(rules, rt, request)
        if ('record' in opened && opened.queued) this.opened.push({ rt, kind: rules.kind, id: opened.record.id })
        return opened
      }
    }(options),
    soak: /joined .*, which asks/,
    contract: /coalesce joins past a head that asks something else|coalesce joins the request with equal params/
  }
}
