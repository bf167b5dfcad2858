// Streaming overlap: a conv, depthwise conv or pool writes its output over the input rows it is
// done with. The planner must use it (smaller arenas), and the generated C must still give the
// reference's bytes on the host (sanitized) and in QEMU (DSP kernels) for every geometry.

import test from 'ava';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/import/index.ts';
import { windowOutputSize } from '../src/ir/shape.ts';
import type { Graph, Padding } from '../src/ir/types.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import { computeLifetimes, streamingGap, type KernelNeeds } from '../src/plan/lifetimes.ts';
import { checkPlacement, placeBuffers } from '../src/plan/placement.ts';
import { planMemory } from '../src/plan/plan.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { GraphBuilder, assertMatchesReference, quant as q, random } from './helpers/op-graphs.ts';
import { missingTool } from './helpers/tools.ts';
import { liveCollisions } from './helpers/plan-check.ts';

interface Layer {
  kind: 'conv2d' | 'depthwise_conv2d' | 'avg_pool2d' | 'max_pool2d';
  filter: [number, number];
  /** Output channels of a conv, depth multiplier of a depthwise conv. */
  channels?: number;
  stride?: number;
  dilation?: number;
  padding?: Padding;
}

const rand = random(7);
const int8 = (n: number) => Int8Array.from({ length: n }, () => Math.floor(rand() * 255) - 127);

/** Adds `layer` reading `x` [1, h, w, c]; returns the output tensor. */
function addLayer(g: GraphBuilder, x: number, layer: Layer, internal: boolean): number {
  const [, h, w, c] = g.tensors[x].shape;
  const stride = layer.stride ?? 1;
  const dilation = layer.dilation ?? 1;
  const padding = layer.padding ?? 'same';
  const pool = layer.kind === 'avg_pool2d' || layer.kind === 'max_pool2d';
  const [fh, fw] = layer.filter;
  const oh = windowOutputSize(h, fh, stride, pool ? 1 : dilation, padding);
  const ow = windowOutputSize(w, fw, stride, pool ? 1 : dilation, padding);
  const inQ = g.tensors[x].quant!;
  if (pool) return g.op(layer.kind, { filter: layer.filter, stride: [stride, stride], padding, activation: 'none' }, [x], [1, oh, ow, c], 'int8', inQ, internal);
  const conv = layer.kind === 'conv2d';
  const cout = conv ? (layer.channels ?? 4) : c * (layer.channels ?? 1);
  const shape = conv ? [cout, fh, fw, c] : [1, fh, fw, cout];
  const scales = Array.from({ length: cout }, () => 0.002 + 0.01 * rand());
  const weights = g.constant(shape, 'int8', int8(shape.reduce((a, b) => a * b)), { scale: scales, zeroPoint: scales.map(() => 0), axis: conv ? 0 : 3 });
  const bias = g.constant([cout], 'int32', Int32Array.from({ length: cout }, () => Math.round((rand() * 2 - 1) * 3000)));
  const attrs = { stride: [stride, stride], dilation: [dilation, dilation], padding, activation: 'none', ...(conv ? {} : { depthMultiplier: layer.channels ?? 1 }) };
  return g.op(layer.kind, attrs, [x, weights, bias], [1, oh, ow, cout], 'int8', q(0.06, -7), internal);
}

/** x -> first -> second: the first layer streams over a graph input, the second over an activation. */
function chain(name: string, input: [number, number, number, number], first: Layer, second: Layer): Graph {
  const g = new GraphBuilder();
  const x = g.input(input, 'int8', q(0.05, 3));
  addLayer(g, addLayer(g, x, first, true), second, false);
  return g.graph(name);
}

/** x -> layers[0] -> layers[1] -> ...: the first layer streams over a graph input, the others over activations. */
function layers(name: string, input: [number, number, number, number], ...list: Layer[]): Graph {
  const g = new GraphBuilder();
  let x = g.input(input, 'int8', q(0.05, 3));
  list.forEach((layer, k) => (x = addLayer(g, x, layer, k < list.length - 1)));
  return g.graph(name);
}

const CASES: Graph[] = [
  chain('1x1 channels up then down', [1, 9, 7, 8], { kind: 'conv2d', filter: [1, 1], channels: 16 }, { kind: 'conv2d', filter: [1, 1], channels: 5 }),
  chain('depthwise 3x3 stride 1 then stride 2', [1, 10, 9, 8], { kind: 'depthwise_conv2d', filter: [3, 3] }, { kind: 'depthwise_conv2d', filter: [3, 3], stride: 2 }),
  chain('odd channels, valid padding', [1, 8, 8, 7], { kind: 'depthwise_conv2d', filter: [3, 3], padding: 'valid' }, { kind: 'conv2d', filter: [3, 3], channels: 9, padding: 'valid' }),
  chain('one input channel (a depthwise run as a conv), stride 2', [1, 12, 10, 1], { kind: 'depthwise_conv2d', filter: [3, 3], channels: 8, stride: 2 }, { kind: 'conv2d', filter: [1, 1], channels: 12 }),
  chain('dilation 2, depth multiplier 2', [1, 11, 11, 3], { kind: 'conv2d', filter: [3, 3], channels: 6, dilation: 2 }, { kind: 'depthwise_conv2d', filter: [3, 3], channels: 2, dilation: 2 }),
  chain('tall filter, 1xN image', [1, 1, 17, 6], { kind: 'conv2d', filter: [1, 5], channels: 10 }, { kind: 'max_pool2d', filter: [1, 3], stride: 2 }),
  chain('pools', [1, 9, 9, 4], { kind: 'avg_pool2d', filter: [2, 2], stride: 2 }, { kind: 'max_pool2d', filter: [3, 3] }),
  chain('a conv that widens rows 4x, stride 2', [1, 16, 16, 3], { kind: 'conv2d', filter: [3, 3], channels: 24, stride: 2 }, { kind: 'depthwise_conv2d', filter: [5, 5] }),
];

test('the gap of a 3x3 stride-1 same window is two rows; of a 1x1 that doubles channels, about the input', (t) => {
  const dw = chain('g', [1, 10, 9, 8], { kind: 'depthwise_conv2d', filter: [3, 3] }, { kind: 'max_pool2d', filter: [1, 1] });
  t.is(streamingGap(dw, dw.ops[0]), 2 * 9 * 8);
  const up = chain('u', [1, 9, 7, 8], { kind: 'conv2d', filter: [1, 1], channels: 16 }, { kind: 'max_pool2d', filter: [1, 1] });
  // Row y of 7 x 16 written while input rows from y on are still to be read: max over y of (y+1)*112 - y*56.
  t.is(streamingGap(up, up.ops[0]), 9 * 112 - 8 * 56);
});

test('every chain gets overlap allowances, a smaller arena (when it has rows to stream), and a plan the checker accepts', (t) => {
  for (const graph of CASES) {
    const plan = planMemory(graph);
    const { buffers, overlaps } = computeLifetimes(graph);
    t.is(overlaps.length, 2, graph.name);
    t.deepEqual(checkPlacement(plan.buffers, plan.bufferOffsets, plan.arenaBytes, overlaps), [], graph.name);
    for (const p of placeBuffers(buffers, plan.alignment, overlaps)) t.deepEqual(liveCollisions({ buffers, bufferOffsets: p.offsets, arenaBytes: p.arenaBytes }, overlaps), [], `${graph.name}: ${p.strategy}`);
    // Against the same buffers placed without any overlap; rows are the unit, so an image of one
    // row has nothing to stream over.
    const separate = Math.min(...placeBuffers(buffers, plan.alignment).map((p) => p.arenaBytes));
    const oneRow = graph.tensors[graph.inputs[0]].shape[1] === 1;
    t.true(oneRow ? plan.arenaBytes <= separate : plan.arenaBytes < separate, `${graph.name}: arena ${plan.arenaBytes}, ${separate} without overlaps`);
  }
});

test('an input that a later op still reads is never streamed over', (t) => {
  const g = new GraphBuilder();
  const x = g.input([1, 6, 6, 4], 'int8', q(0.05, 3));
  const a = addLayer(g, x, { kind: 'conv2d', filter: [1, 1], channels: 4 }, true);
  const b = addLayer(g, a, { kind: 'depthwise_conv2d', filter: [3, 3] }, true);
  g.op('add', { activation: 'none' }, [a, b], [1, 6, 6, 4], 'int8', q(0.1, 0));
  const { overlaps, bufferOf } = computeLifetimes(g.graph('residual'));
  t.false(overlaps.some((o) => o.input === bufferOf.get(a)));
  t.true(overlaps.some((o) => o.input === bufferOf.get(x)));
});

// In-place depthwise: ec_depthwise_conv2d_3x3_s8 widens an output row's input rows into its ring
// before it writes the row, so its output may lie on its input.
const IN_PLACE: Graph[] = [
  layers('in place: odd channels, same padding', [1, 9, 7, 8], { kind: 'conv2d', filter: [1, 1], channels: 7 }, { kind: 'depthwise_conv2d', filter: [3, 3] }, { kind: 'conv2d', filter: [1, 1], channels: 6 }),
  layers('in place: stride 2, odd channels', [1, 11, 9, 4], { kind: 'conv2d', filter: [1, 1], channels: 5 }, { kind: 'depthwise_conv2d', filter: [3, 3], stride: 2 }, { kind: 'conv2d', filter: [1, 1], channels: 6 }),
  layers('in place: stride 2, even size, valid padding', [1, 10, 10, 8], { kind: 'conv2d', filter: [1, 1], channels: 12 }, { kind: 'depthwise_conv2d', filter: [3, 3], stride: 2, padding: 'valid' }, { kind: 'conv2d', filter: [1, 1], channels: 4 }),
  layers('in place: two in a row, over the graph input', [1, 8, 5, 16], { kind: 'depthwise_conv2d', filter: [3, 3] }, { kind: 'depthwise_conv2d', filter: [3, 3], padding: 'valid' }, { kind: 'conv2d', filter: [1, 1], channels: 3 }),
];

const HOST = { cpu: 'host', dsp: false };
const needsOf = (graph: Graph): KernelNeeds => ({
  scratchBytes: (op) => kernelEmitter.scratchBytes(graph, op, HOST),
  heldRows: (op) => kernelEmitter.heldRows(graph, op, HOST),
});

test('the 3x3 depthwise ring kernel may write its output over its input, and the planner puts it there', (t) => {
  for (const graph of IN_PLACE) {
    const dws = graph.ops.flatMap((op, i) => (op.kind === 'depthwise_conv2d' ? [i] : []));
    const plan = planMemory(graph, needsOf(graph));
    const { overlaps } = computeLifetimes(graph, needsOf(graph));
    t.deepEqual(checkPlacement(plan.buffers, plan.bufferOffsets, plan.arenaBytes, overlaps), [], graph.name);
    for (const i of dws) {
      const op = graph.ops[i];
      t.true(streamingGap(graph, op, kernelEmitter.heldRows(graph, op, HOST))! <= 0, `${graph.name}: op ${i}`);
      // The output's bytes lie on the input's.
      const bytes = (x: number) => graph.tensors[x].shape.reduce((a, b) => a * b);
      const input = plan.tensorOffset.get(op.inputs[0])!;
      const output = plan.tensorOffset.get(op.outputs[0])!;
      t.true(output < input + bytes(op.inputs[0]) && input < output + bytes(op.outputs[0]), `${graph.name}: op ${i} output at ${output}, input at ${input}`);
    }
    // Without the held rows the same buffers need more room.
    const rowByRow = planMemory(graph, { scratchBytes: needsOf(graph).scratchBytes });
    t.true(plan.arenaBytes < rowByRow.arenaBytes, `${graph.name}: ${plan.arenaBytes} in place, ${rowByRow.arenaBytes} row by row`);
  }
});

test('a kernel that holds no rows keeps the row-by-row gap; one that has read every row before writing has none', (t) => {
  const g = layers('g', [1, 3, 6, 8], { kind: 'depthwise_conv2d', filter: [3, 3], padding: 'valid' });
  t.is(streamingGap(g, g.ops[0], 0), 4 * 8);
  // One output row, written after all three input rows are in the ring: any overlap will do.
  t.is(streamingGap(g, g.ops[0], 3), -3 * 6 * 8);
});

const samplesOf = (graph: Graph, count: number) =>
  Array.from({ length: count }, () => graph.inputs.map((t) => int8(graph.tensors[t].shape.reduce((a, b) => a * b))));

const missingHost = missingTool('cc');
if (missingHost !== null) {
  test.skip(`streamed chains on the host (skipped: ${missingHost})`, () => {});
} else {
  test('streamed chains give the reference bytes on the host, sanitized', async (t) => {
    for (const graph of [...CASES, ...IN_PLACE]) {
      const samples = samplesOf(graph, 3);
      assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
    }
  });
}

const missingArm = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missingArm !== null) {
  test.skip(`streamed chains in QEMU (skipped: ${missingArm})`, () => {});
} else {
  test('streamed chains give the reference bytes in QEMU, with the DSP kernels', async (t) => {
    for (const graph of [...CASES, ...IN_PLACE]) {
      const samples = samplesOf(graph, 2);
      assertMatchesReference(t, graph, samples, (await runGeneratedQemu(graph, samples)).outputs);
    }
  });
}

test('bytes an output shares with the input it streams from are live once, not twice', (t) => {
  for (const graph of CASES) {
    const plan = planMemory(graph);
    plan.livePerOp.forEach((live, i) => {
      const held = plan.buffers.map((b, k) => ({ b, at: plan.bufferOffsets[k] })).filter(({ b }) => b.first <= i && i <= b.last);
      const touched = new Set<number>();
      for (const { b, at } of held) for (let byte = at; byte < at + b.bytes; byte++) touched.add(byte);
      t.is(live, touched.size, `${graph.name}, op ${i}`);
      t.true(live <= plan.arenaBytes);
    });
  }
});

// person_detect's 1x1 conv doubles 48 x 48 x 8 to 16 channels and the next depthwise writes over
// it with 4,800 bytes of scratch: the buffers of that busiest op must be placed first, the scratch
// under the big output, or every greedy order leaves about 7 KB unused (48,768 bytes).
test("person_detect's arena is its live peak: the busiest op's buffers are placed first", async (t) => {
  const graph = await loadModel(fileURLToPath(new URL('../../shared/oracles/person_detect/model.tflite', import.meta.url)));
  const m4 = { cpu: 'cortex-m4', dsp: true };
  const needs: KernelNeeds = { scratchBytes: (op) => kernelEmitter.scratchBytes(graph, op, m4), heldRows: (op) => kernelEmitter.heldRows(graph, op, m4) };
  const plan = planMemory(graph, needs);
  const { overlaps } = computeLifetimes(graph, needs);
  t.deepEqual(liveCollisions(plan, overlaps), []);
  t.is(plan.arenaBytes, Math.max(...plan.livePerOp));
  t.is(plan.arenaBytes, 41_664);
  t.true(plan.strategy.startsWith('busiest op first'), plan.strategy);
  // The old greedy orders, for the record of what this saves.
  t.true(plan.tried.filter((p) => !p.strategy.startsWith('busiest')).every((p) => p.arenaBytes >= 48_768));
});
