// The multiply-accumulate kernels and pooling (runtime-c/src/ec_conv*, ec_depthwise*,
// ec_fully_connected*, ec_pool*) as the generator calls them must give the host reference's bytes
// for every input: on the host under ASan/UBSan and on a Cortex-M4 in QEMU (its DSP code paths).

import test from 'ava';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateC } from '../src/codegen/generate.ts';
import { nnEmitter } from '../src/codegen/ops/nn.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import { importTflite } from '../src/import/tflite.ts';
import { windowOutputSize } from '../src/ir/shape.ts';
import type { Activation, DType, Graph, Padding, Quantization } from '../src/ir/types.ts';
import { multiplyByQuantizedMultiplier } from '../src/lower/fixedpoint.ts';
import { readNpy, sampleOf } from '../src/npy/npy.ts';
import { HOST_CFLAGS } from '../src/targets/host.ts';
import { RUNTIME_DIR } from '../src/targets/sources.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { type Fill, GraphBuilder, assertMatchesReference, quant as q, random, uniform } from './helpers/op-graphs.ts';

// ---------------------------------------------------------------- building ops

interface WindowCase {
  kind: 'conv2d' | 'depthwise_conv2d' | 'avg_pool2d' | 'max_pool2d';
  /** Input NHWC. */
  input: [number, number, number, number];
  filter: [number, number];
  /** Output channels of a conv; depth multiplier of a depthwise conv. */
  channels?: number;
  stride?: [number, number];
  dilation?: [number, number];
  padding?: Padding;
  activation?: Activation;
  inQ?: Quantization;
  outQ?: Quantization;
  /** Decades the per-channel weight scales spread over (0: one per-tensor scale). */
  decades?: number;
  /** 'none', or the largest |bias|. */
  bias?: 'none' | number;
}

interface FcCase {
  input: number[];
  units: number;
  activation?: Activation;
  inQ?: Quantization;
  outQ?: Quantization;
  decades?: number;
  bias?: 'none' | number;
}

const rand = random(20240611);
const int8Weights = (n: number) => Int8Array.from({ length: n }, () => Math.floor(rand() * 255) - 127);
const floatValues = (n: number, range: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * range);

/** Weight scales: per channel over `decades` decades, or one per-tensor scale. */
function weightQuant(channels: number, decades: number, axis: number): Quantization {
  const scales = decades === 0 ? [0.02] : Array.from({ length: channels }, () => 0.05 * 10 ** (-decades * rand()));
  return { scale: scales, zeroPoint: scales.map(() => 0), axis };
}

/** An output scale that spreads a typical accumulator of `depth` products over the int8 range. */
function outputQuant(inQ: Quantization, w: Quantization, depth: number, zeroPoint: number): Quantization {
  const median = [...w.scale].sort((a, b) => a - b)[Math.floor(w.scale.length / 2)];
  return q(inQ.scale[0] * median * 80 * Math.sqrt(depth) * 40, zeroPoint);
}

function addBias(g: GraphBuilder, dtype: DType, channels: number, bias: 'none' | number | undefined): number[] {
  if (bias === 'none') return [];
  const max = bias ?? 20000;
  const data = dtype === 'int8' ? Int32Array.from({ length: channels }, () => Math.round((rand() * 2 - 1) * max)) : floatValues(channels, 2);
  return [g.constant([channels], dtype === 'int8' ? 'int32' : 'float32', data)];
}

/** The op index of each int8 case, for the tests that look at one op's generated code. */
const int8Op = new Map<WindowCase | FcCase, number>();

function addWindow(g: GraphBuilder, dtype: DType, c: WindowCase): void {
  const [n, h, w, cin] = c.input;
  const [fh, fw] = c.filter;
  const stride = c.stride ?? [1, 1];
  const dilation = c.dilation ?? [1, 1];
  const padding = c.padding ?? 'same';
  const activation = c.activation ?? 'none';
  const int8 = dtype === 'int8';
  const inQ = c.inQ ?? q(0.05, -3);
  const x = g.input(c.input, dtype, int8 ? inQ : undefined);
  const oh = windowOutputSize(h, fh, stride[0], c.kind.endsWith('pool2d') ? 1 : dilation[0], padding);
  const ow = windowOutputSize(w, fw, stride[1], c.kind.endsWith('pool2d') ? 1 : dilation[1], padding);
  if (c.kind === 'avg_pool2d' || c.kind === 'max_pool2d') {
    g.op(c.kind, { filter: c.filter, stride, padding, activation }, [x], [n, oh, ow, cin], dtype, int8 ? inQ : undefined);
    if (int8) int8Op.set(c, g.lastOp);
    return;
  }
  const conv = c.kind === 'conv2d';
  const cout = conv ? (c.channels ?? 4) : cin * (c.channels ?? 1);
  const shape = conv ? [cout, fh, fw, cin] : [1, fh, fw, cout];
  const count = shape.reduce((a, b) => a * b);
  const wq = weightQuant(cout, c.decades ?? 3, conv ? 0 : 3);
  const weights = g.constant(shape, dtype, int8 ? int8Weights(count) : floatValues(count, 1), int8 ? wq : undefined);
  const inputs = [x, weights, ...addBias(g, dtype, cout, c.bias)];
  const outQ = c.outQ ?? outputQuant(inQ, wq, conv ? fh * fw * cin : fh * fw, 5);
  const attrs = conv ? { stride, dilation, padding, activation } : { stride, dilation, padding, activation, depthMultiplier: c.channels ?? 1 };
  g.op(c.kind, attrs, inputs, [n, oh, ow, cout], dtype, int8 ? outQ : undefined);
  if (int8) int8Op.set(c, g.lastOp);
}

function addFullyConnected(g: GraphBuilder, dtype: DType, c: FcCase): void {
  const int8 = dtype === 'int8';
  const inQ = c.inQ ?? q(0.1, 7);
  const depth = c.input[c.input.length - 1];
  const rows = c.input.reduce((a, b) => a * b) / depth;
  const x = g.input(c.input, dtype, int8 ? inQ : undefined);
  const wq = weightQuant(c.units, c.decades ?? 0, 0);
  const weights = g.constant([c.units, depth], dtype, int8 ? int8Weights(c.units * depth) : floatValues(c.units * depth, 1), int8 ? wq : undefined);
  const bias = addBias(g, dtype, c.units, c.bias);
  // A per-tensor int8 layer's bias must carry the scale input scale x weight scale.
  if (int8 && bias.length) g.tensors[bias[0]].quant = q(inQ.scale[0] * wq.scale[0], 0);
  const outQ = c.outQ ?? outputQuant(inQ, wq, depth, -9);
  g.op('fully_connected', { activation: c.activation ?? 'none', keepNumDims: false }, [x, weights, ...bias], [rows, c.units], dtype, int8 ? outQ : undefined);
  if (int8) int8Op.set(c, g.lastOp);
}

// ---------------------------------------------------------------- the cases

const CONV: WindowCase[] = [
  { kind: 'conv2d', input: [1, 7, 9, 3], filter: [3, 3], channels: 5, activation: 'relu', inQ: q(0.05, -128), decades: 4 },
  { kind: 'conv2d', input: [1, 8, 8, 4], filter: [3, 3], channels: 8, stride: [2, 2], padding: 'valid', inQ: q(0.1, 127), outQ: q(0.5, -128) },
  { kind: 'conv2d', input: [1, 9, 7, 2], filter: [3, 3], channels: 3, dilation: [2, 2], activation: 'relu6', inQ: q(0.02, 10) },
  // 1x1 stride 1: the pointwise kernel; an odd number of pixels and two images.
  { kind: 'conv2d', input: [2, 3, 3, 16], filter: [1, 1], channels: 7, activation: 'relu', decades: 5 },
  { kind: 'conv2d', input: [1, 4, 5, 5], filter: [1, 1], channels: 6, inQ: q(0.3, -128) },
  { kind: 'conv2d', input: [1, 7, 7, 4], filter: [1, 1], channels: 4, stride: [2, 2] },
  { kind: 'conv2d', input: [1, 5, 11, 2], filter: [1, 5], channels: 3, stride: [1, 2], activation: 'relu_n1_to_1' },
  { kind: 'conv2d', input: [1, 6, 6, 3], filter: [5, 5], channels: 1, padding: 'valid', bias: 'none' },
  // A filter larger than its input, and windows that lie wholly in the padding (dilation).
  { kind: 'conv2d', input: [1, 3, 3, 2], filter: [5, 5], channels: 4, inQ: q(0.01, 127) },
  { kind: 'conv2d', input: [1, 1, 1, 2], filter: [2, 2], channels: 3, dilation: [2, 2] },
  // Multipliers above 1 (left shifts) and biases near 2^30: the requantization's slow path.
  { kind: 'conv2d', input: [1, 4, 4, 3], filter: [3, 3], channels: 4, outQ: q(1e-5, 0), decades: 1, bias: 2 ** 30 },
  { kind: 'conv2d', input: [1, 3, 4, 8], filter: [1, 1], channels: 5, inQ: q(1, 0), outQ: q(0.002, -3), decades: 0, bias: 2 ** 31 - 1 },
  // One input channel: ec_conv2d_c1_s8. Stride 1 (odd columns start mid-word), two images, channels
  // not a multiple of 4, ReLU6 over the int8 range (no sign correction), saturation at both ends.
  { kind: 'conv2d', input: [2, 9, 11, 1], filter: [3, 3], channels: 6, inQ: q(0.05, 127), activation: 'relu6', outQ: q(6 / 255, -128) },
  // micro_speech's shape, smaller: a 10x8 filter, stride 2, SAME padding on every side.
  { kind: 'conv2d', input: [1, 13, 10, 1], filter: [10, 8], channels: 8, stride: [2, 2], inQ: q(0.1, -128) },
  // 1xN with an odd width, VALID, ReLU above -128 (a clamp); 1x1 with stride 2.
  { kind: 'conv2d', input: [1, 7, 6, 1], filter: [1, 5], channels: 3, padding: 'valid', activation: 'relu' },
  { kind: 'conv2d', input: [1, 5, 5, 1], filter: [1, 1], channels: 5, stride: [2, 2], inQ: q(0.2, 0) },
  // Pointwise as fully connected over the pixels, two pixels by two channels: many weights, an odd
  // number of pixels and a depth with a tail; an odd number of channels, ReLU6 over the int8 range
  // (no sign correction) with zero point 127 at the input; a single pixel (one row, four units per pass).
  { kind: 'conv2d', input: [1, 3, 5, 97], filter: [1, 1], channels: 90, inQ: q(0.05, 127) },
  { kind: 'conv2d', input: [1, 4, 3, 9], filter: [1, 1], channels: 3, activation: 'relu6', inQ: q(0.05, 127), outQ: q(6 / 255, -128) },
  { kind: 'conv2d', input: [1, 1, 1, 12], filter: [1, 1], channels: 10, activation: 'relu', inQ: q(0.05, -128) },
];

// Built after every other int8 case, so that the random data of those stay as they were.
const MORE_CONV: WindowCase[] = [
  // ec_conv2d_w16_s8 (more than four input or eight output channels): an odd number of channels with
  // a clamp (ReLU above -128), no activation with its zero point above -128 (sign correction), ReLU6
  // over the int8 range (neither) on two images of an odd number of pixels; zero points at both limits.
  { kind: 'conv2d', input: [1, 7, 9, 6], filter: [3, 3], channels: 11, activation: 'relu', inQ: q(0.05, -128), decades: 4 },
  { kind: 'conv2d', input: [1, 8, 8, 5], filter: [3, 3], channels: 9, stride: [2, 2], padding: 'valid', inQ: q(0.1, 127) },
  { kind: 'conv2d', input: [2, 5, 5, 8], filter: [3, 3], channels: 10, activation: 'relu6', inQ: q(0.05, 127), outQ: q(6 / 255, -128) },
  // ec_conv2d_c1_s8 with several input channels: stride 2 with SAME padding on two images, and
  // stride 1 with three channels (every other filter row starts at an odd int16, mid-word).
  { kind: 'conv2d', input: [2, 9, 11, 3], filter: [3, 3], channels: 6, stride: [2, 2], activation: 'relu', inQ: q(0.05, 127) },
  { kind: 'conv2d', input: [1, 5, 6, 3], filter: [3, 2], channels: 7, padding: 'valid', inQ: q(0.05, -128), outQ: q(0.02, -128) },
  // A right shift beyond 21 with small accumulators: int8 weights, requantization without its checks.
  { kind: 'conv2d', input: [1, 5, 5, 6], filter: [3, 3], channels: 10, outQ: q(1e4, 0), bias: 100 },
  // ec_fully_connected_w16_rows_s8's copies for 2, 4, 8 and 16 groups a row (mode 0): an odd number
  // of pixels and of channels with the input zero point at 127; a depth with a tail at -128; two
  // images, a depth of 6, outputs saturating at 127 (no activation, output zero point -128); 29 and
  // 64 values, three pixels.
  { kind: 'conv2d', input: [1, 5, 3, 8], filter: [1, 1], channels: 7, activation: 'relu6', inQ: q(0.05, 127), outQ: q(6 / 255, -128) },
  { kind: 'conv2d', input: [1, 3, 3, 15], filter: [1, 1], channels: 6, activation: 'relu6', inQ: q(0.05, -128), outQ: q(6 / 255, -128) },
  { kind: 'conv2d', input: [2, 3, 1, 6], filter: [1, 1], channels: 5, inQ: q(0.1, 3), outQ: q(0.01, -128), bias: 20000 },
  { kind: 'conv2d', input: [1, 3, 3, 29], filter: [1, 1], channels: 5, activation: 'relu6', inQ: q(0.05, 127), outQ: q(6 / 255, -128) },
  { kind: 'conv2d', input: [1, 1, 3, 64], filter: [1, 1], channels: 3, inQ: q(0.02, -128), outQ: q(0.05, -128) },
];

const DEPTHWISE: WindowCase[] = [
  { kind: 'depthwise_conv2d', input: [1, 6, 6, 8], filter: [3, 3], activation: 'relu6', inQ: q(0.05, -128) },
  { kind: 'depthwise_conv2d', input: [1, 7, 5, 6], filter: [3, 3], stride: [2, 2], inQ: q(0.05, 127), decades: 5 },
  // One input channel: computed by the conv kernel (micro_speech's first layer, smaller).
  { kind: 'depthwise_conv2d', input: [1, 12, 10, 1], filter: [4, 5], channels: 8, stride: [2, 2], activation: 'relu' },
  { kind: 'depthwise_conv2d', input: [1, 6, 6, 3], filter: [3, 3], channels: 2, dilation: [2, 2], padding: 'valid' },
  { kind: 'depthwise_conv2d', input: [1, 5, 4, 3], filter: [3, 2], channels: 3, stride: [2, 1], bias: 'none' },
  { kind: 'depthwise_conv2d', input: [2, 4, 5, 5], filter: [2, 3], padding: 'valid' },
  { kind: 'depthwise_conv2d', input: [1, 5, 5, 4], filter: [1, 1] },
  { kind: 'depthwise_conv2d', input: [1, 5, 5, 12], filter: [5, 3], inQ: q(0.2, 0) },
  { kind: 'depthwise_conv2d', input: [1, 2, 2, 4], filter: [2, 2], dilation: [2, 2] },
  { kind: 'depthwise_conv2d', input: [1, 4, 4, 4], filter: [3, 3], outQ: q(1e-6, 3), decades: 1, bias: 2 ** 31 - 1 },
  // One input channel with dilation: the general conv kernel.
  { kind: 'depthwise_conv2d', input: [1, 8, 8, 1], filter: [3, 3], channels: 4, dilation: [2, 2] },
  // ec_depthwise_conv2d_3x3_s8: stride 1 and 2, SAME and VALID, channel counts not a multiple of 4,
  // zero points at both limits, 1xN and Nx1 images, a 1x1 output, two images, uneven strides,
  // saturation, ReLU6 over the int8 range (mode 0) and ReLU above -128 (a clamp).
  { kind: 'depthwise_conv2d', input: [1, 5, 7, 7], filter: [3, 3], inQ: q(0.05, 127), activation: 'relu6', outQ: q(6 / 255, -128) },
  { kind: 'depthwise_conv2d', input: [1, 7, 8, 5], filter: [3, 3], stride: [2, 2], padding: 'valid', inQ: q(0.05, -128) },
  { kind: 'depthwise_conv2d', input: [1, 1, 9, 4], filter: [3, 3], activation: 'relu', outQ: q(0.05, 5) },
  { kind: 'depthwise_conv2d', input: [1, 9, 1, 6], filter: [3, 3], stride: [2, 2], inQ: q(0.1, -128) },
  { kind: 'depthwise_conv2d', input: [1, 3, 3, 12], filter: [3, 3], padding: 'valid', decades: 3 },
  { kind: 'depthwise_conv2d', input: [2, 6, 5, 8], filter: [3, 3], stride: [2, 2], activation: 'relu6', outQ: q(6 / 255, -128) },
  { kind: 'depthwise_conv2d', input: [1, 7, 6, 3], filter: [3, 3], stride: [2, 1], outQ: q(0.05, 3), inQ: q(0.2, 127) },
  { kind: 'depthwise_conv2d', input: [1, 6, 9, 9], filter: [3, 3], stride: [1, 2], padding: 'valid', outQ: q(0.004, -128) },
  { kind: 'depthwise_conv2d', input: [1, 4, 4, 2], filter: [3, 3], stride: [1, 1], activation: 'relu6', inQ: q(0.05, 0), outQ: q(0.01, -20) },
];

const POOL: WindowCase[] = [
  { kind: 'avg_pool2d', input: [1, 7, 7, 5], filter: [3, 3], stride: [2, 2], activation: 'relu', inQ: q(0.1, -128) },
  { kind: 'avg_pool2d', input: [1, 4, 6, 3], filter: [2, 2], stride: [2, 2], padding: 'valid', inQ: q(0.1, 127) },
  { kind: 'avg_pool2d', input: [1, 3, 3, 16], filter: [3, 3], padding: 'valid' },
  { kind: 'max_pool2d', input: [1, 7, 7, 5], filter: [3, 3], activation: 'relu6', inQ: q(0.05, -100) },
  { kind: 'max_pool2d', input: [2, 5, 4, 3], filter: [2, 3], stride: [2, 1], padding: 'valid' },
];

const FULLY_CONNECTED: FcCase[] = [
  { input: [1, 37], units: 5, activation: 'relu', inQ: q(0.05, -128) },
  { input: [3, 16], units: 4, activation: 'relu6', inQ: q(0.1, 127), decades: 4, bias: 'none' },
  { input: [2, 40], units: 7 },
  { input: [1, 400], units: 4, decades: 2 },
  { input: [1, 9], units: 3, inQ: q(1, 0), outQ: q(1e-3, 0), bias: 2 ** 31 - 1, decades: 1 },
  // ec_fully_connected_w16_s8: a wide layer with units not a multiple of 4 and a depth that is not
  // one either; ReLU6 whose range is the int8 range (no sign correction), ReLU with its lower bound
  // above -128 (a clamp), zero points at both limits, several rows; a shift too large for it.
  { input: [1, 643], units: 130, activation: 'relu6', inQ: q(0.05, -128), outQ: q(6 / 255, -128), decades: 2 },
  { input: [3, 66], units: 6, activation: 'relu', inQ: q(0.05, 127), outQ: q(0.4, 5), decades: 3 },
  { input: [2, 5], units: 1, inQ: q(0.5, -128), outQ: q(0.1, 127), bias: 'none' },
  { input: [1, 32], units: 4, outQ: q(1e5, 3), bias: 100 },
  // One long row split in chunks (accumulators kept between them), a tail in the last chunk, a clamp.
  { input: [1, 501], units: 9, activation: 'relu', inQ: q(0.05, 127), decades: 2 },
];

/** Floats with infinities here and there (one sign per input, so that no window adds +inf and -inf). */
const withInfinities =
  (sign: number): Fill =>
  (count, dtype, r) => {
    const data = uniform(6)(count, dtype, r) as Float32Array;
    for (let i = 5; i < count; i += 17) data[i] = sign * Infinity;
    return data;
  };

function nnGraph(): GraphBuilder {
  const g = new GraphBuilder();
  for (const c of [...CONV, ...DEPTHWISE, ...POOL]) addWindow(g, 'int8', c);
  for (const c of FULLY_CONNECTED) addFullyConnected(g, 'int8', c);
  for (const c of MORE_CONV) addWindow(g, 'int8', c);
  for (const c of [CONV[0], CONV[2], CONV[3], CONV[8], DEPTHWISE[0], DEPTHWISE[3], DEPTHWISE[8], ...POOL]) addWindow(g, 'float32', c);
  for (const c of FULLY_CONNECTED.slice(0, 3)) addFullyConnected(g, 'float32', c);
  // Infinities through the float pools: clamped to +-FLT_MAX as TFLite's activation range does.
  for (const sign of [1, -1]) {
    const x = g.input([1, 5, 5, 3], 'float32', undefined, withInfinities(sign));
    g.op('max_pool2d', { filter: [2, 2], stride: [1, 1], padding: 'same', activation: 'none' }, [x], [1, 5, 5, 3], 'float32');
    g.op('avg_pool2d', { filter: [3, 3], stride: [2, 2], padding: 'same', activation: 'none' }, [x], [1, 3, 3, 3], 'float32');
  }
  return g;
}

const builder = nnGraph();
const graph: Graph = builder.graph('nn_kernels');
const samples = builder.samples(3, 7);

// ---------------------------------------------------------------- byte-for-byte

test('host build under ASan/UBSan matches the reference byte for byte', async (t) => {
  assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
});

testWhere([missingTool(...TARGET_TOOLS.qemu)], 'Cortex-M4 build in QEMU (DSP kernels) matches the reference byte for byte', async (t) => {
  const { outputs } = await runGeneratedQemu(graph, samples);
  assertMatchesReference(t, graph, samples, outputs);
});

// ---------------------------------------------------------------- the models that matter most

/** Instructions per inference of TensorFlow Lite Micro with CMSIS-NN on a Cortex-M4 (../shared/oracles/README.md). */
const TFLM_CMSIS_NN = { micro_speech: 1_495_360, person_detect: 22_928_448 };

for (const [name, tflm] of Object.entries(TFLM_CMSIS_NN)) {
  testWhere([missingTool(...TARGET_TOOLS.qemu)], `${name} in QEMU gives TensorFlow Lite Micro's outputs in fewer instructions than its CMSIS-NN build`, async (t) => {
    const file = (f: string) => readFileSync(new URL(`../../shared/oracles/${name}/${f}`, import.meta.url));
    const model = importTflite(file('model.tflite'), `${name}.tflite`);
    const inputs = readNpy(file('input.npy'), 'input.npy');
    const expected = readNpy(file('output.npy'), 'output.npy');
    const all = Array.from({ length: inputs.shape[0] }, (_, s) => [sampleOf(inputs, s)]);
    const { outputs, instructions } = await runGeneratedQemu(model, all);
    t.deepEqual(
      outputs.map((o) => Array.from(o[0] as Int8Array)),
      all.map((_, s) => Array.from(sampleOf(expected, s) as Int8Array)),
    );
    const median = [...instructions].sort((a, b) => a - b)[Math.floor(instructions.length / 2)];
    t.log(`${name}: ${median.toLocaleString('en-US')} instructions per inference (TFLM with CMSIS-NN: ${tflm.toLocaleString('en-US')})`);
    t.true(median < tflm);
  });
}

// ---------------------------------------------------------------- choices the generator makes

const generated = generateC(graph, { target: { cpu: 'host', dsp: false }, emitter: kernelEmitter, prefix: 'nn' });
const source = generated.files.get('nn.c')!;

const kernelOf = (c: WindowCase | FcCase) => generated.ops[int8Op.get(c)!].kernel;
const fastOf = (c: WindowCase | FcCase) => Number(new RegExp(`nn_op${int8Op.get(c)}_params = \\{[^;]*?\\.fast = (\\d)`).exec(source)?.[1]);

test('the generator picks the specialised kernels where they apply', (t) => {
  t.regex(kernelOf(CONV[3]), /^ec_fully_connected_w16_rows\d*_s8$/, '1x1 stride 1, few weights: a fully connected layer over the pixels');
  t.regex(kernelOf(CONV[4]), /^ec_fully_connected_w16_rows\d*_s8$/, '1x1 with a depth that is not a multiple of 4');
  t.is(kernelOf(CONV[17]), 'ec_fully_connected_w16_rows_s8', 'four output channels or fewer');
  t.is(kernelOf(CONV[16]), 'ec_fully_connected_w16_rows_s8', '1x1 with many weights');
  t.is(kernelOf(CONV[18]), 'ec_fully_connected_w16_s8', '1x1 on a single pixel');
  t.is(kernelOf(CONV[5]), 'ec_conv2d_c1_s8', '1x1 stride 2, four input channels: rows widened once');
  for (const c of MORE_CONV.slice(0, 3)) t.is(kernelOf(c), 'ec_conv2d_w16_s8', `${c.input} ${c.channels}`);
  for (const c of MORE_CONV.slice(3, 5)) t.is(kernelOf(c), 'ec_conv2d_c1_s8', `${c.input} ${c.channels}`);
  t.is(kernelOf(MORE_CONV[5]), 'ec_conv2d_s8', 'a right shift beyond 21');
  MORE_CONV.slice(6).forEach((c, i) => {
    t.is(kernelOf(c), `ec_fully_connected_w16_rows${[2, 4, 2, 8, 16][i]}_s8`, `${c.input} ${c.channels}`);
    t.is(modeOf(c), 0, `${c.input} ${c.channels}: the mode of the copies for few groups`);
  });
  t.is(kernelOf(FULLY_CONNECTED[6]), 'ec_fully_connected_w16_rows_s8', 'several rows');
  t.is(kernelOf(CONV[2]), 'ec_conv2d_w16_s8', 'dilation');
  t.is(kernelOf(DEPTHWISE[0]), 'ec_depthwise_conv2d_3x3_s8');
  for (const c of DEPTHWISE.slice(11)) t.is(kernelOf(c), 'ec_depthwise_conv2d_3x3_s8', `${c.input} ${c.stride}`);
  t.is(kernelOf(DEPTHWISE[7]), 'ec_depthwise_conv2d_s8', 'a 5x3 filter');
  t.is(kernelOf(DEPTHWISE[9]), 'ec_depthwise_conv2d_s8', 'an accumulator that may leave [-2^30, 2^30)');
  t.is(kernelOf(DEPTHWISE[2]), 'ec_conv2d_c1_s8', 'a single input channel is a conv');
  for (const c of CONV.slice(12, 16)) t.is(kernelOf(c), 'ec_conv2d_c1_s8', `${c.input} ${c.filter}`);
  t.is(kernelOf(DEPTHWISE[10]), 'ec_conv2d_w16_s8', 'a single input channel with dilation');
  t.is(kernelOf(CONV[11]), 'ec_conv2d_1x1_s8', 'an accumulator that may leave [-2^30, 2^30)');
  t.is(kernelOf(DEPTHWISE[3]), 'ec_depthwise_conv2d_mult_s8', 'depth multiplier 2');
  t.is(kernelOf(FULLY_CONNECTED[0]), 'ec_fully_connected_w16_s8');
  t.is(kernelOf(FULLY_CONNECTED[4]), 'ec_fully_connected_s8', 'an accumulator that may leave [-2^30, 2^30)');
  t.is(kernelOf(FULLY_CONNECTED[8]), 'ec_fully_connected_s8', 'a right shift beyond 21');
  t.is(kernelOf(POOL[0]), 'ec_avgpool_s8');
});

test('requantization skips its range checks only where the weights prove them unnecessary', (t) => {
  for (const c of [CONV[10], CONV[11], DEPTHWISE[9], FULLY_CONNECTED[4]]) t.is(fastOf(c), 0, `${c.input}`);
  for (const c of [MORE_CONV[5], DEPTHWISE[7], FULLY_CONNECTED[8]]) t.is(fastOf(c), 1, `${c.input}`);
});

const modeOf = (c: WindowCase | FcCase) => Number(new RegExp(`nn_op${int8Op.get(c)}_params = \\{[^;]*?\\.mode = (\\d)`).exec(source)?.[1]);

test('doubled-accumulator requantization skips the sign correction only where the activation makes it irrelevant', (t) => {
  t.is(modeOf(FULLY_CONNECTED[5]), 0, 'ReLU6 over the int8 range with output zero point -128');
  t.is(modeOf(FULLY_CONNECTED[2]), 1, 'no activation');
  t.is(modeOf(FULLY_CONNECTED[6]), 2, 'ReLU above -128: a clamp');
  t.deepEqual(CONV.slice(12, 16).map(modeOf), [0, 1, 2, 1]);
  t.deepEqual([11, 13, 16, 19].map((i) => modeOf(DEPTHWISE[i])), [0, 2, 0, 2]);
});

test('the scratch the generator reserves is what the kernels ask for', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgec-nn-scratch-'));
  try {
    // Every kernel that takes scratch, with the op's own parameters: the program prints the C
    // sizes in op order; the generator's figures come from its scratchBytes.
    const calls = [...source.matchAll(/^\s+(ec_\w+)\(&(nn_op(\d+)_params), .*\(\(void \*\)/gm)];
    t.true(calls.length >= 20);
    const main = [
      source.replace(/^void nn_invoke[\s\S]*/m, ''),
      '#include <stdio.h>',
      'int main(void)',
      '{',
      ...calls.map(([, kernel, params]) => {
        const size = kernel === 'ec_depthwise_conv2d_mult_s8' ? 'ec_depthwise_conv2d_s8_scratch_size' : `${kernel}_scratch_size`;
        return `    printf("%zu\\n", ${size}(&${params}));`;
      }),
      '    return 0;',
      '}',
    ].join('\n');
    for (const [name, text] of generated.files) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'scratch.c'), main);
    const exe = join(dir, 'scratch');
    const include = join(RUNTIME_DIR, 'include');
    const sources = ['ec_conv_s8.c', 'ec_depthwise_s8.c', 'ec_fully_connected_s8.c'].map((f) => join(RUNTIME_DIR, 'src', f));
    const cc = spawnSync('cc', [...HOST_CFLAGS, '-Wno-unused-function', '-Wno-unused-variable', `-I${include}`, `-I${dir}`, join(dir, 'scratch.c'), join(dir, 'nn_weights.c'), ...sources, '-o', exe], {
      encoding: 'utf8',
    });
    t.is(cc.status, 0, cc.stderr);
    const printed = spawnSync(exe, [], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
    const expected = calls.map(([, , , index]) => nnEmitter.scratchBytes(graph, graph.ops[Number(index)], { cpu: 'host', dsp: false }));
    t.deepEqual(printed, expected);
    // The long single rows are split in chunks: less scratch than two bytes per value.
    for (const c of [FULLY_CONNECTED[5], FULLY_CONNECTED[9]]) {
      t.true(nnEmitter.scratchBytes(graph, graph.ops[int8Op.get(c)!], { cpu: 'host', dsp: false }) < 2 * c.input[1], `${c.input}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- the fixed-point helpers

test('ec_requantize matches MultiplyByQuantizedMultiplier on edge and random values', (t) => {
  const r = random(99);
  const accs = [0, 1, -1, 2 ** 30 - 1, -(2 ** 30), 2 ** 30, -(2 ** 30) - 1, 2 ** 31 - 1, -(2 ** 31), 12345, -12345];
  const multipliers = [2 ** 30, 2 ** 31 - 1, 1518500250, 1073741825, -(2 ** 31), -(2 ** 30)];
  const cases: [number, number, number][] = [];
  for (let shift = -31; shift <= 30; shift++) {
    for (const a of accs) for (const m of multipliers) cases.push([a, m, shift]);
    for (let i = 0; i < 200; i++) cases.push([(Math.floor(r() * 2 ** 32) | 0) >> Math.floor(r() * 31), 2 ** 30 + Math.floor(r() * 2 ** 30), shift]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'edgec-requant-'));
  try {
    const table = cases.map(([a, m, s]) => `{${a === -(2 ** 31) ? '-2147483647 - 1' : a}, ${m === -(2 ** 31) ? '-2147483647 - 1' : m}, ${s}}`).join(',\n');
    const main = `#include <stdio.h>
#include "ec_common.h"
static const int32_t cases[][3] = {
${table}
};
int main(void)
{
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) printf("%d\\n", (int)ec_requantize(cases[i][0], cases[i][1], cases[i][2]));
    return 0;
}
`;
    writeFileSync(join(dir, 'requant.c'), main);
    const exe = join(dir, 'requant');
    const cc = spawnSync('cc', [...HOST_CFLAGS, '-O1', '-fsanitize=undefined', '-fno-sanitize-recover=all', `-I${join(RUNTIME_DIR, 'include')}`, join(dir, 'requant.c'), '-o', exe], { encoding: 'utf8' });
    t.is(cc.status, 0, cc.stderr);
    const got = spawnSync(exe, [], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
    const want = cases.map(([a, m, s]) => multiplyByQuantizedMultiplier(a, m, s));
    const wrong = cases.filter((_, i) => got[i] !== want[i]).slice(0, 5);
    t.deepEqual(wrong, []);
    t.is(got.length, cases.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
