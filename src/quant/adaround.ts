// Adaptive rounding of int8 weights (the objective of AdaRound, Nagel et al. 2020): each weight
// rounds down or up, whichever makes the layer's outputs on the calibration data move least,
// instead of each weight to its own nearest value. For one output channel with float weights w,
// scale s and the Gram matrix H = X^T X of the rows it reads, rounding to q costs
//   E(q) = (s q - w)^T H (s q - w),
// the squared output error summed over the rows. Starting from nearest rounding, a sweep visits
// every weight and moves it to its other neighbour (floor <-> ceiling of w / s) when that lowers
// E; with g = H (s q - w), moving weight i by d = +-1 changes E by s d (2 g_i + s d H_ii). Sweeps
// repeat until no move helps: a local minimum of E that is never worse than nearest rounding.
// Scales, zero points and the int8 range stay those of quantizeWeights; only the data changes.

import { numel } from '../ir/dtype.ts';
import { outputChannelAxis } from '../ir/op-traits.ts';
import type { Conv2DOp, DepthwiseConv2DOp, FullyConnectedOp, Graph } from '../ir/types.ts';
import { chooseRows, gather, gramOf, layerRows } from '../float/layer-rows.ts';
import { seededRandom } from '../float/train.ts';
import { type ActivationSource, type CalibrationSet, sliceSamples } from './activations.ts';
import { type QuantizedConstant, roundWeights } from './params.ts';
import type { WeightRounding } from './quantize.ts';

export type WeightedOp = Conv2DOp | DepthwiseConv2DOp | FullyConnectedOp;

/** The Gram matrix each output channel's weights see: one for all channels, or one per channel (depthwise). */
export interface LayerGram {
  /** Weights per output channel. */
  width: number;
  gram(channel: number): Float64Array;
}

/** Where output channel `c`'s `width` weights sit in the weights tensor, in the order the rows are read. */
function channelIndex(op: WeightedOp, shape: number[]): (c: number, k: number) => number {
  if (op.kind === 'depthwise_conv2d') {
    const channels = shape[3];
    return (c, k) => k * channels + c;
  }
  const width = numel(shape.slice(1));
  return (c, k) => c * width + k;
}

/**
 * Rounds one channel in place. `q` holds nearest rounding of `w / scale` on entry; the result
 * keeps every q[i] within one of w[i] / scale and inside [-127, 127].
 */
export function roundChannel(w: Float64Array, scale: number, h: Float64Array, q: Int8Array, maxSweeps = 16): { nearest: number; adaptive: number } {
  const k = w.length;
  const error = Float64Array.from(w, (wi, i) => scale * q[i] - wi);
  const g = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += h[i * k + j] * error[j];
    g[i] = sum;
  }
  const cost = () => error.reduce((sum, e, i) => sum + e * g[i], 0);
  const nearest = cost();
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let moved = false;
    for (let i = 0; i < k; i++) {
      const exact = w[i] / scale;
      if (exact === q[i]) continue;
      const d = exact > q[i] ? 1 : -1;
      const to = q[i] + d;
      if (to > 127 || to < -127 || Math.abs(to - exact) >= 1) continue;
      const step = scale * d;
      if (step * (2 * g[i] + step * h[i * k + i]) >= 0) continue;
      q[i] = to;
      error[i] += step;
      for (let j = 0; j < k; j++) g[j] += h[j * k + i] * step;
      moved = true;
    }
    if (!moved) break;
  }
  return { nearest, adaptive: cost() };
}

export interface LayerRounding {
  data: Int8Array;
  /** Output error (summed over the calibration rows) with nearest and with adaptive rounding. */
  nearestError: number;
  adaptiveError: number;
  /** Channels left at nearest rounding because the deadline passed. */
  skippedChannels: number;
}

/** Adaptive rounding of a layer's weights given their nearest-rounded quantization. */
export function roundLayer(op: WeightedOp, weights: Float32Array, shape: number[], nearest: QuantizedConstant<Int8Array>, gram: LayerGram, deadline = Infinity): LayerRounding {
  const at = channelIndex(op, shape);
  const channels = shape[outputChannelAxis(op.kind)!];
  const data = Int8Array.from(nearest.data);
  let [nearestError, adaptiveError, skippedChannels] = [0, 0, 0];
  for (let c = 0; c < channels; c++) {
    if (Date.now() > deadline) {
      skippedChannels = channels - c;
      break;
    }
    const w = Float64Array.from({ length: gram.width }, (_, k) => weights[at(c, k)]);
    const q = Int8Array.from({ length: gram.width }, (_, k) => data[at(c, k)]);
    const result = roundChannel(w, nearest.quant.scale[c], gram.gram(c), q);
    q.forEach((v, k) => (data[at(c, k)] = v));
    nearestError += result.nearest;
    adaptiveError += result.adaptive;
  }
  return { data, nearestError, adaptiveError, skippedChannels };
}

/** Rows of the calibration data a layer's Gram matrix is built from, at most, and the samples they come from. */
const GRAM_ROWS = 4096;
const GRAM_SAMPLES = 256;

/**
 * The Gram matrices of op `index`'s inputs on the calibration data (float activations). A depthwise
 * layer gets one per input channel over its taps; its output channel c reads input channel c / M.
 */
export async function layerGram(graph: Graph, index: number, data: CalibrationSet, source: ActivationSource, seed = 1): Promise<LayerGram> {
  const op = graph.ops[index] as WeightedOp;
  const input = op.inputs[0];
  const count = Math.min(data.count, GRAM_SAMPLES);
  const values = (await source(graph, sliceSamples(graph, data, 0, count), [input])).get(input)!;
  const rows = layerRows(graph, op);
  const x = gather(rows, values, chooseRows(count, rows.perSample, GRAM_ROWS, seededRandom(seed)));
  if (op.kind !== 'depthwise_conv2d') {
    const gram = gramOf(x, rows.width);
    return { width: rows.width, gram: () => gram };
  }
  const channels = graph.tensors[input].shape[3];
  const taps = rows.width / channels;
  const multiplier = graph.tensors[op.inputs[1]].shape[3] / channels;
  const grams = Array.from({ length: channels }, () => new Float64Array(taps * taps));
  for (let r = 0; r < x.length; r += rows.width) {
    for (let c = 0; c < channels; c++) {
      const gram = grams[c];
      for (let i = 0; i < taps; i++) {
        const xi = x[r + i * channels + c];
        if (xi !== 0) for (let j = 0; j < taps; j++) gram[i * taps + j] += xi * x[r + j * channels + c];
      }
    }
  }
  return { width: taps, gram: (c) => grams[Math.floor(c / multiplier)] };
}

/** What adaptive rounding did to one layer. */
export interface RoundingOutcome extends Omit<LayerRounding, 'data'> {
  op: number;
}

export interface AdaptiveRounding {
  /** The hook quantizeGraph takes: adaptive rounding for every layer whose Gram matrix was made in time. */
  round: WeightRounding;
  /** Per op rounded so far. */
  outcomes: Map<number, RoundingOutcome>;
}

/**
 * Adaptive rounding for the weighted layers of `graph` (a float graph), on the calibration data,
 * within `timeLimit` seconds in all: the Gram matrices are made first, layer by layer; a layer
 * reached after the deadline, and channels reached after it, keep nearest rounding.
 */
export async function adaptiveRounding(graph: Graph, data: CalibrationSet, source: ActivationSource, options: { timeLimit?: number; seed?: number } = {}): Promise<AdaptiveRounding> {
  const deadline = Date.now() + 1000 * (options.timeLimit ?? Infinity);
  const grams = new Map<number, LayerGram>();
  for (const [index, op] of graph.ops.entries()) {
    if (Date.now() >= deadline) break;
    if (op.kind === 'conv2d' || op.kind === 'depthwise_conv2d' || op.kind === 'fully_connected') grams.set(index, await layerGram(graph, index, data, source, options.seed));
  }
  const outcomes = new Map<number, RoundingOutcome>();
  const round: WeightRounding = ({ op, weights, shape, axis, scales }) => {
    const nearest = roundWeights(weights, shape, axis, scales);
    const gram = grams.get(op);
    if (!gram) return nearest;
    const layer = graph.ops[op] as WeightedOp;
    const { data: rounded, ...outcome } = roundLayer(layer, weights, shape, { data: nearest, quant: { scale: scales, zeroPoint: scales.map(() => 0), axis } }, gram, deadline);
    outcomes.set(op, { op, ...outcome });
    return rounded;
  };
  return { round, outcomes };
}
