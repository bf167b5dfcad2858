// Small UNIDIRECTIONAL_SEQUENCE_LSTM models for tests, written with the real TFLite writer from a
// seed. test/fixtures/kernels/lstm.json holds what TensorFlow Lite Micro computed for exactly
// these models and inputs (the fixture records each model's CRC-32 so a change here shows).

import { seededRandom } from '../../src/float/train.ts';
import type { Tensor, TensorData } from '../../src/ir/types.ts';
import { BuiltinOperator as B, BuiltinOptionsType as O } from '../../src/tflite/schema.ts';
import { ModelBuilder } from './tflite-models.ts';

export interface LstmCase {
  name: string;
  dtype: 'int8' | 'int16' | 'float32';
  batch: number;
  steps: number;
  inputSize: number;
  units: number;
  timeMajor?: boolean;
  cellClip?: number;
  seed: number;
  /** Invocations in a row, the state carried from one to the next. */
  invokes: number;
  /** int8 and int16 quantization (defaults in `int8Defaults` and `int16Defaults`; int16 zero points are 0). */
  input?: [number, number];
  hidden?: [number, number];
  cellScale?: number;
  weightScale?: number;
  /** Biases drawn from +-biasRange (int32 or int64 steps, or float). */
  biasRange?: number;
}

const int8Defaults = { input: [0.05, 3] as [number, number], hidden: [1 / 128, -5] as [number, number], cellScale: 2 ** -11, weightScale: 0.02, biasRange: 2000 };
const int16Defaults = { input: [0.0004, 0] as [number, number], hidden: [1 / 32768, 0] as [number, number], cellScale: 2 ** -11, weightScale: 0.02, biasRange: 200000 };

/** The cases the goldens cover: sequence length 1, carried state, zero points at the limits, odd unit counts, cell clip, int16 saturation, batches, time-major. */
export const LSTM_CASES: LstmCase[] = [
  { name: 'int8 odd units, three invokes', dtype: 'int8', batch: 1, steps: 4, inputSize: 3, units: 5, seed: 1, invokes: 3 },
  { name: 'int8 sequence length 1, five invokes', dtype: 'int8', batch: 1, steps: 1, inputSize: 4, units: 3, seed: 2, invokes: 5 },
  { name: 'int8 zero points -128 and 127', dtype: 'int8', batch: 1, steps: 3, inputSize: 5, units: 4, seed: 23, invokes: 2, input: [0.02, -128], hidden: [0.02, 127], weightScale: 0.01, biasRange: 3000 },
  { name: 'int8 zero points 127 and -128', dtype: 'int8', batch: 1, steps: 3, inputSize: 5, units: 4, seed: 24, invokes: 2, input: [0.02, 127], hidden: [0.02, -128], weightScale: 0.01, biasRange: 3000 },
  { name: 'int8 cell clip', dtype: 'int8', batch: 1, steps: 6, inputSize: 3, units: 7, seed: 5, invokes: 2, cellClip: 0.75, cellScale: 2 ** -12, weightScale: 0.03, biasRange: 3000 },
  { name: 'int8 int16 saturation', dtype: 'int8', batch: 1, steps: 5, inputSize: 8, units: 6, seed: 6, invokes: 2, cellScale: 2 ** -15, weightScale: 0.5, input: [0.1, 0], biasRange: 20 },
  { name: 'int8 cell scale 2^-8', dtype: 'int8', batch: 1, steps: 4, inputSize: 4, units: 5, seed: 7, invokes: 2, cellScale: 2 ** -8, weightScale: 0.08, biasRange: 3000 },
  { name: 'int8 batch 2', dtype: 'int8', batch: 2, steps: 3, inputSize: 3, units: 5, seed: 8, invokes: 2 },
  { name: 'int8 time major, batch 3', dtype: 'int8', batch: 3, steps: 2, inputSize: 4, units: 3, seed: 9, invokes: 2, timeMajor: true },
  { name: '16x8 odd units, three invokes', dtype: 'int16', batch: 1, steps: 4, inputSize: 3, units: 5, seed: 31, invokes: 3 },
  { name: '16x8 sequence length 1, four invokes', dtype: 'int16', batch: 1, steps: 1, inputSize: 4, units: 3, seed: 32, invokes: 4 },
  { name: '16x8 cell clip, batch 2', dtype: 'int16', batch: 2, steps: 5, inputSize: 3, units: 6, seed: 33, invokes: 2, cellClip: 0.75, cellScale: 2 ** -12, weightScale: 0.03 },
  { name: '16x8 int16 saturation', dtype: 'int16', batch: 1, steps: 5, inputSize: 8, units: 6, seed: 34, invokes: 2, cellScale: 2 ** -15, weightScale: 0.5, input: [0.002, 0], biasRange: 20 },
  { name: '16x8 time major, batch 3', dtype: 'int16', batch: 3, steps: 2, inputSize: 4, units: 3, seed: 35, invokes: 2, timeMajor: true, hidden: [1 / 4096, 0] },
  { name: 'float odd units, three invokes', dtype: 'float32', batch: 1, steps: 4, inputSize: 3, units: 5, seed: 11, invokes: 3, weightScale: 0.6, biasRange: 0.5 },
  { name: 'float sequence length 1, four invokes', dtype: 'float32', batch: 1, steps: 1, inputSize: 2, units: 3, seed: 12, invokes: 4, weightScale: 0.8, biasRange: 0.5 },
  { name: 'float cell clip', dtype: 'float32', batch: 1, steps: 6, inputSize: 3, units: 4, seed: 13, invokes: 2, cellClip: 0.5, weightScale: 1.5, biasRange: 1 },
  { name: 'float time major, batch 2', dtype: 'float32', batch: 2, steps: 3, inputSize: 3, units: 4, seed: 14, invokes: 2, timeMajor: true, weightScale: 0.7, biasRange: 0.5 },
];

const int8Values = (n: number, random: () => number) => Int8Array.from({ length: n }, () => Math.floor(random() * 255) - 127);

/** The model of one case: input, the LSTM, its output; the states are variable tensors as converters write them. */
export function lstmCaseModel(c: LstmCase): Uint8Array {
  const random = seededRandom(c.seed);
  const m = new ModelBuilder();
  const inputShape = c.timeMajor ? [c.steps, c.batch, c.inputSize] : [c.batch, c.steps, c.inputSize];
  const outputShape = [inputShape[0], inputShape[1], c.units];
  const quantized = c.dtype !== 'float32';
  const q = { ...(c.dtype === 'int16' ? int16Defaults : int8Defaults), ...c };
  const biasRange = c.biasRange ?? (quantized ? q.biasRange : 0.5);
  const weightScale = c.weightScale ?? q.weightScale;
  const ids: number[] = [];
  if (quantized) {
    ids.push(m.tensor('input', inputShape, c.dtype, { scale: [q.input[0]], zeroPoint: [q.input[1]] }));
    for (let g = 0; g < 8; g++) {
      const depth = g < 4 ? c.inputSize : c.units;
      ids.push(m.tensor(`w${g}`, [c.units, depth], 'int8', { data: int8Values(c.units * depth, random), scale: [weightScale * (0.5 + random())] }));
    }
  } else {
    ids.push(m.tensor('input', inputShape, 'float32'));
    for (let g = 0; g < 8; g++) {
      const depth = g < 4 ? c.inputSize : c.units;
      ids.push(m.tensor(`w${g}`, [c.units, depth], 'float32', { data: Float32Array.from({ length: c.units * depth }, () => (random() * 2 - 1) * weightScale) }));
    }
  }
  const biases: number[] = [];
  for (let g = 0; g < 4; g++) {
    if (quantized) {
      const values = Array.from({ length: c.units }, () => Math.round((random() * 2 - 1) * biasRange));
      const data = c.dtype === 'int16' ? BigInt64Array.from(values, BigInt) : Int32Array.from(values);
      biases.push(m.tensor(`b${g}`, [c.units], c.dtype === 'int16' ? 'int64' : 'int32', { data, scale: [q.input[0] * weightScale] }));
    } else {
      biases.push(m.tensor(`b${g}`, [c.units], 'float32', { data: Float32Array.from({ length: c.units }, () => (random() * 2 - 1) * biasRange) }));
    }
  }
  const stateShape = [c.batch, c.units];
  const hidden = quantized
    ? m.tensor('hidden_state', stateShape, c.dtype, { scale: [q.hidden[0]], zeroPoint: [q.hidden[1]] })
    : m.tensor('hidden_state', stateShape, 'float32');
  const cell = quantized ? m.tensor('cell_state', stateShape, 'int16', { scale: [q.cellScale] }) : m.tensor('cell_state', stateShape, 'float32');
  m.model.subgraphs[0].tensors[hidden].isVariable = true;
  m.model.subgraphs[0].tensors[cell].isVariable = true;
  const output = quantized
    ? m.tensor('output', outputShape, c.dtype, { scale: [q.hidden[0]], zeroPoint: [q.hidden[1]] })
    : m.tensor('output', outputShape, 'float32');
  const none = -1;
  const inputs = [...ids, none, none, none, ...biases, none, none, hidden, cell, none, none, none, none];
  m.op(B.UNIDIRECTIONAL_SEQUENCE_LSTM, inputs, [output], {
    type: O.UnidirectionalSequenceLSTMOptions,
    value: { activation: 4, cellClip: c.cellClip ?? 0, projClip: 0, timeMajor: c.timeMajor ?? false, asymmetricQuantizeInputs: false, diagonalRecurrentTensors: false },
  });
  return m.bytes([ids[0]], [output]);
}

/** The input of each invocation. */
export function lstmCaseInputs(c: LstmCase): TensorData[] {
  const random = seededRandom(c.seed + 1000);
  const n = c.batch * c.steps * c.inputSize;
  return Array.from({ length: c.invokes }, () =>
    c.dtype === 'int8'
      ? Int8Array.from({ length: n }, () => Math.floor(random() * 256) - 128)
      : c.dtype === 'int16'
        ? Int16Array.from({ length: n }, () => Math.floor(random() * 16384) - 8192)
        : Float32Array.from({ length: n }, () => (random() * 2 - 1) * 2),
  );
}

/**
 * Inputs for TFLite Micro's mnist_lstm example models (28 rows of 28 pixels in [0, 1)): a few
 * bright pixels over dim noise, quantized with the model's input parameters when it is int8.
 */
export function mnistLstmInputs(input: Tensor, samples: number): TensorData {
  const random = seededRandom(7);
  const pixels = Float32Array.from({ length: samples * 28 * 28 }, () => (random() < 0.2 ? 0.6 + 0.4 * random() : 0.1 * random()));
  const q = input.quant;
  if (!q) return pixels;
  return Int8Array.from(pixels, (v) => Math.max(-128, Math.min(127, Math.round(v / q.scale[0]) + q.zeroPoint[0])));
}
