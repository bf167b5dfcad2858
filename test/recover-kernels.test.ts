// The flat-array depthwise weight gradient gives exactly what tfjs's own cpu kernel gives.

import * as tf from '@tensorflow/tfjs-core';
import test from 'ava';
import { onBackend } from '../src/float/backend.ts';
import { useFastDepthwiseBackpropFilter } from '../src/float/depthwise-backprop.ts';
import '../src/float/train.ts';

const CASES: [string, number[], number[], [number, number], 'same' | 'valid'][] = [
  ['3x3 same, stride 1, multiplier 1', [2, 7, 6, 3], [3, 3, 3, 1], [1, 1], 'same'],
  ['3x3 same, stride 2, multiplier 2', [2, 9, 8, 3], [3, 3, 3, 2], [2, 2], 'same'],
  ['5x3 valid, stride 2x1, multiplier 3', [1, 9, 7, 2], [5, 3, 2, 3], [2, 1], 'valid'],
];

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5);

function filterGradient(xShape: number[], fShape: number[], strides: [number, number], pad: 'same' | 'valid'): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(xShape.reduce((a, b) => a * b), 1), xShape as [number, number, number, number]);
    const f = tf.tensor4d(values(fShape.reduce((a, b) => a * b), 2), fShape as [number, number, number, number]);
    const loss = (filter: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(x, filter as tf.Tensor4D, strides, pad), tf.depthwiseConv2d(x, f, strides, pad)));
    return tf.grad(loss)(f).dataSync() as Float32Array;
  });
}

test('depthwise weight gradient: the fast kernel equals the stock one bit for bit', async (t) => {
  await onBackend('cpu', () => {
    const stock = CASES.map(([, x, f, s, p]) => filterGradient(x, f, s, p));
    useFastDepthwiseBackpropFilter();
    CASES.forEach(([name, x, f, s, p], i) => t.deepEqual(filterGradient(x, f, s, p), stock[i], name));
  });
});
