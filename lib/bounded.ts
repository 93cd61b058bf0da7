export class StoreTimeoutError extends Error {
  constructor (operation: string, ms: number) {
    super(ms > 0 ? `model list store ${operation} took longer than ${ms} ms` : `model list store ${operation}: no time left of storeTimeoutMs`)
    this.name = 'StoreTimeoutError'
  }
}

/**
 * Settles with `work`'s result, or rejects once `ms` pass (and the event loop
 * has had a turn to deliver an answer that came meanwhile), whatever the store
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
    // A timer that fires late (the event loop was busy: a burst of wake-ups)
    // may find the store's answer already arrived and not yet read: one turn
    // of the loop reads it before we give up. Waiting for the loop is not
    // the store being slow.
    const timer = setTimeout(() => { setImmediate(() => { reject(new StoreTimeoutError(operation, ms)) }) }, ms)
    const done = (): void => clearTimeout(timer)
    new Promise<T>(resolve => resolve(work())).then(
      value => { done(); resolve(value) },
      (error: unknown) => { done(); reject(error) }
    )
  })
}
