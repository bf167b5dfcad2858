// The value-moving kernels (strided slice, transpose, space/depth rearrangement, pack, gather,
// nearest-neighbour resize) and
// maximum/minimum, which compare raw values (and float32 div, exact in IEEE arithmetic on every target):
// the host reference against tfjs's own ops on the same values, and the generated C (host under
// ASan/UBSan, Cortex-M4 in QEMU) against the reference, byte for byte. Cases cover negative and
// non-unit strides, ranks 1 to 6, size-1 axes, odd sizes and int8 zero points at both ends.

import test from 'ava';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import { runFloat } from '../src/float/run.ts';
import { numel } from '../src/ir/dtype.ts';
import type { DType, Quantization } from '../src/ir/types.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { GraphBuilder, assertMatchesReference, quant as q } from './helpers/op-graphs.ts';

interface SliceCase {
  shape: number[];
  begin: number[];
  stride: number[];
  size: number[];
  /** Output shape when it is not `size` (shrunk or new axes). */
  out?: number[];
}

const SLICES: SliceCase[] = [
  { shape: [7], begin: [6], stride: [-1], size: [7] },
  { shape: [2, 5, 3], begin: [0, 1, 0], stride: [1, 2, 1], size: [2, 2, 3] },
  { shape: [1, 4, 6, 3], begin: [0, 3, 5, 2], stride: [1, -1, -2, -1], size: [1, 4, 3, 3] },
  { shape: [3, 4, 5], begin: [2, 0, 4], stride: [1, 1, 1], size: [1, 4, 1], out: [4] },
  { shape: [2, 3, 1, 4, 5], begin: [1, 0, 0, 1, 0], stride: [1, 2, 1, 1, 3], size: [1, 2, 1, 3, 2], out: [1, 2, 1, 1, 3, 2] },
];

const TRANSPOSES: { shape: number[]; perm: number[] }[] = [
  { shape: [3, 5], perm: [1, 0] },
  { shape: [1, 4, 3, 2], perm: [0, 3, 1, 2] },
  { shape: [2, 3, 1, 5, 2], perm: [4, 2, 0, 3, 1] },
  { shape: [2, 1, 3, 1, 2, 3], perm: [5, 4, 3, 2, 1, 0] },
  { shape: [6], perm: [0] },
];

const BLOCKS: { kind: 'space_to_depth' | 'depth_to_space'; shape: number[]; block: number }[] = [
  { kind: 'space_to_depth', shape: [1, 4, 6, 3], block: 2 },
  { kind: 'space_to_depth', shape: [2, 3, 3, 1], block: 3 },
  { kind: 'depth_to_space', shape: [1, 2, 3, 12], block: 2 },
  { kind: 'depth_to_space', shape: [2, 1, 1, 9], block: 3 },
];

const PACKS: { shape: number[]; count: number; axis: number }[] = [
  { shape: [3], count: 2, axis: 0 },
  { shape: [2, 3], count: 3, axis: 2 },
  { shape: [2, 1, 3], count: 4, axis: 1 },
];

const GATHERS: { shape: number[]; axis: number; indices: number[]; indicesShape: number[] }[] = [
  { shape: [5, 3], axis: 0, indices: [4, 0, 0, 2], indicesShape: [4] },
  { shape: [2, 7, 3], axis: 1, indices: [6, 1, 3, 3, 0, 5], indicesShape: [2, 3] },
  { shape: [4, 5], axis: 1, indices: [2], indicesShape: [] },
];

/** Broadcasting on either side, size-1 axes, rank 5, a scalar. */
const MAX_MIN: [number[], number[]][] = [
  [[2, 3, 4], [4]],
  [[1, 5], [3, 1]],
  [[2, 1, 3, 1, 2], [2, 2, 3, 2, 2]],
  [[7], []],
];

/** input, size, align_corners, half_pixel_centers: up, down and odd ratios. */
const RESIZES: [number[], [number, number], boolean, boolean][] = [
  [[1, 3, 5, 2], [7, 11], false, false],
  [[2, 9, 7, 3], [4, 3], true, false],
  [[1, 1, 5, 1], [3, 3], false, true],
  [[1, 4, 4, 3], [8, 6], true, true],
];

const ZERO_POINTS = [-128, 127, 0, 5, -3, 100];

function build(dtype: DType): GraphBuilder {
  const g = new GraphBuilder();
  let k = 0;
  const qq = (): Quantization | undefined => (dtype === 'int8' ? q(0.07, ZERO_POINTS[k++ % ZERO_POINTS.length]) : undefined);
  for (const c of SLICES) {
    const quant = qq();
    g.op('strided_slice', { begin: c.begin, stride: c.stride, size: c.size, shape: c.out ?? c.size }, [g.input(c.shape, dtype, quant)], c.out ?? c.size, dtype, quant);
  }
  for (const c of TRANSPOSES) {
    const quant = qq();
    g.op('transpose', { perm: c.perm }, [g.input(c.shape, dtype, quant)], c.perm.map((p) => c.shape[p]), dtype, quant);
  }
  for (const c of BLOCKS) {
    const quant = qq();
    const [n, h, w, ch] = c.shape;
    const b = c.block;
    const out = c.kind === 'space_to_depth' ? [n, h / b, w / b, ch * b * b] : [n, h * b, w * b, ch / (b * b)];
    g.op(c.kind, { blockSize: b }, [g.input(c.shape, dtype, quant)], out, dtype, quant);
  }
  for (const c of PACKS) {
    const quant = qq();
    const inputs = Array.from({ length: c.count }, () => g.input(c.shape, dtype, quant));
    g.op('pack', { axis: c.axis }, inputs, [...c.shape.slice(0, c.axis), c.count, ...c.shape.slice(c.axis)], dtype, quant);
  }
  for (const c of GATHERS) {
    const quant = qq();
    const out = [...c.shape.slice(0, c.axis), ...c.indicesShape, ...c.shape.slice(c.axis + 1)];
    g.op('gather', { axis: c.axis, indices: c.indices, indicesShape: c.indicesShape }, [g.input(c.shape, dtype, quant)], out, dtype, quant);
  }
  for (const [shape, size, alignCorners, halfPixelCenters] of RESIZES) {
    const quant = qq();
    g.op('resize_nearest', { size, alignCorners, halfPixelCenters }, [g.input(shape, dtype, quant)], [shape[0], ...size, shape[3]], dtype, quant);
  }
  for (const [a, b] of MAX_MIN) {
    for (const kind of dtype === 'float32' ? (['maximum', 'minimum', 'div'] as const) : (['maximum', 'minimum'] as const)) {
      const quant = qq();
      const out = a.length >= b.length ? a.map((d, i) => Math.max(d, b[i - a.length + b.length] ?? 1)) : b;
      g.op(kind, kind === 'div' ? { activation: 'none' } : {}, [g.input(a, dtype, quant), g.input(b, dtype, quant)], out, dtype, quant);
    }
  }
  return g;
}

const int8 = build('int8');
const float = build('float32');

test('the reference moves and compares float values exactly as tfjs gather, transpose, reshape, stack, maximum, minimum and div do', async (t) => {
  const graph = float.graph('move_f32');
  const [sample] = float.samples(1, 5);
  const expected = await runFloat(graph, sample as Float32Array[], { backend: 'cpu' });
  const got = createExecutor(graph)(sample);
  graph.outputs.forEach((out, k) => {
    t.deepEqual(Array.from(got[k] as Float32Array), Array.from(expected.get(out)!), `${graph.ops[k].kind} (${graph.ops[k].origin}), ${numel(graph.tensors[out].shape)} values`);
  });
});

for (const [name, g] of [['int8', int8], ['float32', float]] as const) {
  const graph = g.graph(`move_${name}`);
  const samples = g.samples(3, 11);
  test(`${name}: host build under ASan/UBSan matches the reference byte for byte`, async (t) => {
    assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
  });
  testWhere([missingTool(...TARGET_TOOLS.qemu)], `${name}: Cortex-M4 firmware in QEMU matches the reference byte for byte`, async (t) => {
    const { outputs } = await runGeneratedQemu(graph, samples);
    assertMatchesReference(t, graph, samples, outputs);
  });
}
