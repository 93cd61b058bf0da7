/** A hand-moved clock for the `now` option: time in tests never comes from sleeps. */
export class Clock {
  t = Date.UTC(2026, 0, 1)
  readonly now = (): number => this.t
  advance (ms: number): void {
    this.t += ms
  }
}
