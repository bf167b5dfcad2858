// The data-movement kernels (runtime-c/src/ec_data.c and the lookup kernels) as the generator
// calls them must give the host reference's bytes for every input: on the host under ASan/UBSan
// and on a Cortex-M4 in QEMU. All cases are independent ops of one graph, so each target builds once.

import test from 'ava';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import { generateC } from '../src/codegen/generate.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import type { DType, Graph, Quantization } from '../src/ir/types.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { type Fill, GraphBuilder, assertMatchesReference, quant as q, random, uniform } from './helpers/op-graphs.ts';

const generate = (graph: Graph) => generateC(graph, { target: { cpu: 'host', dsp: false }, emitter: kernelEmitter, prefix: 'model' });

const g = new GraphBuilder();

// ---------------------------------------------------------------- reshape and squeeze

const x = g.input([2, 3, 4], 'int8', q(0.1, 0));
g.op('reshape', { shape: [6, 4] }, [x], [6, 4], 'int8', q(0.1, 0));
const aliasedReshape = g.lastOp;
const constant = g.constant([2, 1, 3], 'float32', Float32Array.from([1.5, -2, 3e-8, 4, -5, 6]));
g.op('squeeze', { axes: [1] }, [constant], [2, 3], 'float32');
const copiedSqueeze = g.lastOp;
const hidden = g.op('relu', {}, [g.input([1, 5, 1], 'float32')], [1, 5, 1], 'float32', undefined, true);
g.op('squeeze', { axes: [0, 2] }, [hidden], [5], 'float32');

// ---------------------------------------------------------------- pad

interface PadCase {
  shape: number[];
  paddings: [number, number][];
}

/** Padding on outer and innermost axes, rows of one element, ranks 1 to 5, no padding at all. */
const PAD_CASES: PadCase[] = [
  { shape: [1, 3, 3, 2], paddings: [[0, 0], [1, 2], [2, 1], [0, 0]] },
  { shape: [2, 3, 1], paddings: [[0, 0], [0, 0], [1, 1]] },
  { shape: [5], paddings: [[3, 0]] },
  { shape: [2, 1, 2, 1, 3], paddings: [[1, 0], [0, 2], [0, 0], [1, 1], [0, 1]] },
  { shape: [3, 4], paddings: [[0, 0], [0, 0]] },
];

for (const dtype of ['int8', 'float32'] as DType[]) {
  PAD_CASES.forEach((c, k) => {
    const qq = dtype === 'int8' ? q(0.05, [-128, 127, 0, 5, -7][k]) : undefined;
    const input = g.input(c.shape, dtype, qq);
    g.op('pad', { paddings: c.paddings }, [input], c.shape.map((d, i) => d + c.paddings[i][0] + c.paddings[i][1]), dtype, qq);
  });
}

// ---------------------------------------------------------------- concatenation

interface ConcatCase {
  shapes: number[][];
  axis: number;
  /** Which inputs are constants. */
  constants?: number[];
}

const CONCAT_CASES: ConcatCase[] = [
  { shapes: [[2, 3], [1, 3]], axis: 0 },
  { shapes: [[2, 1, 4], [2, 2, 4], [2, 3, 4]], axis: 1, constants: [1] },
  { shapes: [[3, 2], [3, 5]], axis: 1 },
  { shapes: [[1, 2, 2, 3], [1, 2, 2, 1], [1, 2, 2, 2], [1, 2, 2, 1]], axis: 3 },
];

for (const dtype of ['int8', 'float32'] as DType[]) {
  CONCAT_CASES.forEach((c, k) => {
    const qq = dtype === 'int8' ? q(0.02, [-128, 127, 3, -9][k]) : undefined;
    const inputs = c.shapes.map((shape, i) =>
      c.constants?.includes(i) ? g.constant(shape, dtype, uniform(3)(shape.reduce((a, b) => a * b, 1), dtype, random(k)), qq) : g.input(shape, dtype, qq),
    );
    const out = [...c.shapes[0]];
    out[c.axis] = c.shapes.reduce((sum, s) => sum + s[c.axis], 0);
    g.op('concatenation', { axis: c.axis, activation: 'none' }, inputs, out, dtype, qq);
  });
}

// ---------------------------------------------------------------- mean

interface MeanCase {
  shape: number[];
  axes: number[];
  keepDims: boolean;
  qi: Quantization;
  qo: Quantization;
}

/** Global pooling, one axis, non-neighbouring axes, every axis; zero points at both ends. */
const MEAN_CASES: MeanCase[] = [
  { shape: [1, 4, 5, 3], axes: [1, 2], keepDims: true, qi: q(0.02, -128), qo: q(0.01, 127) },
  { shape: [2, 3, 4], axes: [0], keepDims: false, qi: q(1e-3, 127), qo: q(0.5, -128) },
  { shape: [2, 3, 4], axes: [0, 2], keepDims: true, qi: q(2, 0), qo: q(1e-3, 0) },
  { shape: [3, 2, 5], axes: [0, 1, 2], keepDims: false, qi: q(0.1, 10), qo: q(0.1, 10) },
  { shape: [1, 16, 16, 8], axes: [1, 2], keepDims: true, qi: q(0.05, -3), qo: q(0.05, -3) },
  { shape: [7], axes: [0], keepDims: true, qi: q(0.3, 1), qo: q(0.07, -50) },
];

for (const dtype of ['int8', 'float32'] as DType[]) {
  for (const c of MEAN_CASES) {
    const input = g.input(c.shape, dtype, dtype === 'int8' ? c.qi : undefined, uniform(1000));
    const out = c.keepDims ? c.shape.map((d, i) => (c.axes.includes(i) ? 1 : d)) : c.shape.filter((_, i) => !c.axes.includes(i));
    g.op('mean', { axes: c.axes, keepDims: c.keepDims }, [input], out, dtype, dtype === 'int8' ? c.qo : undefined);
  }
}

// ---------------------------------------------------------------- quantize and dequantize

/** Ties at every scale below (x / scale = k / 2), infinities, NaN, values far outside int8. */
const quantizeInputs: Fill = (count, dtype, rand) => {
  const data = uniform(300)(count, dtype, rand) as Float32Array;
  const special = [Infinity, -Infinity, NaN, -0, 3e38, -3e38, 1e-40];
  for (let i = 0; i < count; i++) {
    if (i < special.length) data[i] = special[i];
    else if (i % 3 === 0) data[i] = Math.round(data[i] * 4) / 4;
    else if (i % 3 === 1) data[i] = Math.round(data[i] * 400) / 4000;
  }
  return data;
};

/** Every byte value in order, for 256-element inputs. */
const allBytes: Fill = (count, dtype) => (dtype === 'uint8' ? Uint8Array.from({ length: count }, (_, i) => i % 256) : Int8Array.from({ length: count }, (_, i) => (i % 256) - 128));

/** int16 values from the minimum to the maximum in steps of 257 (both ends included), for 256-element inputs. */
const int16Steps: Fill = (count) => Int16Array.from({ length: count }, (_, i) => Math.min(32767, -32768 + 257 * i));

const floatIn = g.input([257], 'float32', undefined, quantizeInputs);
for (const qo of [q(0.5, 0), q(0.05, -128), q(10, 127), q(1e-3, 3)]) g.op('quantize', {}, [floatIn], [257], 'int8', qo);
// float -> int16: the input of a 16x8 model with float I/O (and a zero point, which TFLite Micro allows).
for (const qo of [q(0.01, 0), q(1e-4, 0), q(0.003, -1000)]) g.op('quantize', {}, [floatIn], [257], 'int16', qo);

const REQUANTIZE: [DType, Quantization, DType, Quantization][] = [
  ['int8', q(0.1, -128), 'int8', q(0.03, 127)],
  ['int8', q(0.01, 20), 'int8', q(2, -3)],
  ['uint8', q(0.02, 128), 'int8', q(0.02, 0)],
  ['uint8', q(0.5, 3), 'int8', q(0.1, -100)],
  ['int8', q(0.7, -5), 'uint8', q(0.3, 200)],
  // int8 -> int16 in front of a 16x8 layer: a table of int16 entries.
  ['int8', q(0.1, -128), 'int16', q(0.1 / 256, 0)],
  ['int8', q(0.02, 7), 'int16', q(3e-6, 0)],
];
for (const [di, qi, dout, qo] of REQUANTIZE) g.op('quantize', {}, [g.input([256], di, qi, allBytes)], [256], dout, qo);
for (const [dtype, qi] of [['int8', q(0.1, -128)], ['int8', q(3e-5, 127)], ['uint8', q(0.25, 128)]] as [DType, Quantization][]) {
  g.op('dequantize', {}, [g.input([256], dtype, qi, allBytes)], [256], 'float32');
}
for (const qi of [q(1e-4, 0), q(0.37, -20)]) g.op('dequantize', {}, [g.input([256], 'int16', qi, int16Steps)], [256], 'float32');
// int8 -> int8 quantize after an op whose output dies there: it runs in place.
const requantized = g.op('relu', {}, [g.input([9, 3], 'int8', q(0.1, 0))], [9, 3], 'int8', q(0.1, -128), true);
g.op('quantize', {}, [requantized], [9, 3], 'int8', q(0.04, 5));
const inPlaceQuantize = g.lastOp;

const graph = g.graph('data');
const samples = g.samples(4, 77);

test('host build under ASan/UBSan matches the reference byte for byte', async (t) => {
  assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
});

testWhere([missingTool(...TARGET_TOOLS.qemu)], 'Cortex-M4 firmware in QEMU matches the reference byte for byte', async (t) => {
  const { outputs } = await runGeneratedQemu(graph, samples);
  assertMatchesReference(t, graph, samples, outputs);
});

// ---------------------------------------------------------------- what the generated code is

const generated = generate(graph);
const source = generated.files.get('model.c')!;
/** The statements the generator wrote for op `index`: from its comment to the next op's. */
const body = (index: number) => new RegExp(`/\\* op ${index}: [\\s\\S]*?\\*/\\n([\\s\\S]*?)(?=\\n\\n|\\n\\})`).exec(source)?.[1].trim();

test('a reshape or squeeze of an arena tensor runs nothing; of a constant it copies', (t) => {
  t.regex(body(aliasedReshape)!, /^\/\* The output is the input's bytes under a new shape: nothing to run\. \*\/$/);
  t.regex(body(copiedSqueeze)!, /^memcpy\(\(\(float \*\)&model_arena\[\d+\]\), model_t\d+_const\d+, 24\);$/);
  t.regex(body(copiedSqueeze + 2)!, /nothing to run/);
});

test('int8 requantization runs in place through a table', (t) => {
  t.is(generated.plan.inPlace.get(inPlaceQuantize), 0);
  t.regex(body(inPlaceQuantize)!, /^ec_lookup_s8\(model_op\d+_table, /);
});

test('pad rows: padding on the innermost axis keeps rows of one element', (t) => {
  const pad = (k: number) => new RegExp(`model_op${graph.ops.findIndex((op) => op.kind === 'pad') + k}_params = \\{\\n\\s+\\.rows = \\{\\n([\\s\\S]*?)\\n\\s+\\},`).exec(source)?.[1].replace(/\s+/g, ' ').trim();
  // [1,3,3,2] padded on H and W: channels merge into W, H stays apart.
  t.is(pad(0), '.rank = 2, .dims = {3, 6}, .stride_a = {6, 1}, .stride_b = {12, 1},');
  // [2,3,1] padded on its last axis: six rows of one element, three apart in the output.
  t.is(pad(1), '.rank = 2, .dims = {6, 1}, .stride_a = {1, 1}, .stride_b = {3, 1},');
});

test('mean walks merge the kept and the reduced axes separately', (t) => {
  const first = graph.ops.findIndex((op) => op.kind === 'mean');
  const reduction = (k: number) => new RegExp(`model_op${first + k}_reduction = \\{\\n([\\s\\S]*?)\\n\\};`).exec(source)?.[1].replace(/\s+/g, ' ').trim();
  // [1,4,5,3] over H and W: 3 outputs one apart, 20 inputs each, 3 apart.
  t.is(
    reduction(0),
    '.kept = { .rank = 1, .dims = {3}, .stride_a = {1}, .stride_b = {0}, }, .reduced = { .rank = 1, .dims = {20}, .stride_a = {3}, .stride_b = {0}, }, .count = 20,',
  );
});
