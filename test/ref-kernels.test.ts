// The host reference kernels and their lowering against TensorFlow Lite Micro's own outputs
// (fixtures/kernels/README.md): every case is a single-op graph run through executeGraph.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { allocate } from '../src/ir/dtype.ts';
import type { DType, Graph, Op, Quantization, TensorData } from '../src/ir/types.ts';
import { lowerConcatenation } from '../src/lower/concat.ts';
import { preluParams } from '../src/lower/elementwise.ts';
import { lowerConv2D, lowerDepthwiseConv2D } from '../src/lower/conv.ts';
import { lowerFullyConnected } from '../src/lower/fully_connected.ts';
import { lowerMean } from '../src/lower/mean.ts';
import { lowerPad } from '../src/lower/pad.ts';
import { lowerPool2D } from '../src/lower/pool.ts';
import { lowerQuantize } from '../src/lower/quantize.ts';
import { executeGraph } from '../src/ref/execute.ts';

interface CaseTensor {
  name: string;
  shape: number[];
  dtype: DType;
  quant?: Quantization;
  data?: number[];
}

interface KernelCase {
  name: string;
  op: { kind: Op['kind']; attrs: Record<string, unknown> };
  tensors: CaseTensor[];
  feeds: number[][];
  expected: number[];
  lowered?: Record<string, number | number[]>;
}

const FAMILIES = ['conv2d', 'depthwise_conv2d', 'fully_connected', 'pool', 'mean', 'quantize', 'pad', 'concatenation', 'prelu', 'reduce', 'resize_nearest'];

function load(family: string): KernelCase[] {
  const text = readFileSync(new URL(`./fixtures/kernels/${family}.json`, import.meta.url), 'utf8');
  return (JSON.parse(text) as { cases: KernelCase[] }).cases;
}

function typed(dtype: DType, values: number[]): TensorData {
  const data = allocate(dtype, values.length);
  (data as Exclude<TensorData, BigInt64Array>).set(values);
  return data;
}

/** The case as a graph: the op's inputs are tensors 0..n-1, its output tensor n. */
function graphOf(c: KernelCase): Graph {
  const tensors = c.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    dtype: t.dtype,
    ...(t.quant ? { quant: t.quant } : {}),
    ...(t.data ? { data: typed(t.dtype, t.data) } : {}),
  }));
  const out = tensors.length - 1;
  const inputs = tensors.slice(0, out).map((_, i) => i);
  const op = { kind: c.op.kind, attrs: c.op.attrs, inputs, outputs: [out] } as unknown as Op;
  return { name: c.name, tensors, ops: [op], inputs: inputs.filter((i) => !tensors[i].data), outputs: [out] };
}

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
  for (const c of load(family)) {
    test(`${family}: ${c.name}`, (t) => {
      const graph = graphOf(c);
      const feeds = graph.inputs.map((index, k) => typed(graph.tensors[index].dtype, c.feeds[k]));
      const [actual] = executeGraph(graph, feeds);
      const output = graph.tensors[graph.outputs[0]];
      t.is(firstMismatch(actual, typed(output.dtype, c.expected)), undefined);

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
