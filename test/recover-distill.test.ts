// Distillation: a pruned Fashion-MNIST model fine-tuned toward the unpruned one on a few hundred
// training images agrees with it, and scores, better on held-out test images; labels are optional.

import { readFileSync } from 'node:fs';
import test from 'ava';
import { fashionMnistIfPresent, missingFashionMnist, testWhere } from './helpers/tools.ts';
import { runFloat } from '../src/float/run.ts';
import { importTflite } from '../src/import/tflite.ts';
import { loadModel } from '../src/import/index.ts';
import type { Graph } from '../src/ir/types.ts';
import { verifyGraph } from '../src/ir/verify.ts';
import { runPasses } from '../src/passes/index.ts';
import { applyPruning } from '../src/prune/apply.ts';
import { distill, distillTargets } from '../src/prune/distill.ts';
import { channelGroups, keptChannels } from '../src/prune/groups.ts';
import { groupImportance } from '../src/prune/importance.ts';
import { compensate } from '../src/prune/recover.ts';
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

const train = fashionMnistIfPresent('train', { limit: 512 });
const heldOut = fashionMnistIfPresent('test', { limit: 1000 });
let teacherAnswers: Promise<number[]> | undefined;
const teacherClasses = () => (teacherAnswers ??= classes(teacher));

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
  const [mine, theirs] = [await classes(graph), await teacherClasses()];
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
  testWhere([missingFashionMnist()], `distillation raises accuracy and agreement of a pruned model on held-out images, ${labelled ? 'with' : 'without'} labels`, async (t) => {
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

testWhere([missingFashionMnist()], 'a student identical to its teacher starts at zero distillation loss', async (t) => {
  const data: Dataset = { inputs: [train.images.subarray(0, 32 * 784)], count: 32 };
  const result = await distill(teacher, teacher, data, { epochs: 1, batchSize: 32 });
  t.true(result.losses[0] < 1e-6, `loss ${result.losses[0]}`);
});

test('a float TFLite model (hello_world_float, a regression) is pruned, refit and distilled alike', async (t) => {
  const bytes = readFileSync(new URL('../../shared/oracles/hello_world_float/model.tflite', import.meta.url));
  const sine = runPasses(importTflite(new Uint8Array(bytes)));
  t.deepEqual(distillTargets(sine).map((d) => d.kind), ['values']);
  const sineGroups = channelGroups(sine);
  const order = await groupImportance(sine, sineGroups, 'l1');
  const keptUnits = keptChannels(sine, sineGroups, new Map(sineGroups.filter((g) => g.prunable).map((g) => [g.id, 6])), new Map([...order].map(([id, imp]) => [id, imp.order])));
  const small = applyPruning(sine, keptUnits);
  const points = (count: number, seed: number) => Float32Array.from({ length: count }, (_, i) => ((Math.sin(i * 12.9898 + seed) * 43758.5453) % 1 + 1) % 1 * 2 * Math.PI);
  const data: Dataset = { inputs: [points(512, 1)], count: 512 };
  const heldOut = [points(256, 2)];
  const reference = (await runFloat(sine, heldOut)).get(sine.outputs[0])!;
  const error = async (g: Graph) => {
    const y = (await runFloat(g, heldOut)).get(g.outputs[0])!;
    return y.reduce((sum, v, i) => sum + (v - reference[i]) ** 2, 0) / reference.reduce((sum, v) => sum + v * v, 0);
  };
  const refit = (await compensate(sine, small, keptUnits, data, { refit: true })).graph;
  const tuned = await distill(sine, refit, data, { epochs: 10, batchSize: 16, learningRate: 3e-3 });
  const [pruned, afterRefit, afterDistill] = [await error(small), await error(refit), await error(tuned.graph)];
  t.log(`relative squared error on 256 held-out points: pruned ${pruned.toFixed(4)}, refit ${afterRefit.toFixed(4)}, distilled ${afterDistill.toFixed(4)}`);
  t.true(afterRefit < pruned);
  t.true(afterDistill < afterRefit);
});
