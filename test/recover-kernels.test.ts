// The fast cpu kernels of the backward pass give exactly what tfjs's own give: depthwise weight
// gradients, max-pool gradients (ties and overlapping windows included) and sums over leading axes.

import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { onBackend } from '../src/float/backend.ts';
import { useFastTrainingKernels } from '../src/float/fast-kernels.ts';
// The trainer registers tfjs's gradients.
import '../src/float/train.ts';

type Shape4 = [number, number, number, number];
const values = (shape: number[], seed: number) =>
  tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5), shape);

const depthwise = (x: Shape4, f: Shape4, strides: [number, number], pad: 'same' | 'valid') => () => {
  const [input, filter, probe] = [values(x, 1) as tf.Tensor4D, values(f, 2), values(f, 3)];
  return tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(input, w as tf.Tensor4D, strides, pad), tf.depthwiseConv2d(input, probe as tf.Tensor4D, strides, pad))))(filter);
};

const maxPool = (x: tf.Tensor, size: [number, number], strides: [number, number], pad: 'same' | 'valid') => () =>
  tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(input as tf.Tensor4D, size, strides, pad), 1.5)))(x);

// Few distinct values: many windows hold their maximum twice.
const ties = () => tf.round(tf.mul(values([2, 6, 7, 3], 4), 4));

const CASES: [string, () => tf.Tensor][] = [
  ['depthwise 3x3 same, stride 1, multiplier 1', depthwise([2, 7, 6, 3], [3, 3, 3, 1], [1, 1], 'same')],
  ['depthwise 3x3 same, stride 2, multiplier 2', depthwise([2, 9, 8, 3], [3, 3, 3, 2], [2, 2], 'same')],
  ['depthwise 5x3 valid, stride 2x1, multiplier 3', depthwise([1, 9, 7, 2], [5, 3, 2, 3], [2, 1], 'valid')],
  ['max pool 2x2 stride 2 valid', maxPool(values([2, 8, 6, 3], 5), [2, 2], [2, 2], 'valid')],
  ['max pool 3x3 stride 2 same (overlapping)', maxPool(values([2, 7, 9, 2], 6), [3, 3], [2, 2], 'same')],
  ['max pool 3x2 stride 1 same with ties', maxPool(ties(), [3, 2], [1, 1], 'same')],
  ['max pool 2x2 stride 2 valid with ties', maxPool(ties(), [2, 2], [2, 2], 'valid')],
  ['sum over the three leading axes', () => tf.sum(values([4, 5, 6, 7], 7), [0, 1, 2])],
  ['sum over the first axis, dims kept', () => tf.sum(values([9, 3, 5], 8), 0, true)],
  ['sum over inner axes (stock path)', () => tf.sum(values([3, 4, 5], 9), [1, 2])],
  ['bias gradient of a fused conv', () => tf.grad((b: tf.Tensor) => tf.sum(tf.square(tf.fused.conv2d({ x: values([2, 6, 6, 3], 10) as tf.Tensor4D, filter: values([3, 3, 3, 4], 11) as tf.Tensor4D, strides: 1, pad: 'same', bias: b }))))(values([4], 12))],
];

test('fast backward kernels equal the stock cpu kernels bit for bit', async (t) => {
  await onBackend('cpu', () => {
    const run = () => CASES.map(([, make]) => tf.tidy(() => make().dataSync() as Float32Array));
    const stock = run();
    useFastTrainingKernels();
    const fast = run();
    CASES.forEach(([name], i) => t.deepEqual(fast[i], stock[i], name));
  });
});
