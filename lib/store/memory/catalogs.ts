import { resolveCatalogCache, type CatalogCacheOptions, type CatalogWindows } from '../../catalog'
import type { CachedResult, CatalogAction } from '../contract'

/** A runtime's catalog (none after a drop), with the creation order of the request it came from. */
interface Kept {
  result: string | undefined
  storedAt: number
  order: number
}

/** Each runtime's cached result (the model list's catalog), kept while it may be served. */
export class Catalogs {
  /** The cache's windows, or null when it is off. */
  readonly windows: CatalogWindows | null
  // Kept in order of storing, so forgetting visits only what is due.
  private readonly byRuntime = new Map<string, Kept>()

  constructor (option: CatalogCacheOptions | false | undefined) {
    this.windows = resolveCatalogCache(option)
  }

  get (runtimeId: string): CachedResult | undefined {
    const kept = this.byRuntime.get(runtimeId)
    return kept?.result === undefined ? undefined : { result: kept.result, storedAt: kept.storedAt }
  }

  /**
   * What an accepted report of the request created `order`th does to the
   * runtime's catalog: newest discovery wins, so a request older than the one
   * the catalog (or its drop) came from changes nothing.
   */
  apply (runtimeId: string, cache: CatalogAction, result: string | undefined, now: number, order: number): void {
    if (this.windows === null || cache === 'keep') return
    const kept = this.byRuntime.get(runtimeId)
    if (kept !== undefined && order < kept.order) return
    this.byRuntime.delete(runtimeId)
    this.byRuntime.set(runtimeId, { result: cache === 'store' ? result : undefined, storedAt: now, order })
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
