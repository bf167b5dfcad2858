// PRELU's kernels (ec_prelu_s8, ec_prelu_f32) as the generator calls them give the host
// reference's bytes (the reference itself is checked against TensorFlow Lite Micro's goldens in
// ref-kernels.test.ts): on the host under ASan/UBSan and on a Cortex-M4 in QEMU.

import test from 'ava';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import type { DType, Quantization } from '../src/ir/types.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { GraphBuilder, assertMatchesReference, quant as q, random, uniform } from './helpers/op-graphs.ts';

/** input shape, alpha shape, input / alpha / output quantization: zero points at both ends, multipliers above and below 1. */
const CASES: [number[], number[], Quantization, Quantization, Quantization][] = [
  [[1, 3, 4, 5], [5], q(0.05, 0), q(0.01, -3), q(0.1, 127)],
  [[1, 2, 3, 4], [4], q(0.05, -128), q(0.01, 7), q(0.1, -128)],
  [[2, 3], [2, 3], q(0.02, 127), q(0.02, 100), q(0.03, -128)],
  [[1, 2, 2, 3], [1, 1, 3], q(0.5, 0), q(0.9, -128), q(0.1, 5)],
  [[7], [1], q(0.003, -7), q(0.25, 0), q(0.0009, -1)],
];

const g = new GraphBuilder();
CASES.forEach(([shape, alphaShape, qi, qa, qo], k) => {
  for (const dtype of ['int8', 'float32'] as DType[]) {
    const count = alphaShape.reduce((a, b) => a * b, 1);
    const alpha = g.constant(alphaShape, dtype, uniform(2)(count, dtype, random(k)), dtype === 'int8' ? qa : undefined);
    g.op('prelu', {}, [g.input(shape, dtype, dtype === 'int8' ? qi : undefined), alpha], shape, dtype, dtype === 'int8' ? qo : undefined);
  }
});
const graph = g.graph('prelu');
const samples = g.samples(4, 21);

test('host build under ASan/UBSan matches the reference byte for byte', async (t) => {
  assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
});

testWhere([missingTool(...TARGET_TOOLS.qemu)], 'Cortex-M4 firmware in QEMU matches the reference byte for byte', async (t) => {
  const { outputs } = await runGeneratedQemu(graph, samples);
  assertMatchesReference(t, graph, samples, outputs);
});
