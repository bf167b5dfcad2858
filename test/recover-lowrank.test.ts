// Low-rank factorization: the SVD reconstructs matrices of any shape; a dense layer or a 1x1
// convolution factorized at full rank computes what it computed; the rank chooser finds the rank
// a layer really has; a factorized Fashion-MNIST model quantizes and runs as generated C exactly
// as the int8 reference does.

import test from 'ava';
import { loadFashionMnist } from '../examples/fashion-mnist/data.ts';
import { runFloat } from '../src/float/run.ts';
import { GraphBuilder } from '../src/import/tfjs-builder.ts';
import { loadModel } from '../src/import/index.ts';
import type { Graph } from '../src/ir/types.ts';
import { runPasses } from '../src/passes/index.ts';
import { distill } from '../src/prune/distill.ts';
import { graphCost } from '../src/prune/groups.ts';
import { svd } from '../src/prune/linalg.ts';
import { chooseRank, factorizeLayer, inputGram, largestSavingRank, lowRankCandidates } from '../src/prune/low-rank.ts';
import { quantizeValues, affineOf } from '../src/quant/params.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import { recordRanges } from '../src/quant/record.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { assertMatchesReference } from './helpers/op-graphs.ts';
import { missingFashionMnist, missingTool, testWhere } from './helpers/tools.ts';

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5);
/** Values with no structure (unlike values(), whose rows are shifted sines). */
const scrambled = (n: number, seed: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * 91.17 + seed) * 43758.5453 % 1);

for (const [rows, cols] of [[7, 5], [5, 7], [6, 6], [1, 4], [30, 3]]) {
  test(`SVD of a ${rows}x${cols} matrix: orthonormal factors, descending values, exact reconstruction`, (t) => {
    const a = scrambled(rows * cols, rows * 10 + cols);
    const { u, s, v, k } = svd(a, rows, cols);
    t.is(k, Math.min(rows, cols));
    for (let i = 1; i < k; i++) t.true(s[i] <= s[i - 1]);
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        let sum = 0;
        for (let j = 0; j < k; j++) sum += u[r * k + j] * s[j] * v[c * k + j];
        worst = Math.max(worst, Math.abs(sum - a[r * cols + c]));
      }
    }
    t.true(worst < 1e-12, `reconstruction error ${worst}`);
    const gram = (m: Float64Array, n: number) => {
      let off = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
        let dot = 0;
        for (let r = 0; r < n; r++) dot += m[r * k + i] * m[r * k + j];
        off = Math.max(off, Math.abs(dot - (i === j ? 1 : 0)));
      }
      return off;
    };
    t.true(gram(u, rows) < 1e-12 && gram(v, cols) < 1e-12);
  });
}

/** x [1, 5, 5, 6] -> conv 1x1 stride 2 (8, relu6) -> flatten -> dense (10 -> ... ) -> output. */
function smallNetwork(denseWeights = values(7 * 72, 3)): Graph {
  const b = new GraphBuilder('small');
  const x = b.activation('x', [1, 5, 5, 6]);
  const pw = b.op(
    { kind: 'conv2d', inputs: [x, b.constant('pw/w', [8, 1, 1, 6], values(48, 1)), b.constant('pw/b', [8], values(8, 2))], attrs: { stride: [2, 2], dilation: [1, 1], padding: 'same', activation: 'relu6' } },
    'pw',
  );
  const flat = b.op({ kind: 'reshape', inputs: [pw], attrs: { shape: [1, 72] } }, 'flat');
  const dense = b.op({ kind: 'fully_connected', inputs: [flat, b.constant('d/w', [7, 72], denseWeights), b.constant('d/b', [7], values(7, 4))], attrs: { activation: 'relu', keepNumDims: false } }, 'dense');
  return b.finish([x], [dense]);
}

const inputs = (count: number) => [values(count * 150, 9).map((v) => v * 2)];

for (const [name, op, rank, aware] of [
  ['a 1x1 convolution with stride 2', 0, 6, false],
  ['a dense layer', 2, 7, false],
  ['a 1x1 convolution with stride 2, data-aware,', 0, 6, true],
  ['a dense layer, data-aware,', 2, 7, true],
] as const) {
  test(`${name} factorized at full rank computes what it computed`, async (t) => {
    const graph = smallNetwork();
    const gram = aware ? await inputGram(graph, op, { inputs: inputs(16), count: 16 }) : undefined;
    const factorized = factorizeLayer(graph, op, rank, gram);
    t.is(factorized.ops.length, graph.ops.length + 1);
    t.is(factorized.tensors.length, graph.tensors.length + 2);
    // Every tensor of the original keeps its index and, but for the factorized weights, its value.
    graph.tensors.forEach((tensor, i) => i !== graph.ops[op].inputs[1] && t.deepEqual(factorized.tensors[i], tensor));
    const [before, after] = [await runFloat(graph, inputs(8)), await runFloat(factorized, inputs(8))];
    const [a, b] = [before.get(graph.outputs[0])!, after.get(graph.outputs[0])!];
    t.true(a.every((v, i) => Math.abs(v - b[i]) < 1e-5));
  });
}

test('candidates and savings: ranks below N K / (N + K) only', (t) => {
  t.is(largestSavingRank(10, 512), 9);
  t.is(largestSavingRank(8, 8), 3);
  t.deepEqual(lowRankCandidates(smallNetwork()), [{ op: 0, n: 8, k: 6, maxRank: 3 }, { op: 2, n: 7, k: 72, maxRank: 6 }]);
  const factorized = factorizeLayer(smallNetwork(), 2, 2);
  t.is(graphCost(smallNetwork()).macs - graphCost(factorized).macs, 7 * 72 - 2 * (7 + 72));
});

test('the rank chooser finds the rank a layer has, and none for a tolerance no rank meets', async (t) => {
  // Dense weights of rank 2: the outer products of two pairs of vectors.
  const [p, q, r, s] = [values(7, 11), values(72, 12), values(7, 13), values(72, 14)];
  const graph = smallNetwork(Float32Array.from({ length: 7 * 72 }, (_, i) => p[Math.floor(i / 72)] * q[i % 72] + r[Math.floor(i / 72)] * s[i % 72]));
  const data = { inputs: inputs(64), count: 64 };
  const choice = await chooseRank(graph, 2, data, { tolerance: 1e-8 });
  t.is(choice?.rank, 2);
  t.true(choice!.error < 1e-8);
  t.deepEqual(choice!.saved, { macs: 7 * 72 - 2 * 79, params: 7 * 72 - 2 * 79 });
  // (values() rows are shifted sines, themselves of rank 2: full-rank weights need another generator.)
  t.is(await chooseRank(smallNetwork(Float32Array.from(scrambled(7 * 72, 5))), 2, data, { tolerance: 1e-6 }), undefined);
});

const missingCc = missingTool('cc');
const fashion = async () => {
  const graph = runPasses(await loadModel(new URL('../examples/fashion-mnist/model/model.json', import.meta.url).pathname));
  const dense = graph.ops.findIndex((op) => op.kind === 'fully_connected');
  const set = loadFashionMnist('test', { limit: 256 });
  return { graph, dense, set };
};

const quantizedCase = 'Fashion-MNIST with its dense layer at rank 8: a valid graph that quantizes, and whose generated C matches the int8 reference';
testWhere([missingCc, missingFashionMnist()], quantizedCase, async (t) => {
  const { graph, dense, set } = await fashion();
  const factorized = factorizeLayer(graph, dense, 8);
  const ranges = await recordRanges(factorized, { inputs: [set.images], count: set.count }, (g, x, keep) => runFloat(g, x, { keep }));
  const int8 = quantizeGraph(factorized, ranges);
  const q = quantizeValues(set.images.subarray(0, 8 * 784), affineOf(int8.tensors[int8.inputs[0]].quant!));
  const samples = Array.from({ length: 8 }, (_, i) => [q.subarray(i * 784, (i + 1) * 784)]);
  const host = await runOnTarget(int8, 'host', samples);
  assertMatchesReference(t, int8, samples, host.outputs);
});

testWhere([missingFashionMnist()], 'Fashion-MNIST: factorized for its inputs, the 1x1 convolution at rank 2 moves the logits less than by plain SVD', async (t) => {
  const { graph, set } = await fashion();
  const pointwise = graph.ops.findIndex((op) => op.kind === 'conv2d' && graph.tensors[op.inputs[1]].shape[1] === 1);
  const gram = await inputGram(graph, pointwise, { inputs: [set.images], count: set.count });
  const heldOut = loadFashionMnist('test', { offset: 5000, limit: 500 });
  const logits = graph.ops.at(-1)!.inputs[0];
  const reference = (await runFloat(graph, [heldOut.images], { keep: [logits] })).get(logits)!;
  const error = async (g: Graph) => {
    const values = (await runFloat(g, [heldOut.images], { keep: [logits] })).get(logits)!;
    return values.reduce((sum, v, i) => sum + (v - reference[i]) ** 2, 0) / reference.reduce((sum, v) => sum + v * v, 0);
  };
  const [plain, aware] = [await error(factorizeLayer(graph, pointwise, 2)), await error(factorizeLayer(graph, pointwise, 2, gram))];
  t.log(`relative squared error of the logits on 500 test images: plain ${plain.toFixed(3)}, data-aware ${aware.toFixed(3)}`);
  t.true(aware < plain * 0.8);
});

testWhere([missingFashionMnist()], 'Fashion-MNIST with its 1x1 convolution at rank 2, tuned by distillation, agrees better with the original', async (t) => {
  const { graph, set } = await fashion();
  const pointwise = graph.ops.findIndex((op) => op.kind === 'conv2d' && graph.tensors[op.inputs[1]].shape[1] === 1);
  const factorized = factorizeLayer(graph, pointwise, 2);
  t.true(graphCost(factorized).macs < graphCost(graph).macs);
  const heldOut = loadFashionMnist('test', { offset: 5000, limit: 500 });
  const classes = async (g: Graph) => {
    const scores = (await runFloat(g, [heldOut.images])).get(g.outputs[0])!;
    return Array.from({ length: heldOut.count }, (_, i) => scores.subarray(i * 10, i * 10 + 10).reduce((best, v, k, all) => (v > all[best] ? k : best), 0));
  };
  const reference = await classes(graph);
  const agreement = async (g: Graph) => (await classes(g)).filter((c, i) => c === reference[i]).length / heldOut.count;
  const tuned = await distill(graph, factorized, { inputs: [set.images], count: set.count }, { epochs: 2, learningRate: 3e-3 });
  const [before, after] = [await agreement(factorized), await agreement(tuned.graph)];
  t.log(`agreement with the original on 500 test images: factorized ${before}, tuned ${after}`);
  t.true(after > before);
});
