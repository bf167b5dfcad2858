// How many channels each group keeps. A sensitivity scan prunes one group at a time, least
// important units first, and measures on held-out data how far the outputs move from the
// unpruned model's (and the accuracy); then, step by step, the group whose next step costs the
// least output error per unit of budget saved gives up channels, until every budget is met.
// Layers differ a lot in how much they tolerate, so this prunes non-uniformly.

import { numel } from '../ir/dtype.ts';
import type { Graph } from '../ir/types.ts';
import { runFloat } from '../float/run.ts';
import { applyPruning } from './apply.ts';
import type { BudgetMeter } from './budget.ts';
import { keptChannels, type ChannelGroup } from './groups.ts';
import type { GroupImportance } from './importance.ts';
import type { Dataset } from './types.ts';

export interface Evaluation {
  /** Squared distance of the outputs from the unpruned model's, over their squared size. */
  error: number;
  /** Top-1 against the labels, or agreement with the unpruned model's top-1 without labels. */
  accuracy: number;
}

export type Evaluator = (graph: Graph) => Promise<Evaluation>;

const argmax = (values: Float32Array, at: number, n: number) => {
  let best = 0;
  for (let k = 1; k < n; k++) if (values[at + k] > values[at + best]) best = k;
  return best;
};

/** Scores graphs (the original or pruned ones: same inputs and outputs) on held-out samples. */
export async function createEvaluator(original: Graph, data: Dataset): Promise<Evaluator> {
  const reference = await runFloat(original, data.inputs);
  const first = original.outputs[0];
  // Top-1 over everything the first output holds for a sample.
  const classes = numel(original.tensors[first].shape);
  const rows = data.count;
  const truth = data.labels ?? Int32Array.from({ length: rows }, (_, r) => argmax(reference.get(first)!, r * classes, classes));
  let norm = 0;
  for (const values of reference.values()) for (const v of values) norm += v * v;
  return async (graph) => {
    const outputs = await runFloat(graph, data.inputs);
    let distance = 0;
    for (const [t, values] of outputs) {
      const ref = reference.get(t)!;
      for (let i = 0; i < values.length; i++) distance += (values[i] - ref[i]) ** 2;
    }
    const scores = outputs.get(first)!;
    let right = 0;
    for (let r = 0; r < rows; r++) if (argmax(scores, r * classes, classes) === truth[r]) right++;
    return { error: norm > 0 ? distance / norm : distance, accuracy: right / rows };
  };
}

export interface SensitivityPoint extends Evaluation {
  removed: number;
}

/** One group's scan: points by units removed, from 0 (the unpruned model) up. */
export interface Sensitivity {
  group: number;
  points: SensitivityPoint[];
}

/** Units removed at each scan point: every count for small groups, eighths of the group else. */
function scanCounts(size: number): number[] {
  if (size <= 9) return Array.from({ length: size - 1 }, (_, i) => i + 1);
  return [...new Set(Array.from({ length: 7 }, (_, i) => Math.min(size - 1, Math.max(1, Math.round(((i + 1) * size) / 8)))))];
}

export async function sensitivityScan(
  graph: Graph,
  groups: ChannelGroup[],
  importance: Map<number, GroupImportance>,
  evaluate: Evaluator,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<Sensitivity[]> {
  const base = await evaluate(graph);
  const plans = groups.filter((g) => g.prunable).map((g) => ({ group: g, counts: scanCounts(g.size) }));
  const total = plans.reduce((n, p) => n + p.counts.length, 0);
  let done = 0;
  const result: Sensitivity[] = [];
  for (const { group, counts } of plans) {
    const points: SensitivityPoint[] = [{ removed: 0, ...base }];
    const order = new Map([[group.id, importance.get(group.id)!.order]]);
    for (const removed of counts) {
      const pruned = applyPruning(graph, keptChannels(graph, groups, new Map([[group.id, group.size - removed]]), order));
      points.push({ removed, ...(await evaluate(pruned)) });
      onProgress(++done, total);
    }
    result.push({ group: group.id, points });
  }
  return result;
}

/** The scan's error at `removed` units, interpolated, never below the error at fewer units removed. */
function errorAt(curve: Sensitivity, removed: number): number {
  let best = 0;
  let previous = curve.points[0];
  for (const point of curve.points) {
    if (point.removed <= removed) {
      best = Math.max(best, point.error);
      previous = point;
      continue;
    }
    const f = (removed - previous.removed) / (point.removed - previous.removed);
    return Math.max(best, previous.error + f * (point.error - previous.error));
  }
  return best;
}

export interface Allocation {
  /** Units each prunable group keeps. */
  keep: Map<number, number>;
  /** Each meter's value for the allocation. */
  values: number[];
}

interface Step {
  id: number;
  next: number;
  values: number[];
  /** Whether the step brings an unmet budget closer. */
  saves: boolean;
  /** Scanned error added per share of the way to the budgets saved (error alone when it saves nothing). */
  score: number;
  /** Measured against the current allocation. */
  fresh: boolean;
}

const better = (a: Step, b: Step) => (a.saves !== b.saves ? a.saves : a.score < b.score);

/**
 * Greedy allocation: while a budget is unmet, the group whose next step (one unit, or a 32nd of
 * a large group) adds the least scanned error per share of the way to the budgets gives
 * it up. A step that saves nothing now (an arena set by another tensor) is taken only when no
 * step saves anything. Steps are measured lazily: after each one only the best candidate is
 * measured again, and taken if it stays best, so a large model costs a few measurements per step
 * rather than one per group.
 */
export function allocate(
  graph: Graph,
  groups: ChannelGroup[],
  importance: Map<number, GroupImportance>,
  curves: Sensitivity[],
  meters: BudgetMeter[],
  onProgress: (done: number, total: number) => void = () => {},
): Allocation {
  const order = new Map([...importance].map(([id, imp]) => [id, imp.order]));
  const keep = new Map(groups.filter((g) => g.prunable).map((g) => [g.id, g.size]));
  const curveOf = new Map(curves.map((c) => [c.group, c]));
  const measure = (k: Map<number, number>) => {
    const pruned = applyPruning(graph, keptChannels(graph, groups, k, order));
    return meters.map((m) => m.measure(pruned));
  };
  let values = measure(keep);
  const step = (id: number): Step | undefined => {
    const kept = keep.get(id)!;
    if (kept <= 1) return undefined;
    const group = groups[id];
    const next = Math.max(1, kept - Math.max(1, Math.floor(group.size / 32)));
    const trial = measure(new Map(keep).set(id, next));
    // Progress toward each unmet budget, as a share of the whole way from the original model (a
    // fixed scale, so that scores measured at different steps compare).
    const progress = meters.reduce((sum, m, i) => (values[i] > m.target ? sum + (values[i] - trial[i]) / (m.original - m.target) : sum), 0);
    const curve = curveOf.get(id)!;
    const added = errorAt(curve, group.size - next) - errorAt(curve, group.size - kept) + 1e-9;
    return { id, next, values: trial, saves: progress > 0, score: progress > 0 ? added / progress : added, fresh: true };
  };
  const candidates = new Map<number, Step>();
  const refresh = (id: number) => {
    const s = step(id);
    if (s) candidates.set(id, s);
    else candidates.delete(id);
  };
  for (const id of keep.keys()) refresh(id);
  while (meters.some((m, i) => values[i] > m.target)) {
    let best: Step | undefined;
    for (const c of candidates.values()) if (!best || better(c, best)) best = c;
    // budgetMeters checked that every group at one unit meets the budgets, so a step always remains.
    if (!best) break;
    if (!best.fresh) {
      refresh(best.id);
      continue;
    }
    const unmet = meters.map((m, i) => values[i] > m.target);
    keep.set(best.id, best.next);
    values = best.values;
    // Progress: the share of the way the furthest budget has come, in thousandths.
    const way = Math.min(...meters.map((m, i) => (m.original > m.target ? Math.min(1, (m.original - values[i]) / (m.original - m.target)) : 1)));
    onProgress(Math.floor(1000 * Math.max(0, way)), 1000);
    for (const c of candidates.values()) c.fresh = false;
    // A budget just met no longer counts toward any step's progress: every score is out of date.
    if (meters.some((m, i) => unmet[i] !== values[i] > m.target)) for (const id of candidates.keys()) refresh(id);
    else refresh(best.id);
  }
  return { keep, values };
}

/** The samples at `indices` of a data set (ascending indices; a contiguous run stays a view). */
export function pickSamples(graph: Graph, data: Dataset, indices: number[]): Dataset {
  const contiguous = indices.every((v, i) => i === 0 || v === indices[i - 1] + 1);
  const inputs = graph.inputs.map((t, k) => {
    const size = numel(graph.tensors[t].shape);
    if (contiguous) return data.inputs[k].subarray((indices[0] ?? 0) * size, ((indices.at(-1) ?? -1) + 1) * size);
    const out = new Float32Array(indices.length * size);
    indices.forEach((s, i) => out.set(data.inputs[k].subarray(s * size, (s + 1) * size), i * size));
    return out;
  });
  return { inputs, count: indices.length, ...(data.labels ? { labels: Int32Array.from(indices, (s) => data.labels![s]) } : {}) };
}
