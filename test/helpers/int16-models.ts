// Small single-operator models with int16 tensors (SVDF's int16 state, SOFTMAX's int16 output,
// QUANTIZE from int16, 16x8 fully connected, conv and depthwise conv), written with the real
// TFLite writer from a seed.
// test/fixtures/kernels/int16.json holds what TensorFlow Lite Micro computed for exactly these
// models and inputs (each model's CRC-32 is recorded, so a change here shows).

import { seededRandom } from '../../src/float/train.ts';
import { allocate } from '../../src/ir/dtype.ts';
import type { TensorData } from '../../src/ir/types.ts';
import { readTflite } from '../../src/tflite/reader.ts';
import { BuiltinOperator as B, BuiltinOptionsType as O } from '../../src/tflite/schema.ts';
import { writeTflite } from '../../src/tflite/writer.ts';
import { ModelBuilder } from './tflite-models.ts';

type IntType = 'int8' | 'int16';

interface SvdfSpec {
  kind: 'svdf';
  batch: number;
  inputSize: number;
  units: number;
  rank: number;
  memory: number;
  state: IntType;
  input: [number, number];
  stateQuant: [number, number];
  output: [number, number];
  featureScale: number;
  timeScale: number;
}

interface SoftmaxSpec {
  kind: 'softmax';
  shape: number[];
  beta: number;
  input: [number, number];
  outputScale: number;
}

interface QuantizeSpec {
  kind: 'quantize';
  shape: number[];
  input: [number, number];
  output: [number, number];
  outputType: 'int8' | 'int16' | 'int32';
}

/** 16x8: int16 input and output (zero point 0), int8 weights, int64 or int32 bias or none. */
interface WeightedSpec {
  kind: 'fully_connected' | 'conv2d' | 'depthwise_conv2d';
  /** [rows, depth] for fully connected, NHWC otherwise. */
  input: number[];
  /** Output units or channels. */
  outputs: number;
  /** Filter height and width (conv, depthwise). */
  kernel?: [number, number];
  stride?: number;
  padding?: 'same' | 'valid';
  inputScale: number;
  outputScale: number;
  /** One weight scale (per tensor) or one per output channel. */
  weightScales: number[];
  bias: 'int64' | 'int32' | 'none';
  /** Biases drawn from +-biasRange steps. */
  biasRange?: number;
  activation?: 'relu6';
}

/** ADD of an int16 input and an int16 constant (which may broadcast). */
interface AddSpec {
  kind: 'add';
  shapes: [number[], number[]];
  scales: [number, number, number];
  zeroPoints?: [number, number, number];
  activation?: 'relu';
}

export type Int16Case = { name: string; seed: number; invokes: number; amplitude?: number } & (SvdfSpec | SoftmaxSpec | QuantizeSpec | WeightedSpec | AddSpec);

/** The cases the goldens cover: SVDF state carried over invokes (int16 and int8, rank 1 and 2, batches, saturation, a wrapping int8 store), int16 softmax outputs, int16 requantization to each type. */
export const INT16_CASES: Int16Case[] = [
  { name: 'svdf int16 state, odd input, rank 1', kind: 'svdf', seed: 1, invokes: 4, batch: 1, inputSize: 7, units: 5, rank: 1, memory: 4, state: 'int16', input: [0.05, -3], stateQuant: [6e-4, 0], output: [0.04, 5], featureScale: 0.01, timeScale: 2e-4 },
  { name: 'svdf int16 state, rank 2, batch 2, input zero point 127', kind: 'svdf', seed: 2, invokes: 3, batch: 2, inputSize: 6, units: 3, rank: 2, memory: 3, state: 'int16', input: [0.03, 127], stateQuant: [4e-4, 0], output: [0.05, -128], featureScale: 0.012, timeScale: 3e-4 },
  { name: 'svdf int16 state saturating, odd memory', kind: 'svdf', seed: 3, invokes: 3, batch: 1, inputSize: 9, units: 4, rank: 1, memory: 5, state: 'int16', input: [0.1, 0], stateQuant: [1e-4, 0], output: [0.02, 0], featureScale: 0.02, timeScale: 1e-4 },
  { name: 'svdf int8 state with zero point -50 (the store wraps)', kind: 'svdf', seed: 4, invokes: 4, batch: 1, inputSize: 8, units: 4, rank: 1, memory: 3, state: 'int8', input: [0.05, -128], stateQuant: [0.04, -50], output: [0.1, 3], featureScale: 0.01, timeScale: 0.01 },
  { name: 'softmax int8 -> int16, scale 1/65536', kind: 'softmax', seed: 5, invokes: 2, shape: [3, 5], beta: 1, input: [0.1, -7], outputScale: 1 / 65536 },
  { name: 'softmax int8 -> int16, scale 1/65535, beta 0.5, one dominant class', kind: 'softmax', seed: 6, invokes: 2, shape: [2, 11], beta: 0.5, input: [0.5, 10], outputScale: 1 / 65535 },
  { name: 'quantize int16 -> int8, multiplier below 1', kind: 'quantize', seed: 7, invokes: 2, shape: [1, 19], input: [6.25e-4, 0], output: [0.0592, -128], outputType: 'int8', amplitude: 15000 },
  { name: 'quantize int16 -> int8, multiplier above 1', kind: 'quantize', seed: 8, invokes: 2, shape: [1, 9], input: [0.01, 0], output: [0.004, 127], outputType: 'int8', amplitude: 60 },
  { name: 'quantize int16 -> int16, rescale', kind: 'quantize', seed: 9, invokes: 2, shape: [2, 7], input: [3e-4, 0], output: [7e-4, 0], outputType: 'int16' },
  { name: 'quantize int16 -> int32 with a zero point', kind: 'quantize', seed: 10, invokes: 2, shape: [1, 6], input: [1.5259e-5, -32768], output: [3.0518e-5, 5], outputType: 'int32' },
  { name: 'add int16, different scales', kind: 'add', seed: 21, invokes: 2, shapes: [[1, 3, 5], [1, 3, 5]], scales: [3e-4, 5e-4, 6e-4] },
  { name: 'add int16, broadcast, relu, saturating', kind: 'add', seed: 22, invokes: 2, shapes: [[2, 2, 3], [3]], scales: [1e-3, 2e-4, 4e-4], activation: 'relu' },
  { name: 'add int16, zero points and an output scale below the inputs', kind: 'add', seed: 23, invokes: 2, shapes: [[1, 9], [1, 9]], scales: [2e-4, 2e-4, 1e-4], zeroPoints: [100, -50, 7], amplitude: 16000 },
  { name: '16x8 fully connected, int64 bias, odd depth and units', kind: 'fully_connected', seed: 11, invokes: 2, input: [2, 13], outputs: 7, inputScale: 1e-3, outputScale: 4e-3, weightScales: [0.01], bias: 'int64', biasRange: 4e6 },
  { name: '16x8 fully connected, int32 bias, per-channel scales, relu6', kind: 'fully_connected', seed: 12, invokes: 2, input: [1, 24], outputs: 5, inputScale: 2e-4, outputScale: 2e-4, weightScales: [0.002, 0.01, 0.03, 0.005, 0.02], bias: 'int32', biasRange: 3e5, activation: 'relu6' },
  { name: '16x8 fully connected, no bias, saturating int16', kind: 'fully_connected', seed: 13, invokes: 2, input: [1, 40], outputs: 4, inputScale: 1e-3, outputScale: 1e-4, weightScales: [0.02], bias: 'none' },
  { name: '16x8 fully connected, multiplier 0.99999 x 2^-3 (its 16-bit rounding saturates)', kind: 'fully_connected', seed: 14, invokes: 6, input: [1, 9], outputs: 3, inputScale: 1, outputScale: 8.00008, weightScales: [1], bias: 'int64', biasRange: 1e4, amplitude: 900 },
  { name: '16x8 conv 3x3, SAME, stride 2, odd channels, int64 bias', kind: 'conv2d', seed: 15, invokes: 2, input: [1, 7, 6, 3], outputs: 5, kernel: [3, 3], stride: 2, padding: 'same', inputScale: 5e-4, outputScale: 2e-3, weightScales: [0.01, 0.02, 0.005, 0.015, 0.03], bias: 'int64', biasRange: 1e6 },
  { name: '16x8 conv 2x3, VALID, int32 bias, relu6', kind: 'conv2d', seed: 16, invokes: 2, input: [1, 5, 6, 4], outputs: 3, kernel: [2, 3], stride: 1, padding: 'valid', inputScale: 3e-4, outputScale: 3e-4, weightScales: [0.01], bias: 'int32', biasRange: 1e5, activation: 'relu6' },
  { name: '16x8 conv 1x1, no bias, saturating', kind: 'conv2d', seed: 17, invokes: 2, input: [1, 3, 3, 8], outputs: 6, kernel: [1, 1], stride: 1, padding: 'valid', inputScale: 1e-3, outputScale: 5e-5, weightScales: [0.02], bias: 'none' },
  { name: '16x8 depthwise 3x3, SAME, stride 1, odd channels', kind: 'depthwise_conv2d', seed: 18, invokes: 2, input: [1, 5, 5, 5], outputs: 5, kernel: [3, 3], stride: 1, padding: 'same', inputScale: 4e-4, outputScale: 1e-3, weightScales: [0.01, 0.02, 0.03, 0.004, 0.05], bias: 'int64', biasRange: 1e6 },
  { name: '16x8 depthwise 3x3, SAME, stride 2, multiplier 2', kind: 'depthwise_conv2d', seed: 19, invokes: 2, input: [1, 6, 7, 3], outputs: 6, kernel: [3, 3], stride: 2, padding: 'same', inputScale: 4e-4, outputScale: 8e-4, weightScales: [0.02], bias: 'int64', biasRange: 1e5 },
  // TFLite Micro's depthwise Prepare crashes without a bias: this one has a bias of zeros.
  { name: '16x8 depthwise 2x2, VALID, saturating', kind: 'depthwise_conv2d', seed: 20, invokes: 2, input: [1, 4, 4, 4], outputs: 4, kernel: [2, 2], stride: 1, padding: 'valid', inputScale: 1e-3, outputScale: 1e-4, weightScales: [0.03], bias: 'int64' },
];

function ints(type: IntType, n: number, random: () => number): Int8Array | Int16Array {
  const limit = type === 'int8' ? 127 : 2000;
  const values = Array.from({ length: n }, () => Math.round((random() * 2 - 1) * limit));
  return type === 'int8' ? Int8Array.from(values) : Int16Array.from(values);
}

/** The model of one case: its input, the operator (an SVDF's state a variable tensor, as converters write it), its output. */
export function int16CaseModel(c: Int16Case): Uint8Array {
  const random = seededRandom(c.seed);
  const m = new ModelBuilder();
  switch (c.kind) {
    case 'svdf': {
      const filters = c.units * c.rank;
      const input = m.tensor('input', [c.batch, c.inputSize], 'int8', { scale: [c.input[0]], zeroPoint: [c.input[1]] });
      const feature = m.tensor('weights_feature', [filters, c.inputSize], 'int8', { data: ints('int8', filters * c.inputSize, random), scale: [c.featureScale] });
      const time = m.tensor('weights_time', [filters, c.memory], c.state, { data: ints(c.state, filters * c.memory, random), scale: [c.timeScale] });
      const bias = m.tensor('bias', [c.units], 'int32', { data: Int32Array.from({ length: c.units }, () => Math.round((random() * 2 - 1) * 20000)), scale: [c.stateQuant[0] * c.timeScale] });
      const state = m.tensor('state', [c.batch, filters * c.memory], c.state, { scale: [c.stateQuant[0]], zeroPoint: [c.stateQuant[1]] });
      m.model.subgraphs[0].tensors[state].isVariable = true;
      const output = m.tensor('output', [c.batch, c.units], 'int8', { scale: [c.output[0]], zeroPoint: [c.output[1]] });
      m.op(B.SVDF, [input, feature, time, bias, state], [output], { type: O.SVDFOptions, value: { rank: c.rank, activation: 0, asymmetricQuantizeInputs: false } });
      return m.bytes([input], [output]);
    }
    case 'softmax': {
      const input = m.tensor('input', c.shape, 'int8', { scale: [c.input[0]], zeroPoint: [c.input[1]] });
      const output = m.tensor('output', c.shape, 'int16', { scale: [c.outputScale], zeroPoint: [-32768] });
      m.op(B.SOFTMAX, [input], [output], { type: O.SoftmaxOptions, value: { beta: c.beta } });
      return m.bytes([input], [output]);
    }
    case 'fully_connected':
    case 'conv2d':
    case 'depthwise_conv2d':
      return weightedModel(m, c, random);
    case 'add': {
      const [z1, z2, zo] = c.zeroPoints ?? [0, 0, 0];
      const a = m.tensor('a', c.shapes[0], 'int16', { scale: [c.scales[0]], zeroPoint: [z1] });
      const count = c.shapes[1].reduce((x, y) => x * y, 1);
      const b = m.tensor('b', c.shapes[1], 'int16', { data: Int16Array.from({ length: count }, () => Math.round((random() * 2 - 1) * 30000)), scale: [c.scales[1]], zeroPoint: [z2] });
      const output = m.tensor('output', c.shapes[0], 'int16', { scale: [c.scales[2]], zeroPoint: [zo] });
      m.op(B.ADD, [a, b], [output], { type: O.AddOptions, value: { activation: c.activation === 'relu' ? 1 : 0, potScaleInt16: false } });
      return m.bytes([a], [output]);
    }
    case 'quantize': {
      const input = m.tensor('input', c.shape, 'int16', { scale: [c.input[0]], zeroPoint: [c.input[1]] });
      const output = m.tensor('output', c.shape, c.outputType, { scale: [c.output[0]], zeroPoint: [c.output[1]] });
      m.op(B.QUANTIZE, [input], [output]);
      return m.bytes([input], [output]);
    }
  }
}

/** Output height or width of a window: TFLite's SAME and VALID rules. */
const outSize = (size: number, kernel: number, stride: number, padding: 'same' | 'valid') => Math.ceil((padding === 'same' ? size : size - kernel + 1) / stride);

function weightedModel(m: ModelBuilder, c: Int16Case & WeightedSpec, random: () => number): Uint8Array {
  const [kh, kw] = c.kernel ?? [1, 1];
  const stride = c.stride ?? 1;
  const padding = c.padding ?? 'valid';
  const fc = c.kind === 'fully_connected';
  const depth = c.input[c.input.length - 1];
  const weightShape = fc ? [c.outputs, depth] : c.kind === 'conv2d' ? [c.outputs, kh, kw, depth] : [1, kh, kw, c.outputs];
  const weightCount = weightShape.reduce((a, b) => a * b, 1);
  const outputShape = fc ? [c.input[0], c.outputs] : [c.input[0], outSize(c.input[1], kh, stride, padding), outSize(c.input[2], kw, stride, padding), c.outputs];
  const input = m.tensor('input', c.input, 'int16', { scale: [c.inputScale] });
  const weights = m.tensor('weights', weightShape, 'int8', { data: ints('int8', weightCount, random), scale: c.weightScales, axis: c.kind === 'depthwise_conv2d' ? 3 : 0 });
  const biasValues = Array.from({ length: c.outputs }, () => Math.round((random() * 2 - 1) * (c.biasRange ?? 0)));
  const biasScale = c.weightScales.map((w) => w * c.inputScale);
  const bias =
    c.bias === 'none'
      ? -1
      : c.bias === 'int64'
        ? m.tensor('bias', [c.outputs], 'int64', { data: BigInt64Array.from(biasValues, BigInt), scale: biasScale })
        : m.tensor('bias', [c.outputs], 'int32', { data: Int32Array.from(biasValues), scale: biasScale });
  const output = m.tensor('output', outputShape, 'int16', { scale: [c.outputScale] });
  const activation = c.activation === 'relu6' ? 3 : 0;
  const window = { padding: padding === 'same' ? 0 : 1, strideW: stride, strideH: stride, activation, dilationW: 1, dilationH: 1 };
  const inputs = [input, weights, bias];
  if (c.kind === 'fully_connected') {
    m.op(B.FULLY_CONNECTED, inputs, [output], { type: O.FullyConnectedOptions, value: { activation, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 } });
  } else if (c.kind === 'conv2d') {
    m.op(B.CONV_2D, inputs, [output], { type: O.Conv2DOptions, value: { ...window, quantizedBiasType: 0 } });
  } else {
    m.op(B.DEPTHWISE_CONV_2D, inputs, [output], { type: O.DepthwiseConv2DOptions, value: { ...window, depthMultiplier: c.outputs / depth } });
  }
  return m.bytes([input], [output]);
}

/** The input of each invocation: int8 over its whole range, int16 within +-amplitude (default: all of it). */
export function int16CaseInputs(c: Int16Case): TensorData[] {
  const random = seededRandom(c.seed + 1000);
  const [dtype, n] =
    c.kind === 'svdf'
      ? (['int8', c.batch * c.inputSize] as const)
      : c.kind === 'softmax'
        ? (['int8', c.shape[0] * c.shape[1]] as const)
        : c.kind === 'quantize'
          ? (['int16', c.shape[0] * c.shape[1]] as const)
          : c.kind === 'add'
            ? (['int16', c.shapes[0].reduce((a, b) => a * b, 1)] as const)
            : (['int16', c.input.reduce((a, b) => a * b, 1)] as const);
  const amplitude = c.amplitude ?? (dtype === 'int8' ? 128 : 32768);
  return Array.from({ length: c.invokes }, () => {
    const x = allocate(dtype, n);
    for (let i = 0; i < n; i++) x[i] = Math.max(dtype === 'int8' ? -128 : -32768, Math.floor((random() * 2 - 1) * amplitude));
    return x;
  });
}

/** Frames for TensorFlow Lite Micro's keyword_scrambled model ([1, 96] int16, within +-3000, where its first layers do not saturate). */
export function keywordScrambledInputs(count: number): Int16Array[] {
  const random = seededRandom(96);
  return Array.from({ length: count }, () => Int16Array.from({ length: 96 }, () => Math.floor((random() * 2 - 1) * 3000)));
}

/** The model with every operator's output made a model output, in operator order: each intermediate tensor can be compared. */
export function everyOutput(bytes: Uint8Array): Uint8Array {
  const model = readTflite(bytes);
  const subgraph = model.subgraphs[0];
  subgraph.outputs = subgraph.operators.map((op) => op.outputs[0]);
  return writeTflite(model);
}
