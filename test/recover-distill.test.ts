// Distillation: a pruned Fashion-MNIST model fine-tuned toward the unpruned one on a few hundred
// training images agrees with it, and scores, better on held-out test images; labels are optional.

import test from 'ava';
import { loadFashionMnist } from '../examples/fashion-mnist/data.ts';
import { runFloat } from '../src/float/run.ts';
import { loadModel } from '../src/import/index.ts';
import type { Graph } from '../src/ir/types.ts';
import { verifyGraph } from '../src/ir/verify.ts';
import { runPasses } from '../src/passes/index.ts';
import { applyPruning } from '../src/prune/apply.ts';
import { distill, distillTargets } from '../src/prune/distill.ts';
import { channelGroups, keptChannels } from '../src/prune/groups.ts';
import { groupImportance } from '../src/prune/importance.ts';
import type { Dataset } from '../src/prune/types.ts';

const teacher = runPasses(await loadModel(new URL('../examples/fashion-mnist/model/model.json', import.meta.url).pathname));
const groups = channelGroups(teacher);
const importance = await groupImportance(teacher, groups, 'l1');
// Every prunable group halved, its smallest-norm channels out: about a third of the MACs left.
const kept = keptChannels(
  teacher,
  groups,
  new Map(groups.filter((g) => g.prunable).map((g) => [g.id, Math.ceil(g.size / 2)])),
  new Map([...importance].map(([id, imp]) => [id, imp.order])),
);
const student = applyPruning(teacher, kept);

const train = loadFashionMnist('train', { limit: 512 });
const heldOut = loadFashionMnist('test', { limit: 1000 });
const teacherClasses = classes(teacher);

function argmaxRows(scores: Float32Array): number[] {
  return Array.from({ length: scores.length / 10 }, (_, r) => {
    let best = 0;
    for (let k = 1; k < 10; k++) if (scores[r * 10 + k] > scores[r * 10 + best]) best = k;
    return best;
  });
}

async function classes(graph: Graph): Promise<number[]> {
  return argmaxRows((await runFloat(graph, [heldOut.images])).get(graph.outputs[0])!);
}

async function scores(graph: Graph): Promise<{ accuracy: number; agreement: number }> {
  const [mine, theirs] = [await classes(graph), await teacherClasses];
  return {
    accuracy: mine.filter((c, i) => c === heldOut.labels[i]).length / mine.length,
    agreement: mine.filter((c, i) => c === theirs[i]).length / mine.length,
  };
}

test('distillation targets: a softmax output is compared on its logits', (t) => {
  const softmax = teacher.ops.at(-1)!;
  t.deepEqual(distillTargets(teacher), [{ output: teacher.outputs[0], tensor: softmax.inputs[0], kind: 'softmax', beta: 1 }]);
});

for (const labelled of [true, false]) {
  test(`distillation raises accuracy and agreement of a pruned model on held-out images, ${labelled ? 'with' : 'without'} labels`, async (t) => {
    const data: Dataset = { inputs: [train.images], count: train.count, ...(labelled ? { labels: Int32Array.from(train.labels) } : {}) };
    const before = await scores(student);
    const result = await distill(teacher, student, data, { epochs: 2, batchSize: 32, learningRate: 3e-3, seed: 3 });
    verifyGraph(result.graph);
    const after = await scores(result.graph);
    t.log(`${result.samples} images in ${result.seconds.toFixed(1)} s (${(result.samples / result.seconds).toFixed(0)} per second); on 1,000 test images: accuracy ${before.accuracy} -> ${after.accuracy}, agreement ${before.agreement} -> ${after.agreement}`);
    t.true(after.agreement > before.agreement + 0.05);
    t.true(after.accuracy > before.accuracy + 0.05);
    t.true(result.losses[1] < result.losses[0]);
    // The student's shapes are kept: only values change.
    t.deepEqual(result.graph.tensors.map((x) => x.shape), student.tensors.map((x) => x.shape));
  });
}

test('a student identical to its teacher starts at zero distillation loss', async (t) => {
  const data: Dataset = { inputs: [train.images.subarray(0, 32 * 784)], count: 32 };
  const result = await distill(teacher, teacher, data, { epochs: 1, batchSize: 32 });
  t.true(result.losses[0] < 1e-6, `loss ${result.losses[0]}`);
});
