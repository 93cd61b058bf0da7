import { checkDuration, given } from './rules'
import { InvalidOptionError, shown } from './errors'

// The catalog cache: the last catalog a daemon reported for its runtime,
// answered to a POST while it is young enough (stale-while-revalidate).

export interface CatalogCacheOptions {
  /** A catalog younger than this answers a POST at once. */
  serveWindowMs?: number
  /** A catalog older than this also queues one background refresh. */
  revalidateAfterMs?: number
}

export interface CatalogWindows {
  serveWindowMs: number
  revalidateAfterMs: number
}

export const defaultServeWindowMs = 86_400_000
export const defaultRevalidateAfterMs = 60_000


/** The windows, or null when the cache is off (`false`). */
export function resolveCatalogCache (option: CatalogCacheOptions | false | undefined): CatalogWindows | null {
  if (option === false) return null
  if (option === undefined) return { serveWindowMs: defaultServeWindowMs, revalidateAfterMs: defaultRevalidateAfterMs }
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new InvalidOptionError(`catalogCache must be an object or false, got ${shown(option)}`)
  }
  const serveWindowMs = checkDuration('catalogCache.serveWindowMs', given(option.serveWindowMs, defaultServeWindowMs))
  const revalidateAfterMs = checkDuration('catalogCache.revalidateAfterMs', given(option.revalidateAfterMs, defaultRevalidateAfterMs))
  if (revalidateAfterMs > serveWindowMs) {
    throw new InvalidOptionError(`catalogCache.revalidateAfterMs (${revalidateAfterMs}) must not exceed catalogCache.serveWindowMs (${serveWindowMs})`)
  }
  return { serveWindowMs, revalidateAfterMs }
}
