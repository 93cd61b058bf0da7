/**
 * The Redis server's clock as this process knows it: its own, set right by
 * what the last read said the server's was (a held poll sleeps until a
 * deadline the server stamped). Off by at most that read's latency.
 */
export class ServerClock {
  private offset = 0
  readonly now = (): number => Date.now() + this.offset

  heard (serverNow: string | undefined): void {
    if (serverNow !== undefined) this.offset = Number(serverNow) - Date.now()
  }
}
