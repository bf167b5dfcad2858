// Importance, allocation and budgets on the Fashion-MNIST example: criteria that find silenced
// channels, the batch-norm criterion reading the imported model, an allocation that follows the
// sensitivity scan, every budget kind met, and bad budgets refused with the smallest model.

import test from 'ava';
import { runFloat } from '../src/float/run.ts';
import { loadModel } from '../src/import/index.ts';
import { numel } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph } from '../src/ir/types.ts';
import { runPasses } from '../src/passes/index.ts';
import { allocate, type Sensitivity } from '../src/prune/allocate.ts';
import { budgetMeters, parseBudgets, smallestModel, type BoardSizer } from '../src/prune/budget.ts';
import { channelGroups, graphCost } from '../src/prune/groups.ts';
import { groupImportance, type GroupImportance } from '../src/prune/importance.ts';
import { layerChanges, pruneModel } from '../src/prune/index.ts';
import { taylorImportance } from '../src/prune/taylor.ts';
import type { Dataset } from '../src/prune/types.ts';
import { GraphBuilder, random } from './helpers/op-graphs.ts';
import { fashionMnistIfPresent, missingFashionMnist, testWhere } from './helpers/tools.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import { recordRanges } from '../src/quant/record.ts';
import { generateForBoard } from '../src/targets/build.ts';
import { loadBoard } from '../src/toolchain/index.ts';

const FASHION = new URL('../examples/fashion-mnist/model/model.json', import.meta.url).pathname;
const imported = await loadModel(FASHION);
const graph = runPasses(imported);
const groups = channelGroups(graph);
const [g1, g2, g3] = groups.filter((g) => g.prunable);

const dataset = (split: 'train' | 'test', limit: number): Dataset => {
  const set = fashionMnistIfPresent(split, { limit });
  return { inputs: [set.images], count: set.count, labels: Int32Array.from(set.labels) };
};
const train = dataset('train', 600);
const validation = dataset('test', 300);
const run = (g: Graph, inputs: Float32Array[], keep: number[]) => runFloat(g, inputs, { keep });

/** int8 bytes on stm32f4, from ranges recorded once on the unpruned graph; code as a fixed figure. */
const noData = missingFashionMnist();
const ranges = noData === null ? await recordRanges(graph, { inputs: [train.inputs[0].subarray(0, 100 * 784)], count: 100 }, run) : new Map();
const board = loadBoard('stm32f4');
const sizer: BoardSizer = {
  board: 'stm32f4',
  codeBytes: 12_000,
  size: (g) => {
    const model = generateForBoard(quantizeGraph(g, ranges), board);
    return { weightBytes: model.weightBytes, arenaBytes: model.plan.arenaBytes };
  },
};

test('budgets parse from macs=R,params=R text; malformed ones are usage errors', (t) => {
  t.deepEqual(parseBudgets('macs=0.5'), [{ kind: 'macs', value: 0.5 }]);
  t.deepEqual(parseBudgets('params=0.4, flash=20000'), [{ kind: 'params', value: 0.4 }, { kind: 'flash', value: 20000 }]);
  for (const bad of ['speed=2', 'macs', 'macs=half', 'macs=0.5=1', 'macs=0.5,macs=0.4', '']) {
    t.is(t.throws(() => parseBudgets(bad), { instanceOf: EdgecError })?.kind, 'usage', bad);
  }
});

testWhere([noData], 'bad budgets are refused with the smallest model the groups allow', (t) => {
  const least = graphCost(smallestModel(graph, groups));
  // Every prunable group at one channel: conv1 and the depthwise 1, pw2 1, conv3 1.
  t.deepEqual(least, graphCost(smallestModel(graph, groups)));
  t.true(least.macs < graphCost(graph).macs / 10);
  const refusal = (budgets: string, withSizer = false) => {
    const error = t.throws(() => budgetMeters(graph, groups, parseBudgets(budgets), withSizer ? sizer : undefined), { instanceOf: EdgecError });
    t.is(error?.kind, 'usage', budgets);
    return error!.message;
  };
  for (const budgets of ['macs=0', 'macs=-0.5', 'params=1.5', 'macs=0.01']) {
    const message = refusal(budgets);
    t.regex(message, new RegExp(`smallest model .* has ${least.macs} MACs .* ${least.params} parameters`), budgets);
  }
  t.regex(refusal('macs=0.01'), /out of reach: MACs cannot go below \d+/);
  t.regex(refusal('params=1.5'), /at most 1/);
  t.regex(refusal('flash=20000'), /needs a board/);
  const smallest = sizer.size(smallestModel(graph, groups));
  const bytes = refusal('ram=100', true);
  t.regex(bytes, new RegExp(`arena bytes on stm32f4 cannot go below ${smallest.arenaBytes}`));
  t.regex(bytes, new RegExp(`${smallest.weightBytes + sizer.codeBytes} flash bytes on stm32f4`));
  t.regex(refusal('ram=4000.5', true), /positive whole number/);
  t.regex(refusal('flash=0', true), /positive whole number/);
  // A ratio of 1 is the model as it is.
  t.is(budgetMeters(graph, groups, parseBudgets('macs=1'))[0].target, graphCost(graph).macs);
});

/** The Fashion-MNIST graph with conv3's filters 3 and 17 (and their biases) zeroed. */
function silenced(): Graph {
  const conv3 = graph.ops[g3.producers[0]];
  const tensors = [...graph.tensors];
  for (const input of [1, 2]) {
    const w = graph.tensors[conv3.inputs[input]];
    const per = numel(w.shape.slice(1));
    const data = Float32Array.from(w.data as Float32Array, (v, i) => ([3, 17].includes(Math.floor(i / per)) ? 0 : v));
    tensors[conv3.inputs[input]] = { ...w, data };
  }
  return { ...graph, tensors };
}

testWhere([noData], 'l1, l2, activation and taylor rank silenced filters last; scores have a mean of 1 in every group', async (t) => {
  const quiet = silenced();
  for (const criterion of ['l1', 'l2', 'activation', 'taylor'] as const) {
    const importance = await groupImportance(quiet, groups, criterion, { data: train, run, taylor: (g, data) => taylorImportance(g, data, { samples: 64 }) });
    const { scores } = importance.get(g3.id)!;
    // (The trained model has dead conv3 channels of its own, which tie with them under 'activation' and 'taylor'.)
    t.true(scores.every((v, u) => v >= Math.max(scores[3], scores[17]) || [3, 17].includes(u)), criterion);
    t.true(scores[3] < 0.01 && scores[17] < 0.01, criterion);
    for (const [, imp] of importance) t.true(Math.abs(imp.scores.reduce((a, b) => a + b, 0) / imp.scores.length - 1) < 1e-9);
  }
});

test("the bn criterion ranks conv1's channels by the imported batch norm's scale and falls back to l2 elsewhere", async (t) => {
  const importance = await groupImportance(graph, groups, 'bn', { imported });
  const scale = imported.tensors.find((x) => x.name === 'bn1/scale')!.data as Float32Array;
  const expected = Array.from(scale.keys()).sort((a, b) => Math.abs(scale[b]) - Math.abs(scale[a]));
  t.deepEqual(importance.get(g1.id)!.order, expected);
  t.is(importance.get(g1.id)!.source, 'bn');
  t.is(importance.get(g3.id)!.source, 'l2 (no batch norm)');
  await t.throwsAsync(groupImportance(graph, groups, 'bn'), { message: /before its batch norms were folded/ });
});

test('allocation takes channels where the scanned error grows slowest per MAC saved', (t) => {
  const importance = new Map<number, GroupImportance>(
    [g1, g2, g3].map((g) => [g.id, { scores: new Float64Array(g.size).fill(1), order: Array.from({ length: g.size }, (_, u) => u), source: 'test' }]),
  );
  const curve = (id: number, size: number, slope: number): Sensitivity => ({
    group: id,
    points: Array.from({ length: size }, (_, removed) => ({ removed, error: slope * removed, accuracy: 1 })),
  });
  // pw2 hurts nothing when pruned, conv3 a lot, conv1 a little.
  const curves = [curve(g1.id, 8, 0.01), curve(g2.id, 16, 0), curve(g3.id, 32, 1)];
  const meters = budgetMeters(graph, groups, parseBudgets('macs=0.8'));
  const { keep, values } = allocate(graph, groups, importance, curves, meters);
  t.true(values[0] <= meters[0].target);
  t.is(keep.get(g3.id), 32);
  t.true(keep.get(g2.id)! < 16);
  // pw2 alone cannot save a fifth of the MACs (its channels also feed conv3): conv1 gives the rest.
  t.true(keep.get(g2.id) === 1 || keep.get(g1.id) === 8);
});

for (const budgets of ['macs=0.5', 'params=0.4', 'macs=0.5,params=0.45', 'flash=17500', 'ram=3000']) {
  testWhere([noData], `pruneModel meets ${budgets} on Fashion-MNIST`, async (t) => {
    const result = await pruneModel(graph, { budgets: parseBudgets(budgets), data: train, validation, imported, sizer, epochs: 0 });
    const whole = graphCost(graph);
    const after = graphCost(result.graph);
    const size = sizer.size(result.graph);
    for (const budget of parseBudgets(budgets)) {
      const measured = { macs: after.macs / whole.macs, params: after.params / whole.params, flash: size.weightBytes + sizer.codeBytes, ram: size.arenaBytes }[budget.kind];
      t.true(measured <= budget.value, `${budget.kind}: ${measured} over ${budget.value}`);
    }
    for (const outcome of result.budgets) t.true(outcome.after <= outcome.target);
    // Same ops and tensor indices, fewer channels, and the report's layers add up to the cost.
    t.is(result.graph.ops.length, graph.ops.length);
    const layers = layerChanges(graph, result.graph);
    t.is(layers.reduce((n, l) => n + l.macs[1], 0), after.macs);
    t.true(layers.some((l) => l.channels[1] < l.channels[0]));
    t.is(result.evaluation.metric, 'accuracy');
    t.is(result.evaluation.samples, validation.count);
    t.true(result.evaluation.pruned.accuracy > 0.5, `accuracy after pruning ${result.evaluation.pruned.accuracy}`);
    // What the allocation kept is what the graph has.
    for (const [id, count] of result.keep) t.is(result.graph.tensors[groups[id].members[0].tensor].shape.at(-1), count);
  });
}

testWhere([noData], 'without labels, accuracy is agreement with the unpruned model, 100% before pruning', async (t) => {
  const unlabelled = { inputs: train.inputs, count: train.count };
  const result = await pruneModel(graph, { budgets: parseBudgets('macs=0.7'), data: unlabelled, epochs: 0 });
  t.is(result.evaluation.metric, 'agreement');
  t.is(result.evaluation.heldOutFrom, 'data');
  t.is(result.evaluation.samples, 120);
  t.is(result.evaluation.before.accuracy, 1);
  t.is(result.evaluation.before.error, 0);
});

testWhere([noData], 'recovery refits the layers that read pruned channels and distills: the outputs come closer to the unpruned model', async (t) => {
  const phases = new Set<string>();
  const result = await pruneModel(graph, {
    budgets: parseBudgets('macs=0.5'),
    data: train,
    validation,
    epochs: 1,
    onProgress: (phase) => phases.add(phase),
  });
  t.deepEqual([...phases], ['importance', 'sensitivity', 'allocation', 'compensation', 'distillation']);
  t.is(result.recovery.length, 2);
  t.regex(result.recovery[0], /^bias compensation and least-squares refit of \d layer\(s\)/);
  t.regex(result.recovery[1], /^distillation from the unpruned model with the labels: 1 epoch\(s\) over 600 samples/);
  const { pruned, recovered } = result.evaluation;
  t.true(recovered.error < pruned.error / 2, `output error ${pruned.error} -> ${recovered.error}`);
  // Recovery changes weights, never shapes.
  result.graph.tensors.slice(0, graph.tensors.length).forEach((tensor, i) => t.deepEqual(tensor.shape, result.pruned.tensors[i].shape));
});

testWhere([noData], 'with lowRank, the dense layer is factorized first and channel pruning goes the rest of the way', async (t) => {
  const result = await pruneModel(graph, { budgets: parseBudgets('macs=0.5'), data: train, validation, epochs: 0, lowRank: { tolerance: 0.02 } });
  t.true(result.factorized.some((line) => /^logits\/linear: \[10, 512\] as rank \d/.test(line)), result.factorized.join('\n'));
  // Each factorization adds one op.
  t.is(result.graph.ops.length, graph.ops.length + result.factorized.length);
  t.true(graphCost(result.graph).macs <= 0.5 * graphCost(graph).macs);
  t.is(result.budgets[0].before, graphCost(graph).macs);
  // The factor's layer is new: nothing before; the dense layer's output keeps its tensor and its row.
  const layers = layerChanges(graph, result.graph);
  t.true(layers.some((l) => l.kind === 'fully_connected' && l.macs[0] === 0 && l.macs[1] > 0));
  t.true(layers.some((l) => l.name === 'logits/linear' && l.macs[0] === 5120));
  t.true(result.evaluation.pruned.accuracy > 0.5);
});

testWhere([noData], 'a budget holds for the compensated model even when compensation gives a bias-less layer a bias', async (t) => {
  const g = new GraphBuilder();
  const rand = random(5);
  const w = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  const x = g.input([1, 6, 6, 2], 'float32');
  const a = g.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'relu' }, [x, g.constant([8, 3, 3, 2], 'float32', w(144))], [1, 6, 6, 8], 'float32', undefined, true);
  const b = g.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'relu' }, [a, g.constant([8, 1, 1, 8], 'float32', w(64))], [1, 6, 6, 8], 'float32', undefined, true);
  const m = g.op('mean', { axes: [1, 2], keepDims: false }, [b], [1, 8], 'float32', undefined, true);
  const logits = g.op('fully_connected', { activation: 'none', keepNumDims: false }, [m, g.constant([3, 8], 'float32', w(24)), g.constant([3], 'float32', w(3))], [1, 3], 'float32', undefined, true);
  g.op('softmax', { beta: 1 }, [logits], [1, 3], 'float32');
  const small = g.graph('biasless');
  const data = { inputs: [Float32Array.from({ length: 200 * 72 }, () => rand() * 2 - 1)], count: 200 };
  // At half the parameters, the first allocation lands 3 over once the bias is added; the retry fits.
  const result = await pruneModel(small, { budgets: parseBudgets('params=0.5'), data, epochs: 0 });
  const params = graphCost(result.graph).params;
  t.true(params <= 0.5 * graphCost(small).params, `${params} parameters`);
  t.is(result.budgets[0].after, params);
  // The second conv lost input channels and gained a bias: the budget made room for it.
  t.is(result.graph.ops[1].inputs.length, 3);
});

testWhere([noData], 'data that does not fit the model is a data error', async (t) => {
  const wrong = { inputs: [new Float32Array(10 * 100)], count: 10 };
  t.is((await t.throwsAsync(pruneModel(graph, { budgets: parseBudgets('macs=0.5'), data: wrong }), { instanceOf: EdgecError }))?.kind, 'data');
  const badLabels = { ...train, labels: Int32Array.from(train.labels!, () => 12) };
  const error = await t.throwsAsync(pruneModel(graph, { budgets: parseBudgets('macs=0.5'), data: badLabels }), { instanceOf: EdgecError });
  t.regex(error!.message, /label 12 .* not a class of the model's 10 outputs/);
});
