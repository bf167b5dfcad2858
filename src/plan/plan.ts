// The compile-time memory plan: every activation tensor's offset in one static arena.

import type { Graph, Op } from '../ir/types.ts';
import { computeLifetimes, type Buffer } from './lifetimes.ts';
import { checkPlacement, placeBuffers } from './placement.ts';

export interface MemoryPlan {
  arenaBytes: number;
  alignment: number;
  strategy: string;
  /** Arena size each strategy reached, for the report. */
  tried: { strategy: string; arenaBytes: number }[];
  buffers: Buffer[];
  /** Offset of each buffer in `buffers`. */
  bufferOffsets: number[];
  /** Arena offset of every activation tensor (aliases share their owner's offset). */
  tensorOffset: Map<number, number>;
  /** Op index -> arena offset of its scratch buffer. */
  scratchOffset: Map<number, number>;
  /** Op index -> input position it overwrites with its output. */
  inPlace: Map<number, number>;
  /** Arena bytes in use while each op runs (its inputs, outputs, scratch and everything held for later;
   *  bytes an output shares with the input it streams from are counted once). */
  livePerOp: number[];
}

export interface PlanOptions {
  alignment?: number;
  scratchBytes?: (op: Op, index: number) => number;
}

/** The union of the byte ranges of the buffers live at op `i`. */
function liveBytes(buffers: Buffer[], offsets: number[], i: number): number {
  const ranges = buffers
    .map((b, k) => [offsets[k], offsets[k] + b.bytes, b.first <= i && i <= b.last] as const)
    .filter(([, , live]) => live)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reached = 0;
  for (const [start, end] of ranges) {
    total += Math.max(0, end - Math.max(start, reached));
    reached = Math.max(reached, end);
  }
  return total;
}

export function planMemory(graph: Graph, options: PlanOptions = {}): MemoryPlan {
  const alignment = options.alignment ?? 4;
  const { buffers, bufferOf, inPlace, overlaps } = computeLifetimes(graph, options.scratchBytes);
  const tried = placeBuffers(buffers, alignment, overlaps);
  const best = tried.reduce((a, b) => (b.arenaBytes < a.arenaBytes ? b : a));
  const problems = checkPlacement(buffers, best.offsets, best.arenaBytes, overlaps);
  if (problems.length > 0) throw new Error(`memory planner produced an invalid plan: ${problems.join('; ')}`);

  const tensorOffset = new Map<number, number>();
  for (const [t, b] of bufferOf) tensorOffset.set(t, best.offsets[b]);
  const scratchOffset = new Map<number, number>();
  buffers.forEach((b, i) => b.scratchOf !== undefined && scratchOffset.set(b.scratchOf, best.offsets[i]));
  const livePerOp = graph.ops.map((_, i) => liveBytes(buffers, best.offsets, i));
  return {
    arenaBytes: best.arenaBytes,
    alignment,
    strategy: best.strategy,
    tried: tried.map(({ strategy, arenaBytes }) => ({ strategy, arenaBytes })),
    buffers,
    bufferOffsets: best.offsets,
    tensorOffset,
    scratchOffset,
    inPlace,
    livePerOp,
  };
}
