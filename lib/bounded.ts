export class StoreTimeoutError extends Error {
  constructor (operation: string, ms: number) {
    super(ms > 0 ? `model list store ${operation} took longer than ${ms} ms` : `model list store ${operation}: no time left of storeTimeoutMs`)
    this.name = 'StoreTimeoutError'
  }
}

/**
 * Settles with `work`'s result, or rejects once `ms` pass, whatever the store
 * (or its Redis client's retries) does meanwhile. A store that throws at once
 * rejects the same way as one that rejects. With no time left (`ms` 0) the
 * work is not started: nothing is sent to a store already given up on.
 */
export function bounded<T> (operation: string, ms: number, work: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    if (ms <= 0) {
      reject(new StoreTimeoutError(operation, ms))
      return
    }
    const timer = setTimeout(() => reject(new StoreTimeoutError(operation, ms)), ms)
    const done = (): void => clearTimeout(timer)
    new Promise<T>(resolve => resolve(work())).then(
      value => { done(); resolve(value) },
      (error: unknown) => { done(); reject(error) }
    )
  })
}
