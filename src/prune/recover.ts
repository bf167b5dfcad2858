// Recovery without training, for the layers that read pruned channels (conv2d and dense layers
// whose input lost channels): bias compensation folds the mean contribution the removed input
// channels made into the layer's bias; a least-squares refit then re-solves the layer's weights
// on the kept channels so that its pre-activation output matches the unpruned model's on the
// user's data. Layers are taken in graph order and each is measured on the pruned graph as the
// layers before it left it, so what they could not restore is corrected too. Both need only the
// float executor and a few thousand samples. On the Fashion-MNIST example the refit recovers
// most of what pruning lost; the bias alone lowers each layer's error but not the accuracy (a
// removed channel's contribution after a ReLU is sparse, and its mean added everywhere is not).

import { runFloat } from '../float/run.ts';
import { seededRandom } from '../float/train.ts';
import { numel } from '../ir/dtype.ts';
import { usageError } from '../ir/errors.ts';
import { opTraits } from '../ir/op-traits.ts';
import type { Graph, Op, Tensor } from '../ir/types.ts';
import { verifyGraph } from '../ir/verify.ts';
import { chooseRows, gather, layerRows, type Layer } from '../float/layer-rows.ts';
import { solveSpd } from './linalg.ts';
import type { Dataset, KeptChannels } from './types.ts';

export interface CompensateOptions {
  /** Also re-solve the weights by least squares (default: bias compensation only). */
  refit?: boolean;
  /**
   * Samples of the data used (the first ones). Default: up to 4,096, fewer when the activations
   * the layers read would hold more than 16M values (64 MB).
   */
  samples?: number;
  /** Rows (output positions of a conv, input rows of a dense layer) a layer's statistics use at most, drawn at random. Default 30,000. */
  rows?: number;
  /** Ridge of the refit, relative to the mean diagonal of the normal equations; it pulls toward the compensated weights. Default 1e-2. */
  ridge?: number;
  /** Seeds the choice of rows. Default 1. */
  seed?: number;
}

export interface CompensatedLayer {
  op: number;
  /** The layer's output tensor name. */
  name: string;
  /** Input channels (features of a dense layer) removed, of how many. */
  removed: number;
  inputs: number;
  /** Relative squared error of the layer's pre-activation output against the unpruned one, on the rows used: pruned, compensated, refit. */
  error: { pruned: number; compensated: number; refit?: number };
}

export interface CompensationResult {
  graph: Graph;
  layers: CompensatedLayer[];
}

/** The layers that read pruned channels through their weights, in graph order. */
function readersOfPruned(graph: Graph, kept: KeptChannels): number[] {
  return graph.ops.flatMap((op, i) => {
    const input = opTraits(op).weights?.inputAxis;
    if (input === undefined || (op.kind !== 'conv2d' && op.kind !== 'fully_connected')) return [];
    const data = op.inputs[0];
    const channels = kept.get(data);
    return channels && channels.length < (graph.tensors[data].shape.at(-1) ?? 1) ? [i] : [];
  });
}

/** Pre-activation outputs [rows, outputs.length] of weights [O, width] and bias on row matrix x. */
function preActivation(x: Float64Array, width: number, weights: ArrayLike<number>, bias: ArrayLike<number> | undefined, outputs: number[]): Float64Array {
  const rows = x.length / width;
  const y = new Float64Array(rows * outputs.length);
  for (let r = 0; r < rows; r++) {
    outputs.forEach((o, k) => {
      let sum = bias ? bias[o] : 0;
      for (let j = 0; j < width; j++) sum += weights[o * width + j] * x[r * width + j];
      y[r * outputs.length + k] = sum;
    });
  }
  return y;
}

function relativeError(y: Float64Array, reference: Float64Array): number {
  let distance = 0;
  let norm = 0;
  for (let i = 0; i < y.length; i++) {
    distance += (y[i] - reference[i]) ** 2;
    norm += reference[i] ** 2;
  }
  return norm > 0 ? distance / norm : distance;
}

/**
 * Least squares with an intercept, pulled toward `start` (weights [O, width] then bias [O]):
 * per output o, argmin |X w + b - y_o|^2 + ridge * |(w, b) - start_o|^2.
 */
function refit(x: Float64Array, width: number, y: Float64Array, outputs: number, start: Float64Array, ridge: number): Float64Array {
  const rows = x.length / width;
  const d = width + 1;
  const a = new Float64Array(d * d);
  const b = new Float64Array(d * outputs);
  const row = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    row.set(x.subarray(r * width, (r + 1) * width));
    row[width] = 1;
    for (let i = 0; i < d; i++) {
      const ri = row[i];
      if (ri === 0) continue;
      for (let j = 0; j <= i; j++) a[i * d + j] += ri * row[j];
      for (let o = 0; o < outputs; o++) b[i * outputs + o] += ri * y[r * outputs + o];
    }
  }
  let trace = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) a[j * d + i] = a[i * d + j];
    trace += a[i * d + i];
  }
  const lambda = Math.max(ridge * (trace / d), 1e-12);
  for (let i = 0; i < d; i++) {
    a[i * d + i] += lambda;
    for (let o = 0; o < outputs; o++) b[i * outputs + o] += lambda * (i < width ? start[o * width + i] : start[outputs * width + o]);
  }
  // Solution [d, O]: column o holds output o's weights then its bias.
  const solved = solveSpd(a, d, b, outputs);
  const out = new Float64Array(outputs * d);
  for (let o = 0; o < outputs; o++) {
    for (let i = 0; i < width; i++) out[o * width + i] = solved[i * outputs + o];
    out[outputs * width + o] = solved[width * outputs + o];
  }
  return out;
}

/** A bias tensor this op alone owns: its own when no other op reads it, else a new one appended. */
function ownBias(graph: Graph, opIndex: number, channels: number): number {
  const op = graph.ops[opIndex];
  const bias = op.inputs[2];
  const shared = bias !== undefined && graph.ops.some((other, i) => i !== opIndex && other.inputs.includes(bias));
  if (bias !== undefined && !shared) return bias;
  const data = bias === undefined ? new Float32Array(channels) : Float32Array.from(graph.tensors[bias].data as Float32Array);
  const name = `${graph.tensors[op.outputs[0]].name}/bias`;
  graph.tensors.push({ name, shape: [channels], dtype: 'float32', data } satisfies Tensor);
  const index = graph.tensors.length - 1;
  graph.ops[opIndex] = { ...op, inputs: [op.inputs[0], op.inputs[1], index] } as Op;
  return index;
}

function checkSamples(graph: Graph, data: Dataset, count: number): Float32Array[] {
  return graph.inputs.map((t, k) => {
    const size = numel(graph.tensors[t].shape);
    if (!data.inputs[k] || data.inputs[k].length < count * size) throw usageError(`${graph.name}: the data holds fewer than ${count} samples of input ${k}`);
    return data.inputs[k].subarray(0, count * size);
  });
}

/**
 * Bias compensation (and, with `refit`, a least-squares refit) of every layer that reads pruned
 * channels. `pruned` is `applyPruning(original, kept)`; the result is a new graph with the same
 * ops and tensor indices (plus a bias tensor appended for a layer that had none).
 */
export async function compensate(original: Graph, pruned: Graph, kept: KeptChannels, data: Dataset, options: CompensateOptions = {}): Promise<CompensationResult> {
  const readers = readersOfPruned(original, kept);
  const perSample = readers.reduce((n, i) => n + numel(original.tensors[original.ops[i].inputs[0]].shape), 0);
  // A dense layer has one row per sample: the more samples, the better posed its refit.
  const count = Math.min(data.count, options.samples ?? Math.min(4096, Math.max(256, Math.floor(16_000_000 / Math.max(1, perSample)))));
  const limit = options.rows ?? 30_000;
  const ridge = options.ridge ?? 1e-2;
  if (count < 1) throw usageError('bias compensation needs at least one sample');
  const inputs = checkSamples(original, data, count);
  const graph: Graph = { ...pruned, tensors: [...pruned.tensors], ops: [...pruned.ops] };
  const random = seededRandom(options.seed ?? 1);
  const before = await runFloat(original, inputs, { keep: readers.map((i) => original.ops[i].inputs[0]) });
  const layers: CompensatedLayer[] = [];

  for (const index of readers) {
    const op = original.ops[index] as Layer;
    const inputTensor = op.inputs[0];
    const channels = original.tensors[inputTensor].shape.at(-1)!;
    const keptInputs = kept.get(inputTensor)!;
    const outputs = kept.get(op.outputs[0]) ?? Array.from({ length: original.tensors[op.outputs[0]].shape.at(-1)! }, (_, o) => o);
    const full = layerRows(original, op);
    // The normal equations cost rows * width^2: fewer rows for wide layers, never fewer than a few per unknown.
    const affordable = Math.max(4 * full.width, Math.floor(1e9 / (full.width * full.width)));
    const chosen = chooseRows(count, full.perSample, Math.min(limit, affordable), random);
    const x = gather(full, before.get(inputTensor)!, chosen);
    const w = original.tensors[op.inputs[1]].data as Float32Array;
    const b = op.inputs[2] === undefined ? undefined : (original.tensors[op.inputs[2]].data as Float32Array);
    const target = preActivation(x, full.width, w, b, outputs);

    // Rows as the pruned graph sees them, through the layers compensated before this one.
    const narrow = layerRows(graph, graph.ops[index] as Layer);
    const xPruned = gather(narrow, (await runFloat(graph, inputs, { keep: [inputTensor] })).get(inputTensor)!, chosen);
    const weightsIndex = graph.ops[index].inputs[1];
    const prunedWeights = graph.tensors[weightsIndex].data as Float32Array;
    const biasIndex = ownBias(graph, index, outputs.length);
    const indices = outputs.map((_, k) => k);
    const y = preActivation(xPruned, narrow.width, prunedWeights, graph.tensors[biasIndex].data as Float32Array, indices);
    // What the output lost on average moves into the bias: with the layers before unchanged, the
    // removed channels' mean activation (per tap) times their weights.
    const shift = new Float64Array(outputs.length);
    for (let i = 0; i < y.length; i++) shift[i % outputs.length] += (target[i] - y[i]) / chosen.length;
    const bias = Float32Array.from(graph.tensors[biasIndex].data as Float32Array, (v, k) => v + shift[k]);
    const error: CompensatedLayer['error'] = {
      pruned: relativeError(y, target),
      compensated: relativeError(y.map((v, i) => v + shift[i % outputs.length]), target),
    };
    graph.tensors[biasIndex] = { ...graph.tensors[biasIndex], data: bias };

    if (options.refit) {
      const start = new Float64Array(outputs.length * (narrow.width + 1));
      start.set(prunedWeights);
      start.set(bias, outputs.length * narrow.width);
      const solved = refit(xPruned, narrow.width, target, outputs.length, start, ridge);
      const weights = Float32Array.from(solved.subarray(0, outputs.length * narrow.width));
      const refitBias = Float32Array.from(solved.subarray(outputs.length * narrow.width));
      graph.tensors[weightsIndex] = { ...graph.tensors[weightsIndex], data: weights };
      graph.tensors[biasIndex] = { ...graph.tensors[biasIndex], data: refitBias };
      error.refit = relativeError(preActivation(xPruned, narrow.width, weights, refitBias, indices), target);
    }
    layers.push({ op: index, name: original.tensors[op.outputs[0]].name, removed: channels - keptInputs.length, inputs: channels, error });
  }
  verifyGraph(graph);
  return { graph, layers };
}
