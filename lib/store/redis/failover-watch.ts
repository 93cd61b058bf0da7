// A Cluster master that dies takes with it what it published but had not yet
// passed on over the Cluster bus: a report accepted just before the kill
// wakes no held poll anywhere, and no signal will ever come. The store's own
// client sees the master go (its node connection ends: '-node') and, through
// its slots refreshes, the replica take over. Then every held poll reads once
// more, and finds what the promoted replica has. A replica with no traffic on
// the lost slots would never learn of the takeover (ioredis refreshes its
// slots map when a command meets a moved or closed node, not on a timer unless
// slotsRefreshInterval is set): while a lost master is not replaced the watch
// asks for the slots map itself, twice a second, for a minute at most.

/** How often the watch refreshes the slots map while a lost master has not been replaced. */
export const refreshEveryMs = 500
/** For how long after a loss (a failover takes cluster-node-timeout and an election); the client's own refreshes count after that too. */
export const refreshForMs = 60_000

/** What the watch needs of the host's client: an ioredis `Cluster` (anything else is not watched). */
interface ClusterClient {
  isCluster?: boolean
  /** Per slot, the keys ("host:port") of the nodes serving it, its master first; a hole for a slot none serves. */
  slots: Array<string[] | undefined>
  on(event: '-node', listener: (node: NodeConnection) => void): unknown
  on(event: 'refresh', listener: () => void): unknown
  off(event: '-node' | 'refresh', listener: (...args: never[]) => void): unknown
  /** ioredis: fetch the slots map again ('refresh' follows); a call while one is under way joins it. */
  refreshSlotsCache?: () => void
}

/** A node connection of the pool (an ioredis `Redis`). */
interface NodeConnection {
  options: { host: string, port: number }
}

export class FailoverWatch {
  private readonly client: ClusterClient
  private readonly failedOver: () => void
  // Masters whose node connection ended while they still served slots.
  private readonly lost = new Set<string>()
  private watching = false
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private refreshUntil = 0

  constructor (client: unknown, failedOver: () => void) {
    this.client = client as ClusterClient
    this.failedOver = failedOver
  }

  /** Watches from now on (a Cluster only); again, or once stopped, is nothing. */
  start (): void {
    if (this.watching || this.stopped || this.client.isCluster !== true) return
    this.watching = true
    this.client.on('-node', this.nodeLost)
    this.client.on('refresh', this.refreshed)
  }

  stop (): void {
    this.stopped = true
    if (!this.watching) return
    this.watching = false
    this.lost.clear()
    this.quiet()
    this.client.off('-node', this.nodeLost)
    this.client.off('refresh', this.refreshed)
  }

  private serves (key: string): boolean {
    for (const nodes of this.client.slots) if (nodes?.[0] === key) return true
    return false
  }

  // A node connection ended. Still serving slots: its replica has yet to take
  // over. Serving none (a replica; or a master this client learnt had failed
  // over before it noticed the connection go): read again now.
  private readonly nodeLost = (node: NodeConnection): void => {
    const key = `${node.options.host}:${node.options.port}`
    if (!this.serves(key)) return this.failedOver()
    this.lost.add(key)
    this.refreshUntil = Date.now() + refreshForMs
    if (this.timer === undefined && typeof this.client.refreshSlotsCache === 'function') {
      this.timer = setInterval(() => this.tick(), refreshEveryMs)
      this.timer.unref()
    }
  }

  private tick (): void {
    if (this.lost.size === 0 || Date.now() > this.refreshUntil) return this.quiet()
    ;(this.client.refreshSlotsCache as () => void)()
  }

  private quiet (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  // A slots refresh: a lost master no longer in the map has been replaced.
  private readonly refreshed = (): void => {
    if (this.lost.size === 0) return
    let replaced = false
    for (const key of this.lost) {
      if (this.serves(key)) continue
      this.lost.delete(key)
      replaced = true
    }
    if (replaced) this.failedOver()
  }
}
