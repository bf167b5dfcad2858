// Offsets in one arena for buffers with known lifetimes. Finding the smallest arena is NP-hard,
// so several greedy orders are tried and the smallest result kept.

import type { Buffer, Overlap } from './lifetimes.ts';

export interface Placement {
  strategy: string;
  offsets: number[];
  arenaBytes: number;
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;
const overlapsInTime = (a: Buffer, b: Buffer) => a.first <= b.last && b.first <= a.last;

/** Whether buffers a and b, at offsets oa and ob, may hold their bytes together. */
function compatible(buffers: Buffer[], overlaps: Overlap[], a: number, oa: number, b: number, ob: number): boolean {
  if (!overlapsInTime(buffers[a], buffers[b]) || buffers[a].bytes === 0 || buffers[b].bytes === 0) return true;
  if (oa + buffers[a].bytes <= ob || ob + buffers[b].bytes <= oa) return true;
  return overlaps.some((o) => (o.output === a && o.input === b && ob - oa >= o.gap) || (o.output === b && o.input === a && oa - ob >= o.gap));
}

/**
 * Places buffers one by one in `order`, each at the lowest aligned offset that fits beside those
 * already placed: after the end of one of them, or where an allowed overlap puts it.
 */
function placeInOrder(buffers: Buffer[], order: number[], alignment: number, overlaps: Overlap[]): { offsets: number[]; arenaBytes: number } {
  const offsets = new Array<number>(buffers.length).fill(-1);
  const placed: number[] = [];
  let arenaBytes = 0;
  for (const b of order) {
    const candidates = new Set([0, ...placed.map((p) => align(offsets[p] + buffers[p].bytes, alignment))]);
    for (const o of overlaps) {
      if (o.output === b && offsets[o.input] >= 0) candidates.add(Math.floor((offsets[o.input] - o.gap) / alignment) * alignment);
      if (o.input === b && offsets[o.output] >= 0) candidates.add(align(offsets[o.output] + o.gap, alignment));
    }
    const offset = [...candidates]
      .filter((c) => c >= 0)
      .sort((x, y) => x - y)
      .find((c) => placed.every((p) => compatible(buffers, overlaps, p, offsets[p], b, c)))!;
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

/**
 * `order` with every overlap's output moved in front of its input: the output takes the lowest
 * place, and the input can then sit `gap` bytes above it instead of pushing it higher.
 */
function outputsFirst(order: number[], overlaps: Overlap[]): number[] {
  const result: number[] = [];
  const seen = new Set<number>();
  const visit = (b: number) => {
    if (seen.has(b)) return;
    seen.add(b);
    for (const o of overlaps) if (o.input === b) visit(o.output);
    result.push(b);
  };
  order.forEach(visit);
  return result;
}

/** Every strategy's order as it is, and (when some buffers may overlap) with outputs first. */
export function placeBuffers(buffers: Buffer[], alignment: number, overlaps: Overlap[] = []): Placement[] {
  return STRATEGIES.flatMap(([strategy, compare]) => {
    const order = buffers.map((_, i) => i).sort((x, y) => compare(buffers[x], buffers[y]) || x - y);
    const plain = { strategy, ...placeInOrder(buffers, order, alignment, overlaps) };
    if (overlaps.length === 0) return [plain];
    return [plain, { strategy: `${strategy}, streamed outputs first`, ...placeInOrder(buffers, outputsFirst(order, overlaps), alignment, overlaps) }];
  });
}

/** Problems with a placement: buffers alive at the same time whose bytes overlap (beyond what `overlaps` allows), or that leave the arena. */
export function checkPlacement(buffers: Buffer[], offsets: number[], arenaBytes: number, overlaps: Overlap[] = []): string[] {
  const problems: string[] = [];
  for (let i = 0; i < buffers.length; i++) {
    if (offsets[i] < 0 || offsets[i] + buffers[i].bytes > arenaBytes) problems.push(`buffer ${i} lies outside the arena`);
    for (let j = i + 1; j < buffers.length; j++) {
      if (!compatible(buffers, overlaps, i, offsets[i], j, offsets[j])) problems.push(`buffers ${i} and ${j} are alive together and overlap`);
    }
  }
  return problems;
}
