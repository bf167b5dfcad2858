// Conv -> conv pipelines (src/plan/pipe.ts): the producer's rows go into a band just ahead of the
// consumer, and a residual add can take each of the consumer's rows over the residual in place.
// The planner must apply them where the arena shrinks and never let live bytes collide, and the
// generated C must give the reference's bytes on the host (portable kernels, sanitized) and in
// QEMU (DSP kernels), at the edges: zero points at the int8 limits, odd channels, saturating adds,
// strides, valid padding, dilation, depthwise layers, tall filters.

import test from 'ava';
import type { Graph, Padding } from '../src/ir/types.ts';
import { windowOutputSize } from '../src/ir/shape.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import type { CodegenTarget } from '../src/codegen/emitter.ts';
import { computeLifetimes, type KernelNeeds } from '../src/plan/lifetimes.ts';
import { convPipeCandidates, pipePasses, windowRows } from '../src/plan/pipe.ts';
import { planMemory } from '../src/plan/plan.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { GraphBuilder, assertMatchesReference, quant as q, random } from './helpers/op-graphs.ts';
import { liveCollisions } from './helpers/plan-check.ts';
import { missingTool } from './helpers/tools.ts';

const rand = random(11);
const int8 = (n: number) => Int8Array.from({ length: n }, () => Math.floor(rand() * 256) - 128);

interface Conv {
  depthwise?: boolean;
  filter?: number;
  channels?: number;
  stride?: number;
  dilation?: number;
  padding?: Padding;
  /** Output zero point and scale. */
  out?: [number, number];
  activation?: 'none' | 'relu';
}

function conv(g: GraphBuilder, x: number, c: Conv): number {
  const [, h, w, cin] = g.tensors[x].shape;
  const f = c.filter ?? 3;
  const stride = c.stride ?? 1;
  const dilation = c.dilation ?? 1;
  const padding = c.padding ?? 'same';
  const cout = c.depthwise ? cin : (c.channels ?? cin);
  const shape = c.depthwise ? [1, f, f, cout] : [cout, f, f, cin];
  const scales = Array.from({ length: cout }, () => 0.002 + 0.01 * rand());
  const weights = g.constant(shape, 'int8', int8(shape.reduce((a, b) => a * b)), { scale: scales, zeroPoint: scales.map(() => 0), axis: c.depthwise ? 3 : 0 });
  const bias = g.constant([cout], 'int32', Int32Array.from({ length: cout }, () => Math.round((rand() * 2 - 1) * 3000)));
  const attrs = { stride: [stride, stride], dilation: [dilation, dilation], padding, activation: c.activation ?? 'none', ...(c.depthwise ? { depthMultiplier: 1 } : {}) };
  const oh = windowOutputSize(h, f, stride, dilation, padding);
  const ow = windowOutputSize(w, f, stride, dilation, padding);
  const [zp, scale] = c.out ?? [-5, 0.06];
  return g.op(c.depthwise ? 'depthwise_conv2d' : 'conv2d', attrs, [x, weights, bias], [1, oh, ow, cout], 'int8', q(scale, zp), true);
}

interface Block {
  name: string;
  input: [number, number, number, number];
  inputZeroPoint?: number;
  /** The layer that makes the residual from the graph input, then the pipeline's two layers. */
  stem: Conv;
  producer: Conv;
  consumer: Conv;
  /** The add's output zero point and scale (none: no add); the residual is the producer's input unless `shortcut`. */
  add?: [number, number];
  /** The residual comes from its own 1x1 layer on the stem's output. */
  shortcut?: boolean;
}

/** input -> stem -> x; x -> producer -> consumer (+ residual) -> a 1x1 conv to the output. */
function block(b: Block): Graph {
  const g = new GraphBuilder();
  const input = g.input(b.input, 'int8', q(0.05, b.inputZeroPoint ?? 3));
  const x = conv(g, input, b.stem);
  const residual = b.shortcut ? conv(g, x, { filter: 1, stride: b.producer.stride, channels: b.consumer.channels, out: [17, 0.05] }) : x;
  let y = conv(g, conv(g, x, b.producer), b.consumer);
  if (b.add) y = g.op('add', { activation: 'relu' }, [y, residual], g.tensors[y].shape, 'int8', q(b.add[1], b.add[0]), true);
  const out = conv(g, y, { filter: 1, channels: 3 });
  g.outputs.push(out);
  return g.graph(b.name);
}

const CASES: Block[] = [
  { name: 'resnet block, odd channels', input: [1, 12, 10, 3], stem: { channels: 7, activation: 'relu' }, producer: { channels: 7, activation: 'relu' }, consumer: { channels: 7 }, add: [-3, 0.08] },
  {
    name: 'zero points at the int8 limits, a saturating add',
    input: [1, 11, 9, 2],
    inputZeroPoint: -128,
    stem: { channels: 5, out: [127, 0.02] },
    producer: { channels: 5, out: [-128, 0.03] },
    consumer: { channels: 5, out: [127, 0.01] },
    add: [-128, 0.001],
  },
  { name: 'stride 2 producer, shortcut residual', input: [1, 16, 14, 2], stem: { channels: 8 }, producer: { channels: 64, stride: 2 }, consumer: { channels: 16 }, add: [9, 0.05], shortcut: true },
  { name: 'depthwise pair, 5x5 consumer', input: [1, 13, 8, 4], stem: { channels: 6 }, producer: { depthwise: true }, consumer: { depthwise: true, filter: 5 }, add: [0, 0.07] },
  { name: 'valid padding and dilation, no add', input: [1, 15, 12, 3], stem: { channels: 2 }, producer: { channels: 32, padding: 'valid' }, consumer: { channels: 4, dilation: 2 } },
  { name: 'stride 2 consumer, no add', input: [1, 14, 12, 3], stem: { channels: 2 }, producer: { channels: 32 }, consumer: { channels: 4, stride: 2 } },
];

const HOST: CodegenTarget = { cpu: 'host', dsp: false };
const M4: CodegenTarget = { cpu: 'cortex-m4', dsp: true };
const needsOf = (graph: Graph, target: CodegenTarget): KernelNeeds => ({
  scratchBytes: (op) => kernelEmitter.scratchBytes(graph, op, target),
  heldRows: (op) => kernelEmitter.heldRows(graph, op, target),
});
const candidatesOf = (graph: Graph, target: CodegenTarget) =>
  convPipeCandidates(graph, (op) => kernelEmitter.windowRows(graph, op, target), (op) => kernelEmitter.addsRows(graph, op, target));

test('each block gets its pipeline, a smaller arena, and no live bytes that collide', (t) => {
  for (const b of CASES) {
    const graph = block(b);
    for (const target of [HOST, M4]) {
      const needs = needsOf(graph, target);
      const pipes = candidatesOf(graph, target);
      const plan = planMemory(graph, { ...needs, pipes });
      const without = planMemory(graph, needs);
      t.is(plan.pipes.length, 1, `${b.name} (${target.cpu})`);
      t.is(plan.pipes[0].add !== undefined, b.add !== undefined, b.name);
      t.true(plan.arenaBytes < without.arenaBytes, `${b.name} (${target.cpu}): ${plan.arenaBytes} piped, ${without.arenaBytes} not`);
      t.deepEqual(liveCollisions(plan, computeLifetimes(graph, needs, [], plan.pipes).overlaps), [], b.name);
    }
  }
});

test('at every buffer height, the passes compute each consumer row once, from band rows the buffer holds', (t) => {
  for (const b of CASES) {
    for (const pipe of candidatesOf(block(b), M4)) {
      const { consumerRows: c, rowBytes: row } = pipe;
      let feasible = 0;
      for (let bandRows = 1; bandRows <= pipe.producerRows.outRows; bandRows++) {
        const passes = pipePasses({ ...pipe, bandRows });
        if (!passes) continue;
        feasible++;
        let [end, y] = [0, 0];
        for (const pass of passes) {
          const where = `${b.name}, ${bandRows} rows, pass ${passes.indexOf(pass)}`;
          // The band keeps rows the previous pass made and adds the producer's next ones, within the buffer.
          t.true(pass.first <= end && pass.end >= end && pass.rowsEnd > y, where);
          t.true(pass.at >= 0 && pass.at + (pass.end - pass.first) * row <= bandRows * row, where);
          const y0 = y;
          for (; y < pass.rowsEnd; y++) {
            const [lo, hi] = windowRows(c, y);
            t.true(lo >= pass.first && hi <= pass.end, `${where}: row ${y}'s window`);
            // The consumer's row, ahead of the band, ends before the band row its window starts at.
            if (pipe.add !== undefined) t.true((y - y0 + 1) * pipe.outRowBytes <= pass.at + (lo - pass.first) * row, `${where}: row ${y} over the band`);
          }
          end = pass.end;
        }
        t.is(y, c.outRows, b.name);
        t.is(end, windowRows(c, c.outRows - 1)[1], b.name);
      }
      // What the pipeline run row by row needed (a band of the window's rows and, with the add, one row) suffices.
      const least = Math.min(c.span, c.inRows) * row + (pipe.add === undefined ? 0 : pipe.outRowBytes);
      t.truthy(pipePasses({ ...pipe, bandRows: Math.ceil(least / row) }), b.name);
      t.true(feasible > 0, b.name);
    }
  }
});

test('an add may not take the producer input rows that the producer still reads', (t) => {
  // A 5x5 producer reads two rows above its output row: once the consumer's row y is done, the next
  // producer row still reads input row y, which the add would have overwritten.
  const graph = block({ name: 'tall producer', input: [1, 10, 6, 2], stem: { channels: 4 }, producer: { channels: 4, filter: 5 }, consumer: { channels: 4 }, add: [0, 0.05] });
  const pipes = candidatesOf(graph, M4);
  t.is(pipes.length, 1);
  t.is(pipes[0].add, undefined);
  // With a shortcut residual the rows are the shortcut's, and the add may take them.
  const shortcut = block({ name: 'tall producer, shortcut', input: [1, 10, 6, 2], stem: { channels: 4 }, producer: { channels: 4, filter: 5 }, consumer: { channels: 4 }, add: [0, 0.05], shortcut: true });
  t.true(candidatesOf(shortcut, M4).some((p) => p.add !== undefined));
});

test('a residual read after the add, or an output read twice, is no pipeline of that kind', (t) => {
  // x (op 0's output) is read by op 1 and both adds: op 0 feeds no pipeline, and no add takes x.
  const g = new GraphBuilder();
  const input = g.input([1, 8, 8, 4], 'int8', q(0.05, 0));
  const x = conv(g, input, { channels: 4 });
  const mid = conv(g, x, { channels: 4 });
  const z = conv(g, mid, { channels: 4 });
  const sum = g.op('add', { activation: 'none' }, [z, x], [1, 8, 8, 4], 'int8', q(0.1, 0), true);
  g.op('add', { activation: 'none' }, [sum, x], [1, 8, 8, 4], 'int8', q(0.1, 0));
  t.deepEqual(
    candidatesOf(g.graph('x read later'), M4).map((p) => [p.producer, p.consumer, p.add]),
    [[1, 2, undefined]],
  );
});

const samplesOf = (graph: Graph, count: number) => Array.from({ length: count }, () => graph.inputs.map((t) => int8(graph.tensors[t].shape.reduce((a, b) => a * b))));

const missingHost = missingTool('cc');
if (missingHost !== null) {
  test.skip(`pipelines on the host (skipped: ${missingHost})`, () => {});
} else {
  test('pipelines give the reference bytes on the host, portable kernels, sanitized', async (t) => {
    for (const b of CASES) {
      const graph = block(b);
      const samples = samplesOf(graph, 3);
      assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
    }
  });
}

const missingArm = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missingArm !== null) {
  test.skip(`pipelines in QEMU (skipped: ${missingArm})`, () => {});
} else {
  test('pipelines give the reference bytes in QEMU, with the DSP kernels', async (t) => {
    for (const b of CASES) {
      const graph = block(b);
      const samples = samplesOf(graph, 2);
      assertMatchesReference(t, graph, samples, (await runGeneratedQemu(graph, samples)).outputs);
    }
  });
}
