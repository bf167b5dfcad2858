// The trainable executor: its forward pass computes what the float executor computes, gradient
// steps lower the loss, runs are seeded, and the trained weights come back as a valid graph.

import * as tf from '@tensorflow/tfjs-core';
import { fashionMnistIfPresent, missingFashionMnist, testWhere } from './helpers/tools.ts';
import { onBackend } from '../src/float/backend.ts';
import { runFloat } from '../src/float/run.ts';
import { gatherBatch, TrainableGraph, trainGraph, type BatchLoss } from '../src/float/train.ts';
import { loadModel } from '../src/import/index.ts';
import { verifyGraph } from '../src/ir/verify.ts';
import { runPasses } from '../src/passes/index.ts';

const FASHION = new URL('../examples/fashion-mnist/model/model.json', import.meta.url).pathname;
const graph = runPasses(await loadModel(FASHION));
const set = fashionMnistIfPresent('train', { limit: 256 });
const samples = { inputs: [set.images], count: set.count };
const labels = Int32Array.from(set.labels);
/** The softmax's input: the logits. */
const logits = graph.ops.at(-1)!.inputs[0];

const crossEntropy: BatchLoss = (outputs, indices) =>
  tf.losses.softmaxCrossEntropy(
    tf.oneHot(tf.tensor1d(Array.from(indices, (i) => labels[i]), 'int32'), 10),
    tf.reshape(outputs.get(logits)!, [-1, 10]),
  ) as tf.Scalar;

testWhere([missingFashionMnist()], 'the trainable forward pass computes what runFloat computes, every activation', async (t) => {
  const activations = graph.ops.map((op) => op.outputs[0]);
  const reference = await runFloat(graph, [set.images.subarray(0, 64 * 784)], { keep: activations, backend: 'cpu' });
  const values = await onBackend('cpu', () => {
    const trainable = new TrainableGraph(graph);
    try {
      const values = new Map<number, Float32Array>();
      tf.tidy(() => {
        const out = trainable.forward(gatherBatch(graph, samples, Array.from({ length: 64 }, (_, i) => i)), activations);
        for (const [k, v] of out) values.set(k, v.dataSync() as Float32Array);
      });
      return values;
    } finally {
      trainable.dispose();
    }
  });
  for (const a of activations) {
    const [mine, theirs] = [values.get(a)!, reference.get(a)!];
    t.is(mine.length, theirs.length);
    let worst = 0;
    for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(mine[i] - theirs[i]));
    t.true(worst < 1e-5, `tensor ${a} '${graph.tensors[a].name}' differs by ${worst}`);
  }
});

testWhere([missingFashionMnist()], 'gradient steps lower the loss; the same seed gives the same weights', async (t) => {
  const options = { epochs: 3, batchSize: 32, learningRate: 3e-3, seed: 7 };
  const conv3 = graph.ops[4].inputs[1];
  const before = Float32Array.from(graph.tensors[conv3].data as Float32Array);
  const first = await trainGraph(graph, samples, [logits], crossEntropy, options);
  t.is(first.losses.length, 3);
  t.true(first.losses[2] < first.losses[0] * 0.9, `losses ${first.losses}`);
  t.is(first.steps, 3 * 8);
  t.is(first.stoppedBy, 'epochs');
  verifyGraph(first.graph);
  t.deepEqual(first.graph.ops, graph.ops);
  const second = await trainGraph(graph, samples, [logits], crossEntropy, options);
  t.deepEqual(second.losses, first.losses);
  t.deepEqual(second.graph.tensors[conv3].data, first.graph.tensors[conv3].data);
  t.notDeepEqual(first.graph.tensors[conv3].data, before);
  // The input graph is left as it was.
  t.deepEqual(graph.tensors[conv3].data, before);
});

testWhere([missingFashionMnist()], 'progress reports every step with a time estimate; a time cap ends training early', async (t) => {
  const seen: number[] = [];
  const capped = await trainGraph(graph, samples, [logits], crossEntropy, {
    epochs: 1000,
    timeLimit: 0.5,
    onProgress: (p) => {
      seen.push(p.step);
      t.true(p.eta >= 0 && p.eta <= 0.5);
      t.is(p.steps, 1000 * 8);
    },
  });
  t.is(capped.stoppedBy, 'time');
  t.true(capped.steps < 1000 * 8);
  t.deepEqual(seen, Array.from({ length: capped.steps }, (_, i) => i + 1));
});
