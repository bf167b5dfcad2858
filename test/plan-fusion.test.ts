// Row-band fusion: a convolution whose output feeds only a fully-connected layer runs a band of output
// rows at a time into that layer's accumulators, where that makes the arena smaller. The planner must
// find it where it applies and pays, leave it alone where it does not, and the generated C must give
// the reference's bytes on the host (sanitized) and in QEMU.

import test from 'ava';
import { generateC } from '../src/codegen/generate.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import { windowOutputSize } from '../src/ir/shape.ts';
import type { Graph, Padding } from '../src/ir/types.ts';
import { bandOverhead, rowFusionCandidates } from '../src/plan/fusion.ts';
import { computeLifetimes, type KernelNeeds } from '../src/plan/lifetimes.ts';
import { checkPlacement } from '../src/plan/placement.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { GraphBuilder, assertMatchesReference, quant as q, random } from './helpers/op-graphs.ts';
import { missingTool } from './helpers/tools.ts';

const rand = random(5);
const int8 = (n: number) => Int8Array.from({ length: n }, () => Math.floor(rand() * 255) - 127);

interface Conv {
  kind: 'conv2d' | 'depthwise_conv2d';
  filter: [number, number];
  channels: number;
  stride: number;
  padding: Padding;
}

/** x [1, h, w, c] -> conv -> (reshape) -> fully connected (units) -> softmax; `extra` also reads the conv's output. */
function convThenFc(name: string, input: [number, number, number, number], conv: Conv, units: number, options: { reshape?: boolean; extra?: boolean } = {}): Graph {
  const g = new GraphBuilder();
  const x = g.input(input, 'int8', q(0.05, -12));
  const [, h, w, c] = input;
  const [fh, fw] = conv.filter;
  const oh = windowOutputSize(h, fh, conv.stride, 1, conv.padding);
  const ow = windowOutputSize(w, fw, conv.stride, 1, conv.padding);
  const dw = conv.kind === 'depthwise_conv2d';
  const cout = dw ? c * conv.channels : conv.channels;
  const shape = dw ? [1, fh, fw, cout] : [cout, fh, fw, c];
  const scales = Array.from({ length: cout }, () => 0.002 + 0.01 * rand());
  const weights = g.constant(shape, 'int8', int8(shape.reduce((a, b) => a * b)), { scale: scales, zeroPoint: scales.map(() => 0), axis: dw ? 3 : 0 });
  const bias = g.constant([cout], 'int32', Int32Array.from({ length: cout }, () => Math.round((rand() * 2 - 1) * 3000)));
  const attrs = { stride: [conv.stride, conv.stride], dilation: [1, 1], padding: conv.padding, activation: 'relu', ...(dw ? { depthMultiplier: conv.channels } : {}) };
  let y = g.op(conv.kind, attrs, [x, weights, bias], [1, oh, ow, cout], 'int8', q(0.04, -128), !options.extra);
  const depth = oh * ow * cout;
  if (options.reshape) y = g.op('reshape', { shape: [1, depth] }, [y], [1, depth], 'int8', q(0.04, -128), true);
  const fcScale = Array.from({ length: units }, () => 0.001 + 0.002 * rand());
  const fcWeights = g.constant([units, depth], 'int8', int8(units * depth), { scale: fcScale, zeroPoint: fcScale.map(() => 0), axis: 0 });
  const fcBias = g.constant([units], 'int32', Int32Array.from({ length: units }, () => Math.round((rand() * 2 - 1) * 5000)));
  const logits = g.op('fully_connected', { activation: 'none', keepNumDims: false }, [y, fcWeights, fcBias], [1, units], 'int8', q(0.2, 3), true);
  g.op('softmax', { beta: 1 }, [logits], [1, units], 'int8', q(1 / 256, -128));
  return g.graph(name);
}

const HOST = { cpu: 'host', dsp: false };
const planOf = (graph: Graph) => generateC(graph, { target: HOST, emitter: kernelEmitter }).plan;
const needsOf = (graph: Graph): KernelNeeds => ({
  scratchBytes: (op) => kernelEmitter.scratchBytes(graph, op, HOST),
  heldRows: (op) => kernelEmitter.heldRows(graph, op, HOST),
  scratchFreeForLastRow: (op) => kernelEmitter.scratchFreeForLastRow(graph, op, HOST),
});
const candidates = (graph: Graph) => rowFusionCandidates(graph, (p, c) => kernelEmitter.rowBands(graph, p, c, HOST));

const FUSED: Graph[] = [
  convThenFc('micro_speech-like: one input channel, 10x8 stride 2', [1, 49, 40, 1], { kind: 'depthwise_conv2d', filter: [10, 8], channels: 8, stride: 2, padding: 'same' }, 4, { reshape: true }),
  convThenFc('a 3x3 conv, odd sizes', [1, 13, 11, 3], { kind: 'conv2d', filter: [3, 3], channels: 6, stride: 1, padding: 'same' }, 5),
  convThenFc('a depthwise conv with depth multiplier 3, 5x3 valid', [1, 11, 7, 4], { kind: 'depthwise_conv2d', filter: [5, 3], channels: 3, stride: 1, padding: 'valid' }, 3, { reshape: true }),
  convThenFc('a 3x3 conv, stride 2, 12 units', [1, 12, 10, 2], { kind: 'conv2d', filter: [3, 3], channels: 10, stride: 2, padding: 'same' }, 12),
];

test('fusion applies where the output feeds only the fully-connected layer, and shrinks the arena', (t) => {
  for (const graph of FUSED) {
    const plan = planOf(graph);
    t.is(plan.fusions.length, 1, graph.name);
    const f = plan.fusions[0];
    t.is(graph.ops[f.consumer].kind, 'fully_connected');
    // The conv's output buffer holds one row; the accumulators live from the conv to the fully-connected op.
    const rowBuffer = plan.buffers.find((b) => b.tensors.includes(graph.ops[f.producer].outputs[0]))!;
    t.is(rowBuffer.bytes, f.rowBytes * f.bandRows);
    t.true(plan.accumulatorOffset.has(f.consumer));
    const { overlaps } = computeLifetimes(graph, needsOf(graph), plan.fusions);
    t.deepEqual(checkPlacement(plan.buffers, plan.bufferOffsets, plan.arenaBytes, overlaps), [], graph.name);
    const whole = generateC(graph, { target: HOST, emitter: { ...kernelEmitter, rowBands: () => false } }).plan;
    t.true(plan.arenaBytes < whole.arenaBytes, `${graph.name}: ${plan.arenaBytes} fused, ${whole.arenaBytes} not`);
  }
  t.true(planOf(FUSED[0]).arenaBytes <= 4100, 'micro_speech-like arena');
});

test("a band's last row lies over the widened rows the one-channel kernel is done with by then", (t) => {
  // micro_speech-like: the graph input (1,960 bytes), the kernel's scratch, the band's first row
  // before the scratch, its second over the scratch's widened rows, and the accumulators.
  const graph = FUSED[0];
  const plan = planOf(graph);
  const [f] = plan.fusions;
  const producer = graph.ops[f.producer];
  const scratch = kernelEmitter.scratchBytes(graph, producer, HOST);
  t.true(kernelEmitter.scratchFreeForLastRow(graph, producer, HOST) >= f.rowBytes);
  t.is(plan.arenaBytes, 49 * 40 + scratch + (f.bandRows - 1) * f.rowBytes + f.accumulatorBytes);
  const band = plan.tensorOffset.get(producer.outputs[0])!;
  t.is(plan.scratchOffset.get(f.producer)! - band, (f.bandRows - 1) * f.rowBytes);
  // Ten output channels take the general kernel, whose scratch stays in use to the last row.
  const conv = FUSED[3].ops.find((op) => op.kind === 'conv2d')!;
  t.is(kernelEmitter.scratchFreeForLastRow(FUSED[3], conv, HOST), 0);
});

test('the band height weighs the input rows read again against the arena bytes a taller band takes', (t) => {
  // micro_speech-like: a 10-row window at stride 2 reads 8 rows again per band; two rows a band halve
  // that for 160 bytes more (25 rows: the last band holds one).
  const [speech] = planOf(FUSED[0]).fusions;
  t.is(speech.bandRows, 2);
  t.true(bandOverhead(speech) < bandOverhead({ ...speech, bandRows: 1 }));
  // A window no taller than its stride reads nothing again: the calls alone do not pay for a row more.
  const apart = convThenFc('stride 3, 3x3', [1, 30, 30, 1], { kind: 'conv2d', filter: [3, 3], channels: 16, stride: 3, padding: 'valid' }, 4);
  const [f] = planOf(apart).fusions;
  t.is(f.windowOverlap, 0);
  t.is(f.bandRows, 1);
});

test('fusion does not apply where the output is read again, where the layer has several rows, or where it does not pay', (t) => {
  const conv: Conv = { kind: 'conv2d', filter: [3, 3], channels: 4, stride: 1, padding: 'same' };
  // The conv's output is also a graph output.
  const readTwice = convThenFc('read twice', [1, 8, 8, 2], conv, 3, { extra: true });
  t.deepEqual(candidates(readTwice), []);
  t.deepEqual(planOf(readTwice).fusions, []);
  // A fully-connected layer over each pixel (several rows of input) is no sum over one vector.
  const g = new GraphBuilder();
  const x = g.input([1, 6, 6, 4], 'int8', q(0.05, 0));
  const w = g.constant([3, 4], 'int8', int8(12), { scale: [0.01], zeroPoint: [0], axis: 0 });
  g.op('fully_connected', { activation: 'none', keepNumDims: true }, [x, w], [1, 6, 6, 3], 'int8', q(0.1, 0));
  t.deepEqual(candidates(g.graph('per pixel')), []);
  // A candidate whose fusion leaves the arena as it is: a tiny conv output next to a large input.
  const small = convThenFc('tiny output', [1, 40, 40, 4], { kind: 'conv2d', filter: [3, 3], channels: 1, stride: 8, padding: 'valid' }, 2);
  t.is(candidates(small).length, 1);
  t.deepEqual(planOf(small).fusions, []);
});

const samplesOf = (graph: Graph, count: number) =>
  Array.from({ length: count }, () => graph.inputs.map((t) => int8(graph.tensors[t].shape.reduce((a, b) => a * b))));

const missingHost = missingTool('cc');
if (missingHost !== null) {
  test.skip(`fused layers on the host (skipped: ${missingHost})`, () => {});
} else {
  test('fused layers give the reference bytes on the host, sanitized', async (t) => {
    for (const graph of FUSED) {
      const samples = samplesOf(graph, 3);
      assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
    }
  });
}

const missingArm = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missingArm !== null) {
  test.skip(`fused layers in QEMU (skipped: ${missingArm})`, () => {});
} else {
  test('fused layers give the reference bytes in QEMU, with the DSP kernels', async (t) => {
    for (const graph of FUSED) {
      const samples = samplesOf(graph, 2);
      assertMatchesReference(t, graph, samples, (await runGeneratedQemu(graph, samples)).outputs);
    }
  });
}
