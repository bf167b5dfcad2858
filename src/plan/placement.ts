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

/**
 * What placement must respect: for each buffer, the others alive at the same time (both holding
 * bytes), and for each allowed overlap (key output * count + input) the least distance it needs.
 */
interface Constraints {
  buffers: Buffer[];
  together: number[][];
  gaps: Map<number, number>;
}

function constraintsOf(buffers: Buffer[], overlaps: Overlap[]): Constraints {
  const together = buffers.map((a, i) => (a.bytes === 0 ? [] : buffers.flatMap((b, j) => (j !== i && b.bytes > 0 && overlapsInTime(a, b) ? [j] : []))));
  const gaps = new Map<number, number>();
  for (const o of overlaps) {
    const key = o.output * buffers.length + o.input;
    gaps.set(key, Math.min(o.gap, gaps.get(key) ?? Infinity));
  }
  return { buffers, together, gaps };
}

/** Whether buffers a and b, alive together at offsets oa and ob, may hold their bytes together. */
function fits(c: Constraints, a: number, oa: number, b: number, ob: number): boolean {
  if (oa + c.buffers[a].bytes <= ob || ob + c.buffers[b].bytes <= oa) return true;
  const n = c.buffers.length;
  return ob - oa >= (c.gaps.get(a * n + b) ?? Infinity) || oa - ob >= (c.gaps.get(b * n + a) ?? Infinity);
}

/**
 * Places buffers one by one in `order`, each at the lowest aligned offset that fits beside those
 * already placed and alive with it: after the end of one of them, or where an allowed overlap puts it.
 */
function placeInOrder(c: Constraints, order: number[], alignment: number, overlaps: Overlap[]): { offsets: number[]; arenaBytes: number } {
  const { buffers } = c;
  const offsets = new Array<number>(buffers.length).fill(-1);
  let arenaBytes = 0;
  for (const b of order) {
    const placed = c.together[b].filter((p) => offsets[p] >= 0);
    const candidates = new Set([0, ...placed.map((p) => align(offsets[p] + buffers[p].bytes, alignment))]);
    for (const o of overlaps) {
      if (o.output === b && offsets[o.input] >= 0) candidates.add(Math.floor((offsets[o.input] - o.gap) / alignment) * alignment);
      if (o.input === b && offsets[o.output] >= 0) candidates.add(align(offsets[o.output] + o.gap, alignment));
    }
    const offset = [...candidates]
      .filter((x) => x >= 0)
      .sort((x, y) => x - y)
      .find((x) => placed.every((p) => fits(c, p, offsets[p], b, x)))!;
    offsets[b] = offset;
    arenaBytes = Math.max(arenaBytes, offset + buffers[b].bytes);
  }
  return { offsets, arenaBytes: align(arenaBytes, alignment) };
}

/** A buffer's bytes and lifetime, and the most bytes alive together at any op of its lifetime. */
type Ranked = Buffer & { busiest: number };

type Strategy = [name: string, compare: (a: Ranked, b: Ranked) => number];

const STRATEGIES: Strategy[] = [
  ['largest first', (a, b) => b.bytes - a.bytes || a.first - b.first],
  ['first use', (a, b) => a.first - b.first || b.bytes - a.bytes],
  ['longest lived first', (a, b) => b.last - b.first - (a.last - a.first) || b.bytes - a.bytes],
  ['largest area first', (a, b) => b.bytes * (b.last - b.first + 1) - a.bytes * (a.last - a.first + 1) || b.bytes - a.bytes],
  // The buffers of the busiest op set the arena's least size: placed first, they can pack as tightly
  // as that op allows, and the others fill in around them (TFLite's "greedy by breadth"). Within one
  // op the small ones (its scratch) first, so the big ones do not leave them only the top.
  ['busiest op first', (a, b) => b.busiest - a.busiest || b.bytes - a.bytes],
  ['busiest op first, smallest first', (a, b) => b.busiest - a.busiest || a.bytes - b.bytes],
];

/**
 * For each buffer, the most bytes alive together at any op it is alive at, where an output and the
 * input it streams over count as the bytes they span when they overlap as far as allowed.
 */
function ranked(buffers: Buffer[], overlaps: Overlap[]): Ranked[] {
  const ops = Math.max(0, ...buffers.map((b) => b.last + 2));
  const alive = new Array<number>(ops).fill(0);
  for (const b of buffers) for (let i = b.first + 1; i <= b.last + 1; i++) alive[i] += b.bytes;
  for (const { output, input, gap } of overlaps) {
    const [out, into] = [buffers[output], buffers[input]];
    const span = Math.max(out.bytes, gap + into.bytes) - Math.min(0, gap);
    // Graph inputs (first -1) sit at index 0 of `alive`, every op one further.
    alive[out.first + 1] -= Math.max(0, out.bytes + into.bytes - span);
  }
  return buffers.map((b) => ({ ...b, busiest: Math.max(...alive.slice(b.first + 1, b.last + 2)) }));
}

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
  const c = constraintsOf(buffers, overlaps);
  const keys = ranked(buffers, overlaps);
  const orders = STRATEGIES.flatMap(([strategy, compare]) => {
    const order = buffers.map((_, i) => i).sort((x, y) => compare(keys[x], keys[y]) || x - y);
    return overlaps.length === 0 ? [{ strategy, order }] : [{ strategy, order }, { strategy: `${strategy}, streamed outputs first`, order: outputsFirst(order, overlaps) }];
  });
  return orders.map(({ strategy, order }) => ({ strategy, ...placeInOrder(c, order, alignment, overlaps) }));
}

/** Problems with a placement: buffers alive at the same time whose bytes overlap (beyond what `overlaps` allows), or that leave the arena. */
export function checkPlacement(buffers: Buffer[], offsets: number[], arenaBytes: number, overlaps: Overlap[] = []): string[] {
  const c = constraintsOf(buffers, overlaps);
  const problems: string[] = [];
  for (let i = 0; i < buffers.length; i++) {
    if (offsets[i] < 0 || offsets[i] + buffers[i].bytes > arenaBytes) problems.push(`buffer ${i} lies outside the arena`);
    for (const j of c.together[i]) {
      if (j > i && !fits(c, i, offsets[i], j, offsets[j])) problems.push(`buffers ${i} and ${j} are alive together and overlap`);
    }
  }
  return problems;
}
