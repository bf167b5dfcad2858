// Small single-operator models with int16 tensors (SVDF's int16 state, SOFTMAX's int16 output,
// QUANTIZE from int16), written with the real TFLite writer from a seed.
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

export type Int16Case = { name: string; seed: number; invokes: number; amplitude?: number } & (SvdfSpec | SoftmaxSpec | QuantizeSpec);

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
    case 'quantize': {
      const input = m.tensor('input', c.shape, 'int16', { scale: [c.input[0]], zeroPoint: [c.input[1]] });
      const output = m.tensor('output', c.shape, c.outputType, { scale: [c.output[0]], zeroPoint: [c.output[1]] });
      m.op(B.QUANTIZE, [input], [output]);
      return m.bytes([input], [output]);
    }
  }
}

/** The input of each invocation: int8 over its whole range, int16 within +-amplitude (default: all of it). */
export function int16CaseInputs(c: Int16Case): TensorData[] {
  const random = seededRandom(c.seed + 1000);
  const [dtype, n] = c.kind === 'svdf' ? (['int8', c.batch * c.inputSize] as const) : c.kind === 'softmax' ? (['int8', c.shape[0] * c.shape[1]] as const) : (['int16', c.shape[0] * c.shape[1]] as const);
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
