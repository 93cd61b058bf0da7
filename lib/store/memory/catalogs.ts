import { resolveCatalogCache, type CatalogCacheOptions, type CatalogWindows } from '../../catalog'
import type { CachedResult, CatalogAction } from '../contract'

/** Each runtime's cached result (the model list's catalog), kept while it may be served. */
export class Catalogs {
  /** The cache's windows, or null when it is off. */
  readonly windows: CatalogWindows | null
  // Kept in order of storing, so forgetting visits only what is due.
  private readonly byRuntime = new Map<string, CachedResult>()

  constructor (option: CatalogCacheOptions | false | undefined) {
    this.windows = resolveCatalogCache(option)
  }

  get (runtimeId: string): CachedResult | undefined {
    return this.byRuntime.get(runtimeId)
  }

  /** What an accepted report does to the runtime's catalog. */
  apply (runtimeId: string, cache: CatalogAction, result: string | undefined, now: number): void {
    if (this.windows === null || cache === 'keep') return
    this.byRuntime.delete(runtimeId)
    if (cache === 'store') this.byRuntime.set(runtimeId, { result: result as string, storedAt: now })
  }

  /** Forgets those past the serve window: few (one per runtime), and they leave in the order stored. */
  sweep (now: number): void {
    if (this.windows === null) return
    for (const [runtimeId, cached] of this.byRuntime) {
      if (now - cached.storedAt < this.windows.serveWindowMs) return
      this.byRuntime.delete(runtimeId)
    }
  }
}
