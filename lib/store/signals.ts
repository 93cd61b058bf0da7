import type { QueuedListener, WorkRecord } from './contract'

// The signals a store hands to its listeners in this process: "a request was
// settled" (wakes held polls) and "work was queued" (the wake-up hint). The
// memory store emits them itself; the Redis store emits what its subscriber
// hears, so every replica gets the signals of every other. A settle's signal
// may carry the settled record: the polls it wakes then answer without a read.

type Wake = (record?: WorkRecord) => void

export class Signals {
  // Every poll held on one request shares the one signal its settle sends.
  private readonly settledWatchers = new Map<string, Set<Wake>>()
  private readonly queuedListeners = new Set<QueuedListener>()

  watchSettled (runtimeId: string, requestId: string, wake: Wake): () => void {
    const key = `${runtimeId} ${requestId}`
    let watchers = this.settledWatchers.get(key)
    if (watchers === undefined) this.settledWatchers.set(key, watchers = new Set())
    watchers.add(wake)
    return () => {
      watchers.delete(wake)
      if (watchers.size === 0 && this.settledWatchers.get(key) === watchers) this.settledWatchers.delete(key)
    }
  }

  onQueued (listener: QueuedListener): () => void {
    // Wrapped, so one listener added twice is called twice and removed once each.
    const entry: QueuedListener = (runtimeId, kind) => listener(runtimeId, kind)
    this.queuedListeners.add(entry)
    return () => { this.queuedListeners.delete(entry) }
  }

  /** `record`, when given, is the settled record as `get` answers it: shared by every watcher, so never changed by them. */
  emitSettled (runtimeId: string, requestId: string, record?: WorkRecord): void {
    const watchers = this.settledWatchers.get(`${runtimeId} ${requestId}`)
    if (watchers === undefined) return
    for (const wake of [...watchers]) wake(record)
  }

  emitQueued (runtimeId: string, kind: string): void {
    for (const listener of [...this.queuedListeners]) listener(runtimeId, kind)
  }

  /** Wakes every held poll to read again: signals sent while a subscriber reconnected are lost. */
  wakeAll (): void {
    for (const watchers of [...this.settledWatchers.values()]) {
      for (const wake of [...watchers]) wake()
    }
  }
}
