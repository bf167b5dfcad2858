// An independent check of a memory plan, op by op: the buffers alive while an op runs must not share
// a byte, except an output and the input it streams over, at least the allowed distance apart.
// It does not reuse the planner's own check, so a fault shared by both cannot hide.

import type { Buffer, Overlap } from '../../src/plan/lifetimes.ts';

export function liveCollisions(plan: { buffers: Buffer[]; bufferOffsets: number[]; arenaBytes: number }, overlaps: Overlap[]): string[] {
  const { buffers, bufferOffsets: at } = plan;
  const ops = Math.max(0, ...buffers.map((b) => b.last));
  const problems: string[] = [];
  for (let op = -1; op <= ops; op++) {
    const live = buffers.flatMap((b, k) => (b.first <= op && op <= b.last && b.bytes > 0 ? [k] : []));
    for (const a of live) {
      if (at[a] < 0 || at[a] + buffers[a].bytes > plan.arenaBytes) problems.push(`op ${op}: buffer ${a} leaves the arena`);
      for (const b of live) {
        if (b <= a || at[a] + buffers[a].bytes <= at[b] || at[b] + buffers[b].bytes <= at[a]) continue;
        const allowed = overlaps.some((o) => (o.output === a && o.input === b && at[b] - at[a] >= o.gap) || (o.output === b && o.input === a && at[a] - at[b] >= o.gap));
        if (!allowed) problems.push(`op ${op}: buffers ${a} and ${b} share bytes`);
      }
    }
  }
  return problems;
}
