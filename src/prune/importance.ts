// How much each removable unit of a group matters, by one of several criteria: the norms of the
// weights that make and read it, the batch-norm scale the imported model gave it, or how strongly
// it fires on the user's data, or first-order Taylor (activation times gradient). Scores are normalised per source (each layer's weights, each
// tensor's activations) to a mean of 1 before they are combined, so a group spanning layers of
// different sizes and scales is not ruled by its largest layer, and groups compare on one scale.

import { numel } from '../ir/dtype.ts';
import { usageError } from '../ir/errors.ts';
import { channelFlowOf, opTraits } from '../ir/op-traits.ts';
import type { Graph } from '../ir/types.ts';
import type { ChannelGroup } from './groups.ts';
import type { Dataset } from './types.ts';

export const CRITERIA = ['l1', 'l2', 'bn', 'activation', 'taylor'] as const;
export type Criterion = (typeof CRITERIA)[number];

export interface GroupImportance {
  /** Per unit; the group's mean is 1. */
  scores: Float64Array;
  /** The units, most important first. */
  order: number[];
  /** What the scores came from: the criterion, or the one it fell back to for this group. */
  source: string;
}

/** Runs a float graph on samples and returns the `keep` activations (runFloat's contract). */
export type ActivationRunner = (graph: Graph, inputs: Float32Array[], keep: number[]) => Promise<Map<number, Float32Array>>;

/** Per output tensor of every layer with weights, a raw score per channel (src/prune/taylor.ts computes them with gradients). */
export type TaylorScores = (graph: Graph, data: Dataset) => Promise<Map<number, Float32Array>>;

export interface ImportanceOptions {
  /** Samples for 'activation' and 'taylor' (at most `samples` of them for 'activation'), and what runs the graph on them. */
  data?: Dataset;
  run?: ActivationRunner;
  taylor?: TaylorScores;
  samples?: number;
  /** The graph as imported, before batch norms were folded, for 'bn'. */
  imported?: Graph;
}

/** Sum over each index of `axis` of |w| (p = 1) or w^2 (p = 2). */
function axisSums(data: Float32Array, shape: number[], axis: number, p: 1 | 2): Float64Array {
  const inner = numel(shape.slice(axis + 1));
  const size = shape[axis];
  const sums = new Float64Array(size);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    sums[Math.floor(i / inner) % size] += p === 1 ? Math.abs(v) : v * v;
  }
  return sums;
}

/**
 * Per unit, the geometric mean over sources of the source's value scaled to a mean of 1 over the
 * units, then scaled so the group's mean is 1. Geometric, because a channel matters through the
 * weights that make it and those that read it together: either at zero silences it.
 */
function combine(size: number, sources: Float64Array[]): Float64Array {
  const scores = new Float64Array(size).fill(1);
  const used = sources.filter((s) => s.some((v) => v > 0));
  for (const source of used) {
    const mean = source.reduce((a, b) => a + b, 0) / size;
    source.forEach((v, u) => (scores[u] *= (v / mean) ** (1 / used.length)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / size;
  return mean > 0 ? scores.map((v) => v / mean) : scores.fill(1);
}

function channelsIn(group: ChannelGroup, tensor: number): number[][] | undefined {
  return group.members.find((m) => m.tensor === tensor)?.channels;
}

/** Norms of every weight slice that makes, carries or reads the group's units. */
function weightNorms(graph: Graph, group: ChannelGroup, p: 1 | 2): Float64Array[] {
  const sources: Float64Array[] = [];
  const add = (opIndex: number, tensor: number, axis: number) => {
    const op = graph.ops[opIndex];
    const w = graph.tensors[op.inputs[opTraits(op).weights!.input]];
    const sums = axisSums(w.data as Float32Array, w.shape, axis, p);
    const channels = channelsIn(group, tensor)!;
    sources.push(Float64Array.from(channels, (cs) => {
      const total = cs.reduce((s, c) => s + sums[c], 0);
      return p === 1 ? total : Math.sqrt(total);
    }));
  };
  for (const op of [...group.producers, ...group.carriers.filter((i) => opTraits(graph.ops[i]).weights)]) {
    add(op, graph.ops[op].outputs[0], opTraits(graph.ops[op]).weights!.outputAxis);
  }
  for (const op of group.consumers) add(op, graph.ops[op].inputs[0], opTraits(graph.ops[op]).weights!.inputAxis!);
  return sources;
}

/**
 * Per unit, the product of the batch-norm scales (a mul by a per-channel constant) between each
 * member tensor and the layer that made it, found by name in the graph as imported.
 */
function batchNormScales(imported: Graph, graph: Graph, group: ChannelGroup): Float64Array[] {
  const byName = new Map(imported.tensors.map((t, i) => [t.name, i]));
  const writer = new Map(imported.ops.map((op, i) => [op.outputs[0], i]));
  const sources: Float64Array[] = [];
  for (const member of group.members) {
    let t = byName.get(graph.tensors[member.tensor].name);
    const scale = new Float64Array(member.channels.length).fill(1);
    let found = false;
    // Back through weightless ops that keep channels (activations, the batch norm's add and mul).
    for (let i = t === undefined ? undefined : writer.get(t); i !== undefined; i = t === undefined ? undefined : writer.get(t)) {
      const op = imported.ops[i];
      const data = op.inputs.filter((x) => !imported.tensors[x].data);
      if (opTraits(op).weights || data.length !== 1 || channelFlowOf(op, imported.tensors[data[0]].shape.length) !== 'same') break;
      const constant = op.inputs.find((x) => imported.tensors[x].data);
      const channels = imported.tensors[op.outputs[0]].shape.at(-1);
      if (op.kind === 'mul' && constant !== undefined && imported.tensors[constant].shape.at(-1) === channels) {
        const values = imported.tensors[constant].data as Float32Array;
        member.channels.forEach((cs, u) => (scale[u] *= cs.reduce((s, c) => s + Math.abs(values[c]), 0) / cs.length));
        found = true;
      }
      t = data[0];
    }
    if (found) sources.push(scale);
  }
  return sources;
}

/** Mean |activation| of every member tensor, per unit, over the samples. */
async function activationMeans(graph: Graph, groups: ChannelGroup[], data: Dataset, samples: number, run: ActivationRunner): Promise<Map<number, Float64Array[]>> {
  const count = Math.min(samples, data.count);
  const inputs = graph.inputs.map((t, k) => data.inputs[k].subarray(0, count * numel(graph.tensors[t].shape)));
  const written = new Set(graph.ops.map((op) => op.outputs[0]));
  const tensors = [...new Set(groups.flatMap((g) => g.members.map((m) => m.tensor)))].filter((t) => written.has(t));
  const values = await run(graph, inputs, tensors);
  const perChannel = new Map<number, Float64Array>();
  for (const t of tensors) {
    const shape = graph.tensors[t].shape;
    perChannel.set(t, axisSums(values.get(t)!, [count * numel(shape.slice(0, -1)), shape.at(-1) ?? 1], 1, 1));
  }
  return new Map(
    groups.map((g) => [
      g.id,
      g.members.filter((m) => perChannel.has(m.tensor)).map((m) => Float64Array.from(m.channels, (cs) => cs.reduce((s, c) => s + perChannel.get(m.tensor)![c], 0) / cs.length)),
    ]),
  );
}

function ranked(scores: Float64Array, source: string): GroupImportance {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  return { scores, order, source };
}

/** Importance of every unit of every prunable group. */
export async function groupImportance(
  graph: Graph,
  groups: ChannelGroup[],
  criterion: Criterion,
  options: ImportanceOptions = {},
): Promise<Map<number, GroupImportance>> {
  const prunable = groups.filter((g) => g.prunable);
  const result = new Map<number, GroupImportance>();
  if (criterion === 'l1' || criterion === 'l2') {
    for (const g of prunable) result.set(g.id, ranked(combine(g.size, weightNorms(graph, g, criterion === 'l1' ? 1 : 2)), criterion));
  } else if (criterion === 'bn') {
    if (!options.imported) throw usageError("the 'bn' criterion needs the model as imported, before its batch norms were folded");
    for (const g of prunable) {
      const scales = batchNormScales(options.imported, graph, g);
      result.set(g.id, scales.length > 0 ? ranked(combine(g.size, scales), 'bn') : ranked(combine(g.size, weightNorms(graph, g, 2)), 'l2 (no batch norm)'));
    }
  } else if (criterion === 'taylor') {
    if (!options.data || options.data.count === 0 || !options.taylor) throw usageError("the 'taylor' criterion needs samples of the model's inputs and a gradient executor");
    const scores = await options.taylor(graph, options.data);
    for (const g of prunable) {
      const sources = g.members.filter((m) => scores.has(m.tensor)).map((m) => Float64Array.from(m.channels, (cs) => cs.reduce((s, c) => s + scores.get(m.tensor)![c], 0)));
      result.set(g.id, ranked(combine(g.size, sources), 'taylor'));
    }
  } else {
    if (!options.data || options.data.count === 0 || !options.run) throw usageError("the 'activation' criterion needs samples of the model's inputs and a float executor");
    const means = await activationMeans(graph, prunable, options.data, options.samples ?? 256, options.run);
    for (const g of prunable) result.set(g.id, ranked(combine(g.size, means.get(g.id)!), 'activation'));
  }
  return result;
}
