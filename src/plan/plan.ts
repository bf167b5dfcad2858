// The compile-time memory plan: every activation tensor's offset in one static arena.

import { opTraits } from '../ir/op-traits.ts';
import type { Graph, Op } from '../ir/types.ts';
import { bandOverhead, type RowFusion } from './fusion.ts';
import { passOverhead, pipePasses, type ConvPipe } from './pipe.ts';
import { computeLifetimes, type Buffer, type KernelNeeds } from './lifetimes.ts';
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
  /** The row-band fusions applied (those of PlanOptions.fusions that made the arena smaller), with their band heights. */
  fusions: RowFusion[];
  /** The conv -> conv pipelines applied (those of PlanOptions.pipes that made the arena smaller), with their buffer heights. */
  pipes: ConvPipe[];
  /** Fused fully-connected op index -> arena offset of its int32 accumulators. */
  accumulatorOffset: Map<number, number>;
  /** Arena bytes in use while each op runs (its inputs, outputs, scratch and everything held for later;
   *  bytes an output shares with the input it streams from are counted once). */
  livePerOp: number[];
  /** What sets the arena's size: the op during which live buffers reach its top. */
  bound: ArenaBound;
  /** Bytes of state that ops (LSTMs) keep between inferences: static buffers of their own, not in the arena. */
  stateBytes: number;
}

/** The op whose live buffers reach the top of the arena, and those buffers from the lowest up. */
export interface ArenaBound {
  op: number;
  buffers: { role: 'input' | 'output' | 'scratch' | 'accumulators' | 'held'; tensor?: number; bytes: number; offset: number }[];
}

export interface PlanOptions extends KernelNeeds {
  alignment?: number;
  /** Row-band fusions the kernels allow (rowFusionCandidates); each is applied if it makes the arena smaller (fusionBand). */
  fusions?: RowFusion[];
  /** Conv -> conv pipelines the kernels allow (convPipeCandidates); each is applied if it makes the arena smaller (pipeBand). */
  pipes?: ConvPipe[];
}

function place(graph: Graph, options: PlanOptions, alignment: number, fusions: RowFusion[], pipes: ConvPipe[] = []) {
  const lifetimes = computeLifetimes(graph, options, fusions, pipes);
  const tried = placeBuffers(lifetimes.buffers, alignment, lifetimes.overlaps);
  const best = tried.reduce((a, b) => (b.arenaBytes < a.arenaBytes ? b : a));
  return { ...lifetimes, tried, best, fusions, pipes };
}

/** The ops a row fusion or pipeline runs together: no op may belong to two of them. */
const opsOf = (f: RowFusion | ConvPipe) => ('producerRows' in f && f.add !== undefined ? [f.producer, f.consumer, f.add] : [f.producer, f.consumer]);

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

/** Instructions one byte of arena is taken to be worth: a taller band is chosen only where each byte
 *  it adds saves at least this many instructions an inference. */
const INSTRUCTIONS_PER_ARENA_BYTE = 100;

/**
 * `chosen` with `fusion` added at the band height of least cost (its instructions over the unfused
 * layers plus its arena bytes at INSTRUCTIONS_PER_ARENA_BYTE), among the heights that keep the arena
 * below `chosen`'s; `chosen` itself where none does. Taller bands read their windows' overlapping
 * input rows again less often and need more arena.
 */
function fusionBand(graph: Graph, options: PlanOptions, alignment: number, chosen: ReturnType<typeof place>, fusion: RowFusion) {
  let best: { plan: ReturnType<typeof place>; cost: number } | undefined;
  for (let bandRows = 1; bandRows <= fusion.rows; bandRows++) {
    const band = { ...fusion, bandRows };
    const plan = place(graph, options, alignment, [...chosen.fusions, band]);
    if (plan.best.arenaBytes >= chosen.best.arenaBytes) break;
    const cost = bandOverhead(band) + INSTRUCTIONS_PER_ARENA_BYTE * plan.best.arenaBytes;
    if (!best || cost < best.cost) best = { plan, cost };
  }
  return best?.plan ?? chosen;
}

/**
 * `chosen` with `pipe` added at the buffer height of least cost (the instructions its passes add plus
 * its arena bytes at INSTRUCTIONS_PER_ARENA_BYTE), among the heights that keep the arena below
 * `chosen`'s; `chosen` itself where none does. Taller buffers need fewer passes, and fewer rows
 * copied from one pass to the next.
 */
function pipeBand(graph: Graph, options: PlanOptions, alignment: number, chosen: ReturnType<typeof place>, pipe: ConvPipe) {
  let best: { plan: ReturnType<typeof place>; cost: number } | undefined;
  for (let bandRows = 1; bandRows <= pipe.producerRows.outRows; bandRows++) {
    const band = { ...pipe, bandRows };
    const passes = pipePasses(band);
    if (!passes) continue;
    const plan = place(graph, options, alignment, chosen.fusions, [...chosen.pipes, band]);
    if (plan.best.arenaBytes >= chosen.best.arenaBytes) break;
    const cost = passOverhead(band, passes) + INSTRUCTIONS_PER_ARENA_BYTE * plan.best.arenaBytes;
    if (!best || cost < best.cost) best = { plan, cost };
  }
  return best?.plan ?? chosen;
}

/** The kernels' needs asked once per op: every fusion or pipeline tried plans the graph again. */
function remembered(needs: KernelNeeds): KernelNeeds {
  const once = (f: ((op: Op, i: number) => number) | undefined) => {
    const known = new Map<number, number>();
    return f && ((op: Op, i: number) => known.get(i) ?? known.set(i, f(op, i)).get(i)!);
  };
  return { scratchBytes: once(needs.scratchBytes), heldRows: once(needs.heldRows), scratchFreeForLastRow: once(needs.scratchFreeForLastRow) };
}

export function planMemory(graph: Graph, planOptions: PlanOptions = {}): MemoryPlan {
  const options = { ...planOptions, ...remembered(planOptions) };
  const alignment = options.alignment ?? 4;
  let chosen = place(graph, options, alignment, []);
  for (const fusion of options.fusions ?? []) chosen = fusionBand(graph, options, alignment, chosen, fusion);
  for (const pipe of options.pipes ?? []) {
    const taken = new Set([...chosen.fusions, ...chosen.pipes].flatMap(opsOf));
    if (opsOf(pipe).some((i) => taken.has(i))) continue;
    chosen = pipeBand(graph, options, alignment, chosen, pipe);
  }
  const { buffers, bufferOf, inPlace, overlaps, tried, best, fusions, pipes } = chosen;
  const problems = checkPlacement(buffers, best.offsets, best.arenaBytes, overlaps);
  if (problems.length > 0) throw new Error(`memory planner produced an invalid plan: ${problems.join('; ')}`);

  const tensorOffset = new Map<number, number>();
  for (const [t, b] of bufferOf) tensorOffset.set(t, best.offsets[b]);
  const scratchOffset = new Map<number, number>();
  buffers.forEach((b, i) => b.scratchOf !== undefined && scratchOffset.set(b.scratchOf, best.offsets[i]));
  const accumulatorOffset = new Map<number, number>();
  buffers.forEach((b, i) => b.accumulatorsOf !== undefined && accumulatorOffset.set(b.accumulatorsOf, best.offsets[i]));
  const livePerOp = graph.ops.map((_, i) => liveBytes(buffers, best.offsets, i));
  return {
    bound: arenaBound(graph, buffers, best.offsets, livePerOp),
    arenaBytes: best.arenaBytes,
    alignment,
    strategy: best.strategy,
    tried: tried.map(({ strategy, arenaBytes }) => ({ strategy, arenaBytes })),
    buffers,
    bufferOffsets: best.offsets,
    tensorOffset,
    scratchOffset,
    inPlace,
    fusions,
    pipes,
    accumulatorOffset,
    livePerOp,
    stateBytes: graph.ops.reduce((sum, op) => sum + (opTraits(op).stateBytes?.(graph, op) ?? 0), 0),
  };
}

/**
 * Among the ops during which some live buffer ends at the highest offset any buffer ends at, the
 * one with the most bytes live: shrinking what it holds is what can shrink the arena.
 */
function arenaBound(graph: Graph, buffers: Buffer[], offsets: number[], livePerOp: number[]): ArenaBound {
  const liveAt = (i: number) => buffers.map((_, k) => k).filter((k) => buffers[k].first <= i && i <= buffers[k].last && buffers[k].bytes > 0);
  const top = Math.max(0, ...buffers.map((b, k) => offsets[k] + b.bytes));
  let op = -1;
  graph.ops.forEach((_, i) => {
    if (liveAt(i).some((k) => offsets[k] + buffers[k].bytes === top) && (op < 0 || livePerOp[i] > livePerOp[op])) op = i;
  });
  if (op < 0) return { op: -1, buffers: [] };
  const { inputs, outputs } = graph.ops[op];
  return {
    op,
    buffers: liveAt(op)
      .sort((a, b) => offsets[a] - offsets[b] || a - b)
      .map((k) => {
        const b = buffers[k];
        const tensor = b.tensors.find((t) => inputs.includes(t) || outputs.includes(t)) ?? b.tensors[0];
        const role =
          b.scratchOf === op ? 'scratch' : b.accumulatorsOf !== undefined ? 'accumulators' : outputs.includes(tensor) ? 'output' : inputs.includes(tensor) ? 'input' : 'held';
        return { role, ...(tensor === undefined ? {} : { tensor }), bytes: b.bytes, offset: offsets[k] };
      }),
  };
}
