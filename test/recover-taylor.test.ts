// First-order Taylor importance: the score of a channel is the summed size of activation times
// gradient, checked by hand on a small dense network; on Fashion-MNIST every layer with weights
// gets one score per channel, and a channel that never fires scores zero.

import test from 'ava';
import { missingFashionMnist, testWhere } from './helpers/tools.ts';
import { loadFashionMnist } from '../examples/fashion-mnist/data.ts';
import { runFloat } from '../src/float/run.ts';
import { GraphBuilder } from '../src/import/tfjs-builder.ts';
import { loadModel } from '../src/import/index.ts';
import { runPasses } from '../src/passes/index.ts';
import { taylorImportance } from '../src/prune/taylor.ts';

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233));

test('Taylor scores of a dense layer equal sum over samples of |a * dL/da| computed by hand', async (t) => {
  const b = new GraphBuilder('dense');
  const x = b.activation('x', [1, 3]);
  const [w1, b1, w2] = [values(12, 1), values(4, 2), values(8, 3)];
  const hidden = b.op({ kind: 'fully_connected', inputs: [x, b.constant('w1', [4, 3], w1), b.constant('b1', [4], b1)], attrs: { activation: 'none', keepNumDims: false } }, 'hidden');
  const logits = b.op({ kind: 'fully_connected', inputs: [hidden, b.constant('w2', [2, 4], w2)], attrs: { activation: 'none', keepNumDims: false } }, 'logits');
  const graph = b.finish([x], [b.op({ kind: 'softmax', inputs: [logits], attrs: { beta: 1 } }, 'probabilities')]);
  const count = 5;
  const inputs = values(count * 3, 4);
  const labels = Int32Array.of(0, 1, 1, 0, 1);

  const scores = await taylorImportance(graph, { inputs: [inputs], count, labels }, { batchSize: 2 });
  const expected = new Float64Array(4);
  for (let s = 0; s < count; s++) {
    const a = Array.from({ length: 4 }, (_, c) => b1[c] + [0, 1, 2].reduce((sum, k) => sum + w1[c * 3 + k] * inputs[s * 3 + k], 0));
    const z = [0, 1].map((o) => a.reduce((sum, v, c) => sum + w2[o * 4 + c] * v, 0));
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    const p = e.map((v) => v / (e[0] + e[1]));
    // dL/dz = p - onehot(label); dL/da = W2^T dL/dz.
    const dz = p.map((v, o) => v - (o === labels[s] ? 1 : 0));
    a.forEach((v, c) => (expected[c] += Math.abs(v * (w2[c] * dz[0] + w2[4 + c] * dz[1]))));
  }
  t.deepEqual([...scores.keys()], [hidden, logits]);
  scores.get(hidden)!.forEach((v, c) => t.true(Math.abs(v - expected[c]) < 1e-5 * Math.max(1, expected[c]), `channel ${c}: ${v} vs ${expected[c]}`));
});

/** x [1, 3] -> dense (4, relu; unit 3 has zero weights and a negative bias: it never fires) -> dense (2) [-> softmax]. */
function smallNetwork(softmax: boolean) {
  const b = new GraphBuilder('small');
  const x = b.activation('x', [1, 3]);
  const w1 = values(12, 1).fill(0, 9);
  const hidden = b.op({ kind: 'fully_connected', inputs: [x, b.constant('w1', [4, 3], w1), b.constant('b1', [4], Float32Array.of(0.1, 0.2, 0.3, -1))], attrs: { activation: 'relu', keepNumDims: false } }, 'hidden');
  const out = b.op({ kind: 'fully_connected', inputs: [hidden, b.constant('w2', [2, 4], values(8, 3))], attrs: { activation: 'none', keepNumDims: false } }, 'out');
  return { graph: b.finish([x], [softmax ? b.op({ kind: 'softmax', inputs: [out], attrs: { beta: 1 } }, 'probabilities') : out]), hidden };
}

test('without labels, a softmax output is scored against the model\'s own classes', async (t) => {
  const { graph, hidden } = smallNetwork(true);
  const inputs = [values(40 * 3, 5)];
  const own = (await runFloat(graph, inputs)).get(graph.outputs[0])!;
  const labels = Int32Array.from({ length: 40 }, (_, s) => (own[s * 2 + 1] > own[s * 2] ? 1 : 0));
  const unlabelled = await taylorImportance(graph, { inputs, count: 40 });
  t.deepEqual(unlabelled, await taylorImportance(graph, { inputs, count: 40, labels }));
  t.is(unlabelled.get(hidden)![3], 0);
});

test('an output that is not a softmax is scored through a seeded projection: the same seed gives the same scores', async (t) => {
  const { graph, hidden } = smallNetwork(false);
  const data = { inputs: [values(40 * 3, 5)], count: 40 };
  const scores = await taylorImportance(graph, data, { seed: 4 });
  t.deepEqual(await taylorImportance(graph, data, { seed: 4 }), scores);
  t.notDeepEqual(await taylorImportance(graph, data, { seed: 5 }), scores);
  const unit = scores.get(hidden)!;
  t.true(unit.subarray(0, 3).every((v) => v > 0));
  t.is(unit[3], 0);
});

testWhere([missingFashionMnist()], 'Fashion-MNIST: one score per channel of every layer with weights, zero for channels that never fire, the same on a second run', async (t) => {
  const graph = runPasses(await loadModel(new URL('../examples/fashion-mnist/model/model.json', import.meta.url).pathname));
  const set = loadFashionMnist('train', { limit: 96 });
  const data = { inputs: [set.images], count: set.count };
  const scores = await taylorImportance(graph, data);
  const layers = graph.ops.filter((op) => op.kind === 'conv2d' || op.kind === 'depthwise_conv2d' || op.kind === 'fully_connected').map((op) => op.outputs[0]);
  t.deepEqual([...scores.keys()], layers);
  const activations = await runFloat(graph, [set.images], { keep: layers });
  let silent = 0;
  for (const tensor of layers) {
    const channels = graph.tensors[tensor].shape.at(-1)!;
    const score = scores.get(tensor)!;
    t.is(score.length, channels);
    t.true(score.every((v) => Number.isFinite(v) && v >= 0));
    t.true(score.some((v) => v > 0));
    const values = activations.get(tensor)!;
    for (let c = 0; c < channels; c++) {
      let fires = false;
      for (let i = c; i < values.length && !fires; i += channels) fires = values[i] !== 0;
      if (!fires) {
        silent++;
        t.is(score[c], 0, `${graph.tensors[tensor].name} channel ${c} never fires`);
      }
    }
  }
  t.true(silent > 0, 'the example has channels that never fire on these images');
  t.deepEqual(await taylorImportance(graph, data), scores);
});
