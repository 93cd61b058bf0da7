// A probe that finds nothing answers this, per number of kinds asked: one
// frozen array shared by every such answer, so an idle heartbeat allocates none.
const nothing: boolean[][] = []

export function none (kinds: number): boolean[] {
  return (nothing[kinds] ??= Object.freeze(new Array<boolean>(kinds).fill(false)) as boolean[])
}
