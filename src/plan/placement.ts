// Offsets in one arena for buffers with known lifetimes. Finding the smallest arena is NP-hard,
// so several greedy orders are tried and the smallest result kept.

import type { Buffer } from './lifetimes.ts';

export interface Placement {
  strategy: string;
  offsets: number[];
  arenaBytes: number;
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;
const overlapsInTime = (a: Buffer, b: Buffer) => a.first <= b.last && b.first <= a.last;

/** Places buffers one by one in `order`, each at the lowest aligned offset that fits beside those already placed and alive at the same time. */
function placeInOrder(buffers: Buffer[], order: number[], alignment: number): { offsets: number[]; arenaBytes: number } {
  const offsets = new Array<number>(buffers.length).fill(-1);
  const placed: number[] = [];
  let arenaBytes = 0;
  for (const b of order) {
    const conflicts = placed
      .filter((p) => overlapsInTime(buffers[p], buffers[b]))
      .map((p) => [offsets[p], offsets[p] + buffers[p].bytes] as const)
      .sort((x, y) => x[0] - y[0]);
    let offset = 0;
    for (const [start, end] of conflicts) {
      if (offset + buffers[b].bytes <= start) break;
      offset = Math.max(offset, align(end, alignment));
    }
    offsets[b] = offset;
    placed.push(b);
    arenaBytes = Math.max(arenaBytes, offset + buffers[b].bytes);
  }
  return { offsets, arenaBytes: align(arenaBytes, alignment) };
}

type Strategy = [name: string, compare: (a: Buffer, b: Buffer) => number];

const STRATEGIES: Strategy[] = [
  ['largest first', (a, b) => b.bytes - a.bytes || a.first - b.first],
  ['first use', (a, b) => a.first - b.first || b.bytes - a.bytes],
  ['longest lived first', (a, b) => b.last - b.first - (a.last - a.first) || b.bytes - a.bytes],
  ['largest area first', (a, b) => b.bytes * (b.last - b.first + 1) - a.bytes * (a.last - a.first + 1) || b.bytes - a.bytes],
];

export function placeBuffers(buffers: Buffer[], alignment: number): Placement[] {
  return STRATEGIES.map(([strategy, compare]) => {
    const order = buffers.map((_, i) => i).sort((x, y) => compare(buffers[x], buffers[y]) || x - y);
    return { strategy, ...placeInOrder(buffers, order, alignment) };
  });
}

/** Problems with a placement: buffers alive at the same time whose bytes overlap, or that leave the arena. */
export function checkPlacement(buffers: Buffer[], offsets: number[], arenaBytes: number): string[] {
  const problems: string[] = [];
  for (let i = 0; i < buffers.length; i++) {
    if (offsets[i] < 0 || offsets[i] + buffers[i].bytes > arenaBytes) problems.push(`buffer ${i} lies outside the arena`);
    for (let j = i + 1; j < buffers.length; j++) {
      const apart = offsets[i] + buffers[i].bytes <= offsets[j] || offsets[j] + buffers[j].bytes <= offsets[i];
      if (!apart && overlapsInTime(buffers[i], buffers[j]) && buffers[i].bytes > 0 && buffers[j].bytes > 0) {
        problems.push(`buffers ${i} and ${j} are alive together and overlap`);
      }
    }
  }
  return problems;
}
