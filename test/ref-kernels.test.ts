// The host reference kernels and their lowering against TensorFlow Lite Micro's own outputs
// (fixtures/kernels/README.md): every case is a single-op graph run through executeGraph.

import test from 'ava';
import type { Graph, Op, TensorData } from '../src/ir/types.ts';
import { lowerConcatenation } from '../src/lower/concat.ts';
import { preluParams } from '../src/lower/elementwise.ts';
import { lowerConv2D, lowerDepthwiseConv2D } from '../src/lower/conv.ts';
import { lowerFullyConnected } from '../src/lower/fully_connected.ts';
import { lowerMean } from '../src/lower/mean.ts';
import { lowerPad } from '../src/lower/pad.ts';
import { lowerPool2D } from '../src/lower/pool.ts';
import { lowerQuantize } from '../src/lower/quantize.ts';
import { executeGraph } from '../src/ref/execute.ts';
import { familyGraph, loadKernelCases } from './helpers/kernel-fixtures.ts';

const FAMILIES = ['conv2d', 'depthwise_conv2d', 'fully_connected', 'pool', 'mean', 'quantize', 'pad', 'concatenation', 'prelu', 'reduce', 'resize_nearest', 'transpose_conv2d', 'resize_bilinear', 'arg_min_max', 'squared_difference', 'rsqrt_exp', 'log_softmax', 'elu', 'batch_matmul', 'pool_int16'];

const LOWER: Partial<Record<Op['kind'], (graph: Graph, op: never) => object>> = {
  conv2d: lowerConv2D,
  depthwise_conv2d: lowerDepthwiseConv2D,
  fully_connected: lowerFullyConnected,
  avg_pool2d: lowerPool2D,
  max_pool2d: lowerPool2D,
  mean: lowerMean,
  quantize: lowerQuantize,
  pad: lowerPad,
  concatenation: lowerConcatenation,
  prelu: preluParams,
  sum: lowerMean,
};

/** Index and values of the first element where a and b differ (bitwise for floats), or undefined. */
function firstMismatch(actual: TensorData, expected: TensorData): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) return `element ${i}: ${actual[i]}, expected ${expected[i]}`;
  }
  return undefined;
}

for (const family of FAMILIES) {
  for (const c of loadKernelCases(family)) {
    test(`${family}: ${c.name}`, (t) => {
      const { graph, sample, expected } = familyGraph(c.name, [c]);
      const [actual] = executeGraph(graph, sample);
      t.is(firstMismatch(actual, expected[0]), undefined);

      if (c.lowered) {
        const params = LOWER[c.op.kind]!(graph, graph.ops[0] as never) as Record<string, unknown>;
        for (const [key, value] of Object.entries(c.lowered)) {
          const got = params[key];
          t.deepEqual(ArrayBuffer.isView(got) ? Array.from(got as Int32Array) : got, value, `lowered ${key}`);
        }
      }
    });
  }
}
