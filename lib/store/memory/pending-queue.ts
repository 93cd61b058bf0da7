// Compact once this many claimed slots lead the arrays and they are at least
// half of them: each slot is copied at most once, so a claim stays O(1).
const minCompactHead = 1_024

/**
 * One runtime's pending ids, oldest first, each with the deadline past which
 * it can no longer be claimed. Deadlines are kept non-decreasing (a clock that
 * steps back files an entry under the latest one so far), so every entry past
 * its deadline sits before every other and leaves in one binary search: the
 * cost of a call does not grow with what timed out. Entries are hints; the
 * store checks each record it hands out.
 */
export class PendingQueue {
  private ids: string[] = []
  private deadlines: number[] = []
  private head = 0

  get size (): number {
    return this.ids.length - this.head
  }

  push (id: string, deadline: number): void {
    const last = this.deadlines.length > this.head ? this.deadlines[this.deadlines.length - 1] : deadline
    this.ids.push(id)
    this.deadlines.push(Math.max(deadline, last))
  }

  /**
   * Puts a claim handed back where it was, at the front; or at the back when
   * its deadline would break the order (a clock that stepped back), since
   * order here is what lets expired entries leave in one search.
   */
  unshift (id: string, deadline: number): void {
    if (this.size > 0 && deadline > this.deadlines[this.head]) {
      this.push(id, deadline)
    } else if (this.head > 0) {
      this.head--
      this.ids[this.head] = id
      this.deadlines[this.head] = deadline
    } else {
      this.ids.unshift(id)
      this.deadlines.unshift(deadline)
    }
  }

  /** The oldest id, or undefined when empty. */
  peek (): string | undefined {
    return this.size > 0 ? this.ids[this.head] : undefined
  }

  /** The first answer `test` gives for an id after the oldest (coalescing past a head that does not match). */
  find<T> (test: (id: string) => T | undefined): T | undefined {
    for (let i = this.head + 1; i < this.ids.length; i++) {
      const found = test(this.ids[i])
      if (found !== undefined) return found
    }
    return undefined
  }

  shift (): void {
    this.head++
    this.compact()
  }

  /** Drops every entry whose deadline is before `now`. */
  dropExpired (now: number): void {
    let low = this.head
    let high = this.ids.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (this.deadlines[middle] < now) low = middle + 1
      else high = middle
    }
    this.head = low
    this.compact()
  }

  private compact (): void {
    if (this.head === this.ids.length) {
      this.ids = []
      this.deadlines = []
      this.head = 0
    } else if (this.head >= minCompactHead && this.head * 2 >= this.ids.length) {
      this.ids = this.ids.slice(this.head)
      this.deadlines = this.deadlines.slice(this.head)
      this.head = 0
    }
  }
}
