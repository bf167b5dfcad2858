// Channel groups and their removal: which channels a graph ties together (Fashion-MNIST's chain,
// a residual network with a batch norm still unfolded, depthwise and separable convolutions, a
// concatenation), a pruned graph that computes exactly what the original computes on the kept
// channels, and a pruned residual network through quantization to bit-exact C.

import test from 'ava';
import { runFloat } from '../src/float/run.ts';
import { numel } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph } from '../src/ir/types.ts';
import { verifyGraph } from '../src/ir/verify.ts';
import { prepareModel } from '../src/pipeline.ts';
import { applyPruning, takeAlong } from '../src/prune/apply.ts';
import { channelGroups, graphCost, keptChannels, type ChannelGroup } from '../src/prune/groups.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import { recordRanges } from '../src/quant/record.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { assertMatchesReference, GraphBuilder, random, uniform } from './helpers/op-graphs.ts';
import { missingTool } from './helpers/tools.ts';

const FASHION = new URL('../examples/fashion-mnist/model/model.json', import.meta.url).pathname;

const weights = (shape: number[], seed: number, scale = 0.4) => {
  const rand = random(seed);
  return Float32Array.from({ length: numel(shape) }, () => (rand() * 2 - 1) * scale);
};

/**
 * input -> pad -> conv(3->8) -> mul, add (a batch norm, unfolded) -> relu = x1
 * x1 -> depthwise 3x3 relu6 -> conv 1x1 (8->8) -> add x1 (residual) relu = x2        (separable conv)
 * x2 -> conv 1x1 (8->6) relu = x3;  concat(x2, x3) -> conv 1x1 (14->10) -> max pool -> mean -> fc(10->4) -> softmax
 */
function residualNetwork(): Graph {
  const g = new GraphBuilder();
  const x = g.input([1, 8, 8, 3], 'float32', undefined, uniform(1));
  let seed = 1;
  const conv = (input: number, inC: number, outC: number, size: number, shape: number[], activation: string, padding = 'same') =>
    g.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding, activation },
      [input, g.constant([outC, size, size, inC], 'float32', weights([outC, size, size, inC], seed++)), g.constant([outC], 'float32', weights([outC], seed++, 0.1))],
      shape, 'float32', undefined, true);
  const padded = g.op('pad', { paddings: [[0, 0], [1, 1], [1, 1], [0, 0]] }, [x], [1, 10, 10, 3], 'float32', undefined, true);
  const a = conv(padded, 3, 8, 3, [1, 8, 8, 8], 'none', 'valid');
  const scaled = g.op('mul', { activation: 'none' }, [a, g.constant([8], 'float32', Float32Array.from(weights([8], seed++), (v) => 1 + v))], [1, 8, 8, 8], 'float32', undefined, true);
  const shifted = g.op('add', { activation: 'none' }, [scaled, g.constant([8], 'float32', weights([8], seed++, 0.2))], [1, 8, 8, 8], 'float32', undefined, true);
  const x1 = g.op('relu', {}, [shifted], [1, 8, 8, 8], 'float32', undefined, true);
  const dw = g.op('depthwise_conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', depthMultiplier: 1, activation: 'relu6' },
    [x1, g.constant([1, 3, 3, 8], 'float32', weights([1, 3, 3, 8], seed++)), g.constant([8], 'float32', weights([8], seed++, 0.1))], [1, 8, 8, 8], 'float32', undefined, true);
  const pw = conv(dw, 8, 8, 1, [1, 8, 8, 8], 'none');
  const x2 = g.op('add', { activation: 'relu' }, [pw, x1], [1, 8, 8, 8], 'float32', undefined, true);
  const x3 = conv(x2, 8, 6, 1, [1, 8, 8, 6], 'relu');
  const cat = g.op('concatenation', { axis: 3, activation: 'none' }, [x2, x3], [1, 8, 8, 14], 'float32', undefined, true);
  const c = conv(cat, 14, 10, 1, [1, 8, 8, 10], 'relu');
  const pooled = g.op('max_pool2d', { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' }, [c], [1, 4, 4, 10], 'float32', undefined, true);
  const mean = g.op('mean', { axes: [1, 2], keepDims: false }, [pooled], [1, 10], 'float32', undefined, true);
  const logits = g.op('fully_connected', { activation: 'none', keepNumDims: false },
    [mean, g.constant([4, 10], 'float32', weights([4, 10], seed++)), g.constant([4], 'float32', weights([4], seed++, 0.1))], [1, 4], 'float32', undefined, true);
  g.op('softmax', { beta: 1 }, [logits], [1, 4], 'float32');
  const graph = g.graph('residual');
  verifyGraph(graph);
  return graph;
}

const byProducerKind = (graph: Graph, groups: ChannelGroup[]) =>
  groups.map((g) => ({ size: g.size, prunable: g.prunable, tensors: g.members.map((m) => graph.tensors[m.tensor].name) }));

test('Fashion-MNIST: three prunable groups, the flatten spreading conv3 channels over the dense layer, input and logits fixed', async (t) => {
  const { graph } = await prepareModel(FASHION);
  const groups = channelGroups(graph);
  const prunable = groups.filter((g) => g.prunable);
  t.deepEqual(prunable.map((g) => g.size), [8, 16, 32]);
  const [first, second, third] = prunable;
  // conv1's channels run through the depthwise conv (a carrier) to pw2, which reads them.
  t.deepEqual(first.producers.map((i) => graph.ops[i].kind), ['conv2d']);
  t.deepEqual(first.carriers.map((i) => graph.ops[i].kind), ['depthwise_conv2d']);
  t.deepEqual(first.consumers, [2]);
  t.deepEqual(second.consumers, [4]);
  // conv3 channel c becomes features 32*s + c of the flatten, which the dense layer reads.
  const flat = third.members.find((m) => graph.tensors[m.tensor].shape[1] === 512)!;
  t.deepEqual(flat.channels[5], Array.from({ length: 16 }, (_, s) => 32 * s + 5));
  t.deepEqual(third.consumers.map((i) => graph.ops[i].kind), ['fully_connected']);
  // Removing one conv3 channel saves its filter (3*3*16 and a bias) and 16 features of 10 dense units.
  t.deepEqual(third.cost, { params: 144 + 1 + 16 * 10, macs: 16 * 144 + 16 * 10 });
  const blocked = groups.filter((g) => !g.prunable).map((g) => g.reason);
  t.true(blocked.some((r) => /graph input/.test(r!)));
  t.true(blocked.some((r) => /softmax .* mixes channels/.test(r!)));
});

test('residual network: the ADD ties both branches and the batch norm, the concat stacks its inputs, the mean passes channels on', (t) => {
  const graph = residualNetwork();
  const groups = channelGroups(graph).filter((g) => g.prunable);
  t.deepEqual(byProducerKind(graph, groups), [
    { size: 8, prunable: true, tensors: ['conv2d1', 'mul2', 'add3', 'relu4', 'depthwise_conv2d5', 'conv2d6', 'add7', 'concatenation9'] },
    { size: 6, prunable: true, tensors: ['conv2d8', 'concatenation9'] },
    { size: 10, prunable: true, tensors: ['conv2d10', 'max_pool2d11', 'mean12'] },
  ]);
  const [tied, stacked] = groups;
  // Two convs make the tied channels; the batch norm's constants and the depthwise conv carry them.
  t.deepEqual(tied.producers.map((i) => graph.ops[i].kind), ['conv2d', 'conv2d']);
  t.deepEqual(tied.carriers.map((i) => graph.ops[i].kind), ['mul', 'add', 'depthwise_conv2d']);
  // The concatenation holds x2's channels first, then x3's at an offset of 8.
  const cat = (g: ChannelGroup) => g.members.find((m) => graph.tensors[m.tensor].name === 'concatenation9')!.channels.flat();
  t.deepEqual(cat(tied), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.deepEqual(cat(stacked), [8, 9, 10, 11, 12, 13]);
});

test('a multiplier-2 depthwise conv and a softmax over channels make their channels unprunable', (t) => {
  const g = new GraphBuilder();
  const x = g.input([1, 4, 4, 2], 'float32');
  const a = g.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'none' },
    [x, g.constant([4, 1, 1, 2], 'float32', weights([4, 1, 1, 2], 1))], [1, 4, 4, 4], 'float32', undefined, true);
  const d = g.op('depthwise_conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', depthMultiplier: 2, activation: 'none' },
    [a, g.constant([1, 1, 1, 8], 'float32', weights([1, 1, 1, 8], 2))], [1, 4, 4, 8], 'float32', undefined, true);
  const b = g.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'none' },
    [d, g.constant([3, 1, 1, 8], 'float32', weights([3, 1, 1, 8], 3))], [1, 4, 4, 3], 'float32', undefined, true);
  const s = g.op('softmax', { beta: 1 }, [b], [1, 4, 4, 3], 'float32', undefined, true);
  g.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'none' },
    [s, g.constant([2, 1, 1, 3], 'float32', weights([2, 1, 1, 3], 4))], [1, 4, 4, 2], 'float32');
  const graph = g.graph('blocked');
  const groups = channelGroups(graph);
  t.deepEqual(groups.filter((gr) => gr.prunable), []);
  t.regex(groups.find((gr) => gr.size === 4)!.reason!, /depthwise_conv2d \(op 1\) mixes channels/);
  t.regex(groups.find((gr) => gr.size === 3)!.reason!, /softmax \(op 3\) mixes channels/);
});

test('the registry refines flows by attributes: padding or a mean over channels mixes them, a concatenation along height ties them', (t) => {
  const conv = (g: GraphBuilder, input: number, inC: number, outC: number, shape: number[], seed: number) =>
    g.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'none' },
      [input, g.constant([outC, 1, 1, inC], 'float32', weights([outC, 1, 1, inC], seed))], shape, 'float32', undefined, true);
  const g = new GraphBuilder();
  const x = g.input([1, 4, 4, 2], 'float32');
  const a = conv(g, x, 2, 4, [1, 4, 4, 4], 1);
  const padded = g.op('pad', { paddings: [[0, 0], [0, 0], [0, 0], [0, 1]] }, [a], [1, 4, 4, 5], 'float32', undefined, true);
  const b = conv(g, padded, 5, 3, [1, 4, 4, 3], 2);
  const c = conv(g, x, 2, 3, [1, 4, 4, 3], 3);
  const tall = g.op('concatenation', { axis: 1, activation: 'none' }, [b, c], [1, 8, 4, 3], 'float32', undefined, true);
  const d = conv(g, tall, 3, 6, [1, 8, 4, 6], 4);
  g.op('mean', { axes: [3], keepDims: true }, [d], [1, 8, 4, 1], 'float32');
  const graph = g.graph('flows');
  const groups = channelGroups(graph);
  const of = (name: string) => groups.find((gr) => gr.members.some((m) => graph.tensors[m.tensor].name === name))!;
  t.regex(of('conv2d0').reason!, /pad \(op 1\) mixes channels/);
  // Both convs feeding the concatenation along height make the same three channels.
  t.deepEqual(of('conv2d2').members.map((m) => graph.tensors[m.tensor].name), ['conv2d2', 'conv2d3', 'concatenation4']);
  t.true(of('conv2d2').prunable);
  t.deepEqual(of('conv2d2').producers, [2, 3]);
  t.regex(of('conv2d5').reason!, /mean \(op 6\) mixes channels/);
});

/** Zeroes what the consumers of the removed units read, so the removed channels contribute nothing. */
function silence(graph: Graph, groups: ChannelGroup[], kept: Map<number, number[]>): Graph {
  const tensors = [...graph.tensors];
  for (const group of groups) {
    for (const op of group.consumers) {
      const input = graph.ops[op].inputs[0];
      const keep = kept.get(input);
      if (!keep) continue;
      const w = graph.tensors[graph.ops[op].inputs[1]];
      const axis = graph.ops[op].kind === 'fully_connected' ? 1 : 3;
      const data = Float32Array.from(w.data as Float32Array);
      const inner = numel(w.shape.slice(axis + 1));
      data.forEach((_, i) => {
        if (!keep.includes(Math.floor(i / inner) % w.shape[axis])) data[i] = 0;
      });
      tensors[graph.ops[op].inputs[1]] = { ...w, data };
    }
  }
  return { ...graph, tensors };
}

async function assertExactOnKept(t: import('ava').ExecutionContext, graph: Graph, kept: Map<number, number[]>, count: number) {
  const groups = channelGroups(graph);
  const original = silence(graph, groups, kept);
  const pruned = applyPruning(original, kept);
  const rand = random(7);
  const size = numel(graph.tensors[graph.inputs[0]].shape);
  const inputs = [Float32Array.from({ length: count * size }, () => rand() * 2 - 1)];
  const watched = [...kept.keys()];
  // The cpu backend's convolutions sum in input-channel order, so leaving out zero terms changes
  // no rounding; its matrix product sums in blocks, so the outputs are compared on the reference
  // executor, which sums in order too.
  const full = await runFloat(original, inputs, { keep: watched, backend: 'cpu' });
  const small = await runFloat(pruned, inputs, { keep: watched, backend: 'cpu' });
  for (const [tensor, channels] of kept) {
    const shape = [count, ...graph.tensors[tensor].shape];
    t.deepEqual(small.get(tensor), takeAlong(full.get(tensor)!, shape, shape.length - 1, channels), `tensor ${tensor} on its kept channels`);
  }
  const [fullRef, smallRef] = [createExecutor(original), createExecutor(pruned)];
  for (let s = 0; s < count; s++) {
    const sample = [inputs[0].subarray(s * size, (s + 1) * size)];
    t.deepEqual(smallRef(sample), fullRef(sample), `reference outputs of sample ${s}`);
  }
  for (const out of graph.outputs) {
    const [a, b] = [small.get(out)!, full.get(out)!];
    t.true(a.every((v, i) => Math.abs(v - b[i]) <= 1e-6), `float outputs ${out} agree`);
  }
  return pruned;
}

test('pruned Fashion-MNIST computes exactly what the original computes when the removed channels were silent', async (t) => {
  const { graph } = await prepareModel(FASHION);
  const groups = channelGroups(graph);
  const [g1, g2, g3] = groups.filter((g) => g.prunable);
  const order = new Map([[g1.id, [7, 0, 3, 5, 1, 2, 4, 6]], [g3.id, Array.from({ length: 32 }, (_, u) => 31 - u)]]);
  const kept = keptChannels(graph, groups, new Map([[g1.id, 5], [g2.id, 9], [g3.id, 12]]), order);
  t.deepEqual(kept.get(g1.members[0].tensor), [0, 3, 5, 7, 1].sort((a, b) => a - b));
  const pruned = await assertExactOnKept(t, graph, kept, 16);
  // Same ops and tensor indices; the flatten's shape attribute follows its input.
  t.is(pruned.ops.length, graph.ops.length);
  t.is(pruned.tensors.length, graph.tensors.length);
  t.deepEqual(pruned.ops.find((op) => op.kind === 'reshape')!.attrs, { shape: [1, 4 * 4 * 12] });
  const before = graphCost(graph);
  const after = graphCost(pruned);
  t.true(after.macs < before.macs && after.params < before.params);
});

test('pruned residual network computes exactly what the original computes on its kept channels', async (t) => {
  const graph = residualNetwork();
  const groups = channelGroups(graph);
  const [tied, stacked, last] = groups.filter((g) => g.prunable);
  const kept = keptChannels(graph, groups, new Map([[tied.id, 5], [stacked.id, 2], [last.id, 7]]), new Map([[tied.id, [6, 1, 4, 0, 2, 3, 5, 7]]]));
  const pruned = await assertExactOnKept(t, graph, kept, 8);
  const name = (n: string) => pruned.tensors.find((tensor) => tensor.name === n)!.shape;
  t.deepEqual(name('add7'), [1, 8, 8, 5]);
  t.deepEqual(name('concatenation9'), [1, 8, 8, 7]);
  t.deepEqual(name('mean12'), [1, 7]);
  // The batch norm's per-channel constants shrank with the channels they scale.
  const mul = pruned.ops.find((op) => op.kind === 'mul')!;
  t.deepEqual(pruned.tensors[mul.inputs[1]].shape, [5]);
});

test('applyPruning refuses channel choices the graph cannot honour, naming the op', (t) => {
  const graph = residualNetwork();
  const groups = channelGroups(graph);
  const tied = groups.find((g) => g.prunable)!;
  const kept = keptChannels(graph, groups, new Map([[tied.id, 6]]));
  // Keep different channels on the two sides of the residual ADD.
  const add = tied.members.find((m) => graph.tensors[m.tensor].name === 'conv2d6')!.tensor;
  kept.set(add, [0, 1, 2, 3, 4, 6]);
  const error = t.throws(() => applyPruning(graph, kept), { instanceOf: EdgecError });
  t.is(error?.kind, 'usage');
  t.regex(error!.message, /op 7 \(add.*keep different channels/);
  t.throws(() => applyPruning(graph, new Map([[graph.inputs[0], [0, 1]]])), { message: /graph input or output/ });
  t.throws(() => applyPruning(graph, new Map([[graph.outputs[0], [0]]])), { message: /graph input or output/ });
  t.throws(() => applyPruning(graph, new Map([[add, [3, 1]]])), { message: /ascending/ });
});

/** The residual network pruned in all three groups, quantized, and four int8 samples for it. */
async function prunedInt8() {
  const graph = residualNetwork();
  const groups = channelGroups(graph);
  const [tied, stacked, last] = groups.filter((g) => g.prunable);
  const pruned = applyPruning(graph, keptChannels(graph, groups, new Map([[tied.id, 3], [stacked.id, 4], [last.id, 5]])));
  const rand = random(3);
  const calibration = Float32Array.from({ length: 64 * 192 }, () => rand() * 2 - 1);
  const ranges = await recordRanges(pruned, { inputs: [calibration], count: 64 }, (g, inputs, keep) => runFloat(g, inputs, { keep }));
  const int8 = quantizeGraph(pruned, ranges);
  const samples = Array.from({ length: 4 }, () => [Int8Array.from({ length: 192 }, () => Math.floor(rand() * 256) - 128)]);
  return { int8, samples };
}

test('a pruned residual network quantizes and runs bit-exact on the host (sanitized) against the reference', async (t) => {
  const { int8, samples } = await prunedInt8();
  const host = await runOnTarget(int8, 'host', samples, { sanitize: true });
  assertMatchesReference(t, int8, samples, host.outputs);
});

const missingQemu = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missingQemu !== null) {
  test.skip(`a pruned residual network runs bit-exact in QEMU (skipped: ${missingQemu})`, () => {});
} else {
  test('a pruned residual network runs bit-exact in QEMU against the reference', async (t) => {
    const { int8, samples } = await prunedInt8();
    const qemu = await runOnTarget(int8, 'qemu', samples);
    assertMatchesReference(t, int8, samples, qemu.outputs);
  });
}
