// TFLite's value-moving operators as the importer reads them: every operand form (masks, negative
// axes and indices, -1 sizes, split counts) against tfjs's own implementation of the TensorFlow op
// on the same values, and the refusals TensorFlow Lite Micro's Prepare makes, all reported at once.

import test from 'ava';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { EdgecError } from '../src/ir/errors.ts';
import { importTflite } from '../src/import/tflite.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { BuiltinOperator as B, BuiltinOptionsType as O } from '../src/tflite/schema.ts';
import { ModelBuilder } from './helpers/tflite-models.ts';

await tf.setBackend('cpu');

const SHAPE = [2, 3, 4, 5];
const VALUES = Float32Array.from({ length: 120 }, (_, i) => i * 0.5 - 7);

/** One float model with one operator reading `SHAPE`; returns its outputs from the reference. */
function run(add: (m: ModelBuilder, x: number) => number[]): Float32Array[] {
  const m = new ModelBuilder();
  const x = m.tensor('x', SHAPE, 'float32');
  const outputs = add(m, x);
  const graph = importTflite(m.bytes([x], outputs), 'move.tflite');
  return createExecutor(graph)([VALUES]) as Float32Array[];
}

const ints = (m: ModelBuilder, name: string, values: number[], shape = [values.length]) => m.tensor(name, shape, 'int32', { data: Int32Array.from(values) });
const input = () => tf.tensor(VALUES, SHAPE);
const same = (t: import('ava').ExecutionContext, got: Float32Array[], expected: tf.Tensor[]) =>
  t.deepEqual(
    got.map((g) => Array.from(g)),
    expected.map((e) => Array.from(e.dataSync())),
  );

interface Masks {
  beginMask?: number;
  endMask?: number;
  ellipsisMask?: number;
  newAxisMask?: number;
  shrinkAxisMask?: number;
}

const STRIDED: { begin: number[]; end: number[]; strides: number[]; masks: Masks }[] = [
  { begin: [0, 0, 0, 0], end: [2, 3, 4, 5], strides: [1, 1, 1, 1], masks: {} },
  { begin: [1, -1, 3, -2], end: [2, -4, -10, 0], strides: [1, -1, -2, -1], masks: {} },
  { begin: [0, 1, 0, 4], end: [0, 3, 0, 0], strides: [1, 1, 1, -2], masks: { beginMask: 0b0101, endMask: 0b1101 } },
  { begin: [1, 2, 0, 0], end: [2, 3, 4, 5], strides: [1, 1, 1, 1], masks: { shrinkAxisMask: 0b0011 } },
  { begin: [-1, 0, 1], end: [0, 0, 3], strides: [1, 1, 1], masks: { shrinkAxisMask: 0b001, ellipsisMask: 0b010 } },
  { begin: [0, 0, 2, 1], end: [0, 0, 3, 4], strides: [1, 1, 1, 2], masks: { newAxisMask: 0b0010, beginMask: 0b0001, endMask: 0b0001 } },
  { begin: [0, 10], end: [0, -100], strides: [1, -3], masks: { ellipsisMask: 0b01 } },
];

STRIDED.forEach((c, k) => {
  test(`STRIDED_SLICE ${k}: begin [${c.begin}], end [${c.end}], strides [${c.strides}], masks ${JSON.stringify(c.masks)} as TensorFlow computes it`, (t) => {
    const expected = tf.stridedSlice(input(), c.begin, c.end, c.strides, c.masks.beginMask, c.masks.endMask, c.masks.ellipsisMask, c.masks.newAxisMask, c.masks.shrinkAxisMask);
    const got = run((m, x) => {
      const out = m.tensor('y', expected.shape, 'float32');
      const options = { beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0, offset: false, ...c.masks };
      m.op(B.STRIDED_SLICE, [x, ints(m, 'b', c.begin), ints(m, 'e', c.end), ints(m, 's', c.strides)], [out], { type: O.StridedSliceOptions, value: options });
      return [out];
    });
    same(t, got, [expected]);
  });
});

test('SLICE with a -1 size', (t) => {
  const expected = tf.slice(input(), [1, 0, 1, 2], [1, -1, 2, 3]);
  same(t, run((m, x) => {
    const out = m.tensor('y', expected.shape, 'float32');
    m.op(B.SLICE, [x, ints(m, 'b', [1, 0, 1, 2]), ints(m, 's', [1, -1, 2, 3])], [out], { type: O.SliceOptions, value: {} });
    return [out];
  }), [expected]);
});

test('SPLIT on a negative axis (the axis operand comes first), SPLIT_V with a -1 size, UNPACK', (t) => {
  const split = tf.split(input(), 2, -2);
  const splitV = tf.split(input(), [2, 1, 2], 3);
  const unpacked = tf.unstack(input(), 1);
  same(t, run((m, x) => {
    const a = split.map((s, i) => m.tensor(`a${i}`, s.shape, 'float32'));
    m.op(B.SPLIT, [ints(m, 'axis', [-2], []), x], a, { type: O.SplitOptions, value: { numSplits: 2 } });
    const b = splitV.map((s, i) => m.tensor(`b${i}`, s.shape, 'float32'));
    m.op(B.SPLIT_V, [x, ints(m, 'sizes', [2, -1, 2]), ints(m, 'axis', [3], [])], b, { type: O.SplitVOptions, value: { numSplits: 3 } });
    const c = unpacked.map((s, i) => m.tensor(`c${i}`, s.shape, 'float32'));
    m.op(B.UNPACK, [x], c, { type: O.UnpackOptions, value: { num: 3, axis: 1 } });
    return [...a, ...b, ...c];
  }), [...split, ...splitV, ...unpacked]);
});

test('PACK on a negative axis, TRANSPOSE, GATHER with 2-D indices on a negative axis, EXPAND_DIMS', (t) => {
  const x = input();
  const packed = tf.stack([x, tf.neg(x)], -2);
  const transposed = tf.transpose(x, [3, 1, 0, 2]);
  const gathered = tf.gather(x, tf.tensor2d([[3, 0], [1, 1]], [2, 2], 'int32'), -2);
  const expanded = tf.expandDims(x, -1);
  same(t, run((m, xi) => {
    const negated = m.tensor('neg', SHAPE, 'float32');
    m.op(B.MUL, [xi, m.tensor('minus1', [1], 'float32', { data: Float32Array.of(-1) })], [negated], { type: O.MulOptions, value: { activation: 0 } });
    const outs = [packed, transposed, gathered, expanded].map((e, i) => m.tensor(`y${i}`, e.shape, 'float32'));
    m.op(B.PACK, [xi, negated], [outs[0]], { type: O.PackOptions, value: { valuesCount: 2, axis: -2 } });
    m.op(B.TRANSPOSE, [xi, ints(m, 'perm', [3, 1, 0, 2])], [outs[1]], { type: O.TransposeOptions, value: {} });
    m.op(B.GATHER, [xi, ints(m, 'idx', [3, 0, 1, 1], [2, 2])], [outs[2]], { type: O.GatherOptions, value: { axis: -2, batchDims: 0 } });
    m.op(B.EXPAND_DIMS, [xi, ints(m, 'axis', [-1], [])], [outs[3]], { type: O.ExpandDimsOptions, value: {} });
    return outs;
  }), [packed, transposed, gathered, expanded]);
});

test('SPACE_TO_DEPTH and DEPTH_TO_SPACE are inverse and DEPTH_TO_SPACE matches tfjs', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 4, 6, 3], 'float32');
  const s2d = m.tensor('s2d', [1, 2, 3, 12], 'float32');
  const back = m.tensor('back', [1, 4, 6, 3], 'float32');
  m.op(B.SPACE_TO_DEPTH, [x], [s2d], { type: O.SpaceToDepthOptions, value: { blockSize: 2 } });
  m.op(B.DEPTH_TO_SPACE, [s2d], [back], { type: O.DepthToSpaceOptions, value: { blockSize: 2 } });
  const values = Float32Array.from({ length: 72 }, (_, i) => i);
  const [mid, round] = createExecutor(importTflite(m.bytes([x], [s2d, back])))([values]);
  t.deepEqual(Array.from(round as Float32Array), Array.from(values));
  t.deepEqual(Array.from(tf.depthToSpace(tf.tensor(mid as Float32Array, [1, 2, 3, 12]) as tf.Tensor4D, 2).dataSync()), Array.from(values));
});

test('every operator that breaks a constraint is named with what breaks, all at once', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 2, 3, 4, 2], 'int8', { scale: [0.1], zeroPoint: [3] });
  const y = m.tensor('y', [1, 2, 3, 4, 2], 'int8', { scale: [0.2], zeroPoint: [3] });
  m.op(B.TRANSPOSE, [x, ints(m, 'perm', [0, 1, 2, 3, 4])], [y], { type: O.TransposeOptions, value: {} });
  const z = m.tensor('z', [1, 2, 3, 4, 2], 'int8', { scale: [0.1], zeroPoint: [3] });
  const five = [0, 0, 0, 0, 0];
  m.op(B.STRIDED_SLICE, [x, ints(m, 'b', five), ints(m, 'e', [1, 2, 3, 4, 2]), ints(m, 's', [1, 1, 1, 1, 1])], [z], { type: O.StridedSliceOptions, value: { beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0, offset: false } });
  const w = m.tensor('w', [1, 2, 3, 4, 2], 'int8', { scale: [0.1], zeroPoint: [3] });
  const dynamic = m.tensor('indices', [1], 'int32');
  m.op(B.GATHER, [x, dynamic], [w], { type: O.GatherOptions, value: { axis: 0, batchDims: 0 } });
  const error = t.throws(() => importTflite(m.bytes([x, dynamic], [y, z, w]), 'bad.tflite'), { instanceOf: EdgecError });
  t.deepEqual(error!.details, [
    "operator 0 (TRANSPOSE): output tensor 1 'y' has scale 0.20000000298023224, zero point 3; input tensor 0 'x' has scale 0.10000000149011612, zero point 3; needs: int8: the output has the input's scale and zero point (values are copied raw; requantize with a QUANTIZE operator otherwise)",
    "operator 1 (STRIDED_SLICE): input has 5 axes; needs: input of at most 4 axes (TensorFlow Lite Micro's limit)",
    "operator 2 (GATHER): the indices operand (tensor 8 'indices') is computed at run time; needs: indices operand: constant INT32 or INT64",
  ]);
});
