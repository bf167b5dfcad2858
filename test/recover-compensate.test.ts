// Recovery without training: bias compensation restores a layer exactly when the channels it
// lost were constant on the data; the least-squares refit brings a pruned Fashion-MNIST model's
// outputs closer to the unpruned model's than pruning alone.

import test from 'ava';
import { missingFashionMnist, testWhere } from './helpers/tools.ts';
import { loadFashionMnist } from '../examples/fashion-mnist/data.ts';
import { runFloat } from '../src/float/run.ts';
import { GraphBuilder } from '../src/import/tfjs-builder.ts';
import { loadModel } from '../src/import/index.ts';
import { numel } from '../src/ir/dtype.ts';
import type { Graph } from '../src/ir/types.ts';
import { runPasses } from '../src/passes/index.ts';
import { applyPruning } from '../src/prune/apply.ts';
import { channelGroups, keptChannels } from '../src/prune/groups.ts';
import { groupImportance } from '../src/prune/importance.ts';
import { compensate } from '../src/prune/recover.ts';
import type { Dataset, KeptChannels } from '../src/prune/types.ts';

const values = (n: number, seed: number, scale = 0.5) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * scale);

/**
 * input [1,6,6,2] -> conv 3x3 same (3 channels, relu) -> `reader`. Channel 2 of the first conv has
 * zero weights and a positive bias: after the relu it is 0.7 everywhere, on any input.
 */
function withConstantChannel(reader: 'conv' | 'conv without bias' | 'dense'): Graph {
  const b = new GraphBuilder(`constant channel, ${reader}`);
  const x = b.activation('x', [1, 6, 6, 2]);
  const w = values(3 * 3 * 3 * 2, 1);
  w.fill(0, 2 * 18, 3 * 18);
  const a = b.op(
    {
      kind: 'conv2d',
      inputs: [x, b.constant('a/w', [3, 3, 3, 2], w), b.constant('a/b', [3], Float32Array.of(0.1, -0.1, 0.7))],
      attrs: { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'relu' },
    },
    'a',
  );
  let out: number;
  if (reader === 'dense') {
    const flat = b.op({ kind: 'reshape', inputs: [a], attrs: { shape: [1, 108] } }, 'flat');
    out = b.op({ kind: 'fully_connected', inputs: [flat, b.constant('d/w', [5, 108], values(540, 2)), b.constant('d/b', [5], values(5, 3))], attrs: { activation: 'none', keepNumDims: false } }, 'out');
  } else {
    const bias = reader === 'conv' ? [b.constant('b/b', [4], values(4, 3))] : [];
    out = b.op(
      { kind: 'conv2d', inputs: [a, b.constant('b/w', [4, 3, 3, 3], values(108, 2)), ...bias], attrs: { stride: [2, 1], dilation: [1, 1], padding: 'valid', activation: 'none' } },
      'out',
    );
  }
  return b.finish([x], [out]);
}

/** Channel 2 of the first conv removed (with the features it becomes after a flatten). */
function withoutChannel2(graph: Graph): KeptChannels {
  const groups = channelGroups(graph);
  const group = groups.find((g) => g.prunable && g.size === 3)!;
  return keptChannels(graph, groups, new Map([[group.id, 2]]), new Map([[group.id, [0, 1, 2]]]));
}

const samplesOf = (graph: Graph, count: number): Dataset => ({ inputs: [values(count * numel(graph.tensors[graph.inputs[0]].shape), 9, 1)], count });

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

for (const reader of ['conv', 'conv without bias', 'dense'] as const) {
  test(`bias compensation restores the output exactly when the removed channel is constant: ${reader}`, async (t) => {
    const graph = withConstantChannel(reader);
    const kept = withoutChannel2(graph);
    const pruned = applyPruning(graph, kept);
    const data = samplesOf(graph, 16);
    const out = graph.outputs[0];
    const reference = (await runFloat(graph, data.inputs)).get(out)!;
    const before = (await runFloat(pruned, data.inputs)).get(out)!;
    t.true(maxDifference(before, reference) > 0.1, 'pruning alone moves the output');

    const { graph: compensated, layers } = await compensate(graph, pruned, kept, data);
    const after = (await runFloat(compensated, data.inputs)).get(out)!;
    t.true(maxDifference(after, reference) < 1e-5, `differs by ${maxDifference(after, reference)}`);
    t.is(layers.length, 1);
    t.is(layers[0].removed, reader === 'dense' ? 36 : 1);
    t.true(layers[0].error.compensated < 1e-10);
    // A layer without a bias gets one; every other tensor keeps its index.
    t.is(compensated.tensors.length, graph.tensors.length + (reader === 'conv without bias' ? 1 : 0));
    t.is(compensated.ops.length, graph.ops.length);
  });
}

testWhere([missingFashionMnist()], 'the least-squares refit brings a pruned Fashion-MNIST model closer to the unpruned one than pruning or bias compensation alone', async (t) => {
  const graph = runPasses(await loadModel(new URL('../examples/fashion-mnist/model/model.json', import.meta.url).pathname));
  const groups = channelGroups(graph);
  const importance = await groupImportance(graph, groups, 'l1');
  const keep = new Map(groups.filter((g) => g.prunable).map((g) => [g.id, Math.ceil(g.size / 2)]));
  const kept = keptChannels(graph, groups, keep, new Map([...importance].map(([id, imp]) => [id, imp.order])));
  const pruned = applyPruning(graph, kept);

  const train = loadFashionMnist('train', { limit: 1024 });
  const heldOut = loadFashionMnist('test', { limit: 1000 });
  const logits = graph.ops.at(-1)!.inputs[0];
  const reference = (await runFloat(graph, [heldOut.images], { keep: [logits] })).get(logits)!;
  const error = async (g: Graph) => {
    const values = (await runFloat(g, [heldOut.images], { keep: [logits] })).get(logits)!;
    let distance = 0;
    let norm = 0;
    values.forEach((v, i) => ((distance += (v - reference[i]) ** 2), (norm += reference[i] ** 2)));
    return distance / norm;
  };
  const data: Dataset = { inputs: [train.images], count: train.count };
  const plain = await error(pruned);
  const compensated = await compensate(graph, pruned, kept, data);
  const refit = await compensate(graph, pruned, kept, data, { refit: true });
  const [afterBias, afterRefit] = [await error(compensated.graph), await error(refit.graph)];
  t.log(`relative squared error of the logits on 1,000 test images: pruned ${plain.toFixed(4)}, bias compensated ${afterBias.toFixed(4)}, refit ${afterRefit.toFixed(4)}`);
  t.true(afterRefit < plain * 0.6);
  t.true(afterRefit < afterBias);
  t.deepEqual(refit.layers.map((l) => l.name), ['pw2', 'conv3', 'logits/linear']);
  for (const layer of refit.layers) t.true(layer.error.refit! < layer.error.pruned, layer.name);
  // Deterministic: the same data and seed give the same weights.
  const again = await compensate(graph, pruned, kept, data, { refit: true });
  t.deepEqual(again.graph.tensors, refit.graph.tensors);
});
