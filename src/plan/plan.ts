// The compile-time memory plan: every activation tensor's offset in one static arena.

import { opTraits } from '../ir/op-traits.ts';
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
  /** Bytes alive while each op runs (its inputs, outputs, scratch and everything held for later). */
  livePerOp: number[];
  /** Bytes of state that ops (LSTMs) keep between inferences: static buffers of their own, not in the arena. */
  stateBytes: number;
}

export interface PlanOptions {
  alignment?: number;
  scratchBytes?: (op: Op, index: number) => number;
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
  const livePerOp = graph.ops.map((_, i) =>
    buffers.filter((b) => b.first <= i && i <= b.last).reduce((sum, b) => sum + b.bytes, 0),
  );
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
    stateBytes: graph.ops.reduce((sum, op) => sum + (opTraits(op).stateBytes?.(graph, op) ?? 0), 0),
  };
}
