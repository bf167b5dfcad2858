// SUM and REDUCE_MAX kernels (ec_mean_s8 with a sum's constants, ec_sum_f32, ec_reduce_max_s8/f32)
// as the generator calls them give the host reference's bytes (the reference is checked against
// TensorFlow Lite Micro's goldens in ref-kernels.test.ts): host under ASan/UBSan, Cortex-M4 in QEMU.

import test from 'ava';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import type { DType, Quantization } from '../src/ir/types.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { type Fill, GraphBuilder, assertMatchesReference, quant as q, uniform } from './helpers/op-graphs.ts';

interface Case {
  shape: number[];
  axes: number[];
  keepDims: boolean;
  qi: Quantization;
  qo: Quantization;
}

/** Inner, outer, split and all axes; zero points at both ends; multipliers above and below 1. */
const CASES: Case[] = [
  { shape: [1, 4, 5, 3], axes: [1, 2], keepDims: true, qi: q(0.02, -128), qo: q(1, -128) },
  { shape: [2, 3, 4], axes: [0], keepDims: false, qi: q(0.01, 127), qo: q(0.05, 127) },
  { shape: [3, 2, 5], axes: [0, 2], keepDims: false, qi: q(0.003, 3), qo: q(0.002, -7) },
  { shape: [2, 1, 3, 2, 2], axes: [2], keepDims: true, qi: q(0.1, 4), qo: q(0.3, 0) },
  { shape: [7], axes: [0], keepDims: false, qi: q(0.05, 0), qo: q(0.2, 0) },
];

/** Floats with -0, infinities and values whose sum overflows; no NaN (its sign is the FPU's). */
const specials: Fill = (count, dtype, rand) => {
  const data = uniform(100)(count, dtype, rand);
  if (dtype === 'float32') [-0, -Infinity, 3e38, 3e38].forEach((v, i) => i < count && (data[i] = v));
  return data;
};

const g = new GraphBuilder();
for (const dtype of ['int8', 'float32'] as DType[]) {
  for (const c of CASES) {
    const out = c.keepDims ? c.shape.map((d, i) => (c.axes.includes(i) ? 1 : d)) : c.shape.filter((_, i) => !c.axes.includes(i));
    const int8 = dtype === 'int8';
    const input = g.input(c.shape, dtype, int8 ? c.qi : undefined, specials);
    g.op('sum', { axes: c.axes, keepDims: c.keepDims }, [input], out, dtype, int8 ? c.qo : undefined);
    g.op('reduce_max', { axes: c.axes, keepDims: c.keepDims }, [input], out, dtype, int8 ? c.qi : undefined);
  }
}
const graph = g.graph('reduce');
const samples = g.samples(4, 8);

test('host build under ASan/UBSan matches the reference byte for byte', async (t) => {
  assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
});

testWhere([missingTool(...TARGET_TOOLS.qemu)], 'Cortex-M4 firmware in QEMU matches the reference byte for byte', async (t) => {
  const { outputs } = await runGeneratedQemu(graph, samples);
  assertMatchesReference(t, graph, samples, outputs);
});
