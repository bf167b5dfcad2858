// int16 tensors: SVDF (int16 or int8 state), SOFTMAX with int16 output, QUANTIZE from int16,
// int16 ADD and the 16x8 FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D. Import, the host reference against TensorFlow Lite Micro's own outputs
// (fixtures/kernels/int16.json, for the models test/helpers/int16-models.ts writes) with the SVDF
// state carried from one call to the next and reset, export back to TFLite, and the import errors.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { importTflite } from '../src/import/tflite.ts';
import { crc32 } from '../src/ir/crc32.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { TensorData } from '../src/ir/types.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { exportTflite } from '../src/tflite/export.ts';
import { writeTflite } from '../src/tflite/writer.ts';
import { BuiltinOperator as B, BuiltinOptionsType as O } from '../src/tflite/schema.ts';
import { INT16_CASES, int16CaseInputs, int16CaseModel } from './helpers/int16-models.ts';
import { ModelBuilder } from './helpers/tflite-models.ts';

export interface Int16Golden {
  name: string;
  modelCrc32: number;
  inputs: number[][];
  expected: number[][];
  afterReset: number[];
}

const goldens = (JSON.parse(readFileSync(new URL('./fixtures/kernels/int16.json', import.meta.url), 'utf8')) as { cases: Int16Golden[] }).cases;
const values = (data: TensorData) => Array.from(data as ArrayLike<number>);

test('the fixture holds every case, for the very models and inputs the helper writes', (t) => {
  t.deepEqual(
    goldens.map((g) => g.name),
    INT16_CASES.map((c) => c.name),
  );
  INT16_CASES.forEach((c, i) => {
    t.is(crc32(int16CaseModel(c)), goldens[i].modelCrc32, c.name);
    t.deepEqual(int16CaseInputs(c).map(values), goldens[i].inputs, c.name);
  });
});

INT16_CASES.forEach((c, i) => {
  test(`reference = TensorFlow Lite Micro: ${c.name}${c.kind === 'svdf' ? ', state carried, then reset' : ''}`, (t) => {
    const golden = goldens[i];
    const run = createExecutor(importTflite(int16CaseModel(c)));
    int16CaseInputs(c).forEach((x, k) => t.deepEqual(values(run([x])[0]), golden.expected[k], `invoke ${k}`));
    run.reset();
    t.deepEqual(values(run([int16CaseInputs(c)[0]])[0]), golden.afterReset);
  });
});

test('an SVDF carries its state: the same input gives another output on the next invoke', (t) => {
  const svdf = INT16_CASES.filter((c) => c.kind === 'svdf');
  for (const c of svdf) {
    const run = createExecutor(importTflite(int16CaseModel(c)));
    const x = int16CaseInputs(c)[0];
    t.notDeepEqual(values(run([x])[0]), values(run([x])[0]), c.name);
  }
});

test('import keeps the SVDF state in attributes and export writes it back as a variable tensor', (t) => {
  for (const c of INT16_CASES) {
    const graph = importTflite(int16CaseModel(c));
    if (c.kind === 'svdf') {
      const op = graph.ops[0];
      t.is(op.kind, 'svdf');
      if (op.kind === 'svdf') t.deepEqual(op.attrs, { rank: c.rank, state: { dtype: c.state, scale: Math.fround(c.stateQuant[0]), zeroPoint: c.stateQuant[1] } });
      t.is(graph.tensors.length, 5, 'input, two weights, bias, output: the state is no graph tensor');
    }
    t.deepEqual(importTflite(writeTflite(exportTflite(graph))), graph, c.name);
  }
});

/** An SVDF model with one thing changed, for the import errors. */
function svdfVariant(change: { bias?: boolean; timeType?: 'int8' | 'int16'; variable?: boolean; featureScales?: number[]; input?: 'float32' }): Uint8Array {
  const m = new ModelBuilder();
  const input = change.input ? m.tensor('input', [1, 4], 'float32') : m.tensor('input', [1, 4], 'int8', { scale: [0.05] });
  const feature = m.tensor('weights_feature', [2, 4], 'int8', { data: new Int8Array(8), scale: change.featureScales ?? [0.01] });
  const timeType = change.timeType ?? 'int16';
  const time = m.tensor('weights_time', [2, 3], timeType, { data: timeType === 'int8' ? new Int8Array(6) : new Int16Array(6), scale: [0.001] });
  const bias = change.bias === false ? -1 : m.tensor('bias', [2], 'int32', { data: new Int32Array(2), scale: [1e-6] });
  const state = m.tensor('state', [1, 6], 'int16', { scale: [0.001] });
  m.model.subgraphs[0].tensors[state].isVariable = change.variable ?? true;
  const output = m.tensor('output', [1, 2], 'int8', { scale: [0.1] });
  m.op(B.SVDF, [input, feature, time, bias, state], [output], { type: O.SVDFOptions, value: { rank: 1, activation: 0, asymmetricQuantizeInputs: false } });
  return m.bytes([input], [output]);
}

test('import refuses the SVDF forms TensorFlow Lite Micro does not run as int8, with the reason', (t) => {
  const refused: [Parameters<typeof svdfVariant>[0], RegExp][] = [
    [{ bias: false }, /the bias \(input 3\) is missing; needs: the bias present/],
    [{ timeType: 'int8' }, /the time weights and the state must both be INT16 or both INT8, got INT8 and INT16/],
    [{ variable: false }, /the activation state \(input 4\) must be a variable tensor/],
    [{ featureScales: [0.01, 0.02] }, /feature weights .* must be quantized per tensor/],
    [{ input: 'float32' }, /input is FLOAT32; needs: int8 tensors \(float32 SVDF is not supported\)/],
  ];
  for (const [change, message] of refused) {
    const error = t.throws(() => importTflite(svdfVariant(change)), { instanceOf: EdgecError });
    t.regex(error!.message, message, JSON.stringify(change));
  }
  t.notThrows(() => importTflite(svdfVariant({})));
});

test('an int16 softmax output must have scale 1/65536 (within 0.1%) and zero point -32768', (t) => {
  for (const [scale, zeroPoint] of [
    [1 / 32768, -32768],
    [1 / 65536, 0],
  ]) {
    const m = new ModelBuilder();
    const input = m.tensor('input', [1, 4], 'int8', { scale: [0.1] });
    const output = m.tensor('output', [1, 4], 'int16', { scale: [scale], zeroPoint: [zeroPoint] });
    m.op(B.SOFTMAX, [input], [output], { type: O.SoftmaxOptions, value: { beta: 1 } });
    const run = createExecutor(importTflite(m.bytes([input], [output])));
    t.throws(() => run([new Int8Array(4)]), { message: /int16 output must have scale 1\/65536 \(within 0\.1%\) and zero point -32768/ });
  }
});

test('import refuses 16x8 operators with int16 zero points, and a depthwise bias that is not int64', (t) => {
  const fc = new ModelBuilder();
  const x = fc.tensor('x', [1, 4], 'int16', { scale: [1e-3], zeroPoint: [5] });
  const w = fc.tensor('w', [2, 4], 'int8', { data: new Int8Array(8), scale: [0.01] });
  const y = fc.tensor('y', [1, 2], 'int16', { scale: [1e-3] });
  fc.op(B.FULLY_CONNECTED, [x, w, -1], [y], { type: O.FullyConnectedOptions, value: { activation: 0, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 } });
  t.throws(() => importTflite(fc.bytes([x], [y])), { message: /input \(tensor 0 'x'\) has zero point 5; needs: int16 activations with zero point 0 \(16x8\)/ });

  const dw = new ModelBuilder();
  const a = dw.tensor('a', [1, 3, 3, 2], 'int16', { scale: [1e-3] });
  const f = dw.tensor('f', [1, 2, 2, 2], 'int8', { data: new Int8Array(8), scale: [0.01] });
  const b = dw.tensor('b', [2], 'int32', { data: new Int32Array(2), scale: [1e-5] });
  const o = dw.tensor('o', [1, 2, 2, 2], 'int16', { scale: [1e-3] });
  dw.op(B.DEPTHWISE_CONV_2D, [a, f, b], [o], { type: O.DepthwiseConv2DOptions, value: { padding: 1, strideW: 1, strideH: 1, depthMultiplier: 1, activation: 0, dilationW: 1, dilationH: 1 } });
  t.throws(() => importTflite(dw.bytes([a], [o])), { message: /bias \(tensor 2 'b'\) is INT32, expected INT64/ });
});
