// Adaptive rounding: never worse than nearest rounding on the layer's own objective, strictly
// better where the inputs are correlated, unchanged where nearest is already optimal, and within
// one step of nearest for every weight; the layer's outputs on held-out data move less.

import test from 'ava';
import { runFloat } from '../src/float/run.ts';
import { GraphBuilder } from '../src/import/tfjs-builder.ts';
import { numel } from '../src/ir/dtype.ts';
import type { Graph } from '../src/ir/types.ts';
import { adaptiveRounding, layerGram, roundChannel, roundLayer, type WeightedOp } from '../src/quant/adaround.ts';
import { quantizeWeights, roundWeights } from '../src/quant/params.ts';
import { random } from './helpers/op-graphs.ts';

const source = (graph: Graph, inputs: Float32Array[], keep: number[]) => runFloat(graph, inputs, { keep });

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

/** Rows x_r = A z_r with z standard normal: correlated inputs; H = sum x x^T. */
function correlatedGram(k: number, rows: number, rand: () => number): Float64Array {
  const mix = Float64Array.from({ length: k * k }, () => gaussian(rand));
  const h = new Float64Array(k * k);
  const z = new Float64Array(k);
  const x = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    z.forEach((_, i) => (z[i] = gaussian(rand)));
    for (let i = 0; i < k; i++) {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += mix[i * k + j] * z[j];
      x[i] = sum;
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] += x[i] * x[j];
  }
  return h;
}

const nearestOf = (w: Float64Array, scale: number) => Int8Array.from(w, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));

test('a channel: lower output error than nearest on correlated inputs, every weight on floor or ceiling', (t) => {
  const rand = random(3);
  const k = 48;
  const w = Float64Array.from({ length: k }, () => gaussian(rand) * 0.1);
  const scale = Math.max(...w.map(Math.abs)) / 127;
  const q = nearestOf(w, scale);
  const { nearest, adaptive } = roundChannel(w, scale, correlatedGram(k, 400, rand), q);
  t.log(`output error: nearest ${nearest.toExponential(3)}, adaptive ${adaptive.toExponential(3)}`);
  t.true(adaptive < 0.8 * nearest);
  w.forEach((v, i) => {
    t.true(q[i] === Math.floor(v / scale) || q[i] === Math.ceil(v / scale), `weight ${i}: ${v / scale} -> ${q[i]}`);
  });
});

test('a channel whose inputs are uncorrelated keeps nearest rounding, which is then optimal', (t) => {
  const rand = random(4);
  const k = 20;
  const w = Float64Array.from({ length: k }, () => gaussian(rand));
  const scale = Math.max(...w.map(Math.abs)) / 127;
  const identity = Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0));
  const q = nearestOf(w, scale);
  const before = Int8Array.from(q);
  const { nearest, adaptive } = roundChannel(w, scale, identity, q);
  t.deepEqual(q, before);
  t.is(adaptive, nearest);
});

test('the int8 range holds: a weight at the channel maximum is never rounded past 127', (t) => {
  const w = Float64Array.of(1, -1, 0.5, 0.25);
  const scale = 1 / 127;
  const h = Float64Array.of(1, -0.9, 0, 0, -0.9, 1, 0, 0, 0, 0, 1, 0.5, 0, 0, 0.5, 1);
  const q = nearestOf(w, scale);
  roundChannel(w, scale, h, q);
  t.true(q.every((v) => v >= -127 && v <= 127));
  t.is(q[0], 127);
  t.is(q[1], -127);
});

/** input [1,8,8,c] -> `kind` 3x3 same; the layer under test is op 0. */
function layer(kind: 'conv2d' | 'depthwise_conv2d', seed: number): Graph {
  const rand = random(seed);
  const b = new GraphBuilder(kind);
  const x = b.activation('x', [1, 8, 8, 6]);
  const wShape = kind === 'conv2d' ? [5, 3, 3, 6] : [1, 3, 3, 12];
  const w = Float32Array.from({ length: numel(wShape) }, () => gaussian(rand) * 0.2);
  const out = b.op(
    {
      kind,
      inputs: [x, b.constant('w', wShape, w), b.constant('b', [wShape[0] === 1 ? 12 : 5], new Float32Array(wShape[0] === 1 ? 12 : 5))],
      attrs: { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'none', ...(kind === 'depthwise_conv2d' ? { depthMultiplier: 2 } : {}) },
    } as never,
    'y',
  );
  return b.finish([x], [out]);
}

/** Smooth images: neighbouring pixels correlate, as in real feature maps. */
function smoothImages(count: number, seed: number): Float32Array {
  const rand = random(seed);
  const out = new Float32Array(count * 8 * 8 * 6);
  const phases = Array.from({ length: count * 6 }, () => [rand() * 6, rand() * 6, 0.3 + rand() * 0.5]);
  for (let s = 0; s < count; s++) for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let c = 0; c < 6; c++) {
    const [p, q, f] = phases[s * 6 + c];
    out[((s * 8 + y) * 8 + x) * 6 + c] = Math.sin(f * x + p) + Math.cos(f * y + q) + 0.1 * gaussian(rand);
  }
  return out;
}

for (const kind of ['conv2d', 'depthwise_conv2d'] as const) {
  test(`${kind}: adaptive weights move the layer's outputs less than nearest on held-out images`, async (t) => {
    const graph = layer(kind, 11);
    const op = graph.ops[0] as WeightedOp;
    const weights = graph.tensors[op.inputs[1]];
    const axis = kind === 'conv2d' ? 0 : 3;
    const nearest = quantizeWeights(weights.data as Float32Array, weights.shape, axis);
    const calibration = { inputs: [smoothImages(64, 1)], count: 64 };
    const gram = await layerGram(graph, 0, calibration, source);
    const rounded = roundLayer(op, weights.data as Float32Array, weights.shape, nearest, gram);
    t.true(rounded.adaptiveError < rounded.nearestError);
    t.is(rounded.skippedChannels, 0);

    const heldOut = [smoothImages(32, 2)];
    const reference = (await runFloat(graph, heldOut)).get(graph.outputs[0])!;
    const errorWith = async (data: Int8Array) => {
      const dequantized = Float32Array.from(data, (q, i) => q * nearest.quant.scale[axis === 0 ? Math.floor(i / (weights.data!.length / weights.shape[0])) : i % weights.shape[3]]);
      const g: Graph = { ...graph, tensors: graph.tensors.map((x, i) => (i === op.inputs[1] ? { ...x, data: dequantized } : x)) };
      const y = (await runFloat(g, heldOut)).get(graph.outputs[0])!;
      return y.reduce((sum, v, i) => sum + (v - reference[i]) ** 2, 0);
    };
    const [before, after] = [await errorWith(nearest.data), await errorWith(rounded.data)];
    t.log(`held-out squared output error: nearest ${before.toExponential(3)}, adaptive ${after.toExponential(3)}`);
    t.true(after < before);
  });
}

test('a passed deadline leaves the remaining channels at nearest rounding, and says how many', async (t) => {
  const graph = layer('conv2d', 12);
  const op = graph.ops[0] as WeightedOp;
  const weights = graph.tensors[op.inputs[1]];
  const nearest = quantizeWeights(weights.data as Float32Array, weights.shape, 0);
  const gram = await layerGram(graph, 0, { inputs: [smoothImages(8, 3)], count: 8 }, source);
  const rounded = roundLayer(op, weights.data as Float32Array, weights.shape, nearest, gram, Date.now() - 1);
  t.is(rounded.skippedChannels, 5);
  t.deepEqual(rounded.data, nearest.data);
});

test('adaptiveRounding: the quantizer hook rounds layers adaptively, or to nearest for layers past the time limit', async (t) => {
  const graph = layer('conv2d', 13);
  const weights = graph.tensors[graph.ops[0].inputs[1]];
  const layerArgs = { op: 0, weights: weights.data as Float32Array, shape: weights.shape, axis: 0, scales: quantizeWeights(weights.data as Float32Array, weights.shape, 0).quant.scale };
  const calibration = { inputs: [smoothImages(32, 4)], count: 32 };
  const nearest = roundWeights(layerArgs.weights, layerArgs.shape, 0, layerArgs.scales);

  const adaptive = await adaptiveRounding(graph, calibration, source);
  const rounded = adaptive.round(layerArgs);
  t.notDeepEqual(rounded, nearest);
  const outcome = adaptive.outcomes.get(0)!;
  t.true(outcome.adaptiveError < outcome.nearestError);

  const late = await adaptiveRounding(graph, calibration, source, { timeLimit: 0 });
  t.deepEqual(late.round(layerArgs), nearest);
  t.is(late.outcomes.size, 0);
});
