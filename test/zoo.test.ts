// The quantization bench's model zoo (bench/zoo/): each builder gives the MLPerf Tiny architecture
// it names (layer kinds and counts, parameters and MACs near the published figures) as a graph
// edgec imports; a training step on the zoo's data lowers the loss; the faster broadcast kernels
// compute what tfjs's do. No model is trained to completion here.

import * as tfc from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import test from 'ava';
import { missingFashionMnist, testWhere } from './helpers/tools.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFashionMnist } from '../examples/fashion-mnist/data.ts';
// Registers and starts the wasm backend (and the cpu one).
import '../src/float/backend.ts';
import { tfjsFileHandler } from '../src/import/tfjs-io.ts';
import { opMacs } from '../src/ir/cost.ts';
import { numel } from '../src/ir/dtype.ts';
import type { Graph, OpKind } from '../src/ir/types.ts';
import { verifyGraph } from '../src/ir/verify.ts';
import { CLASSES, INPUT_SHAPES, zooSamples } from '../bench/zoo/data.ts';
import { dsCnn, fcAutoencoder, mobilenetV1, resnet8, type ZooModelName } from '../bench/zoo/models.ts';
import { buildZooModel, rocAuc, zooGraph } from '../bench/zoo/train.ts';
import { useFastBroadcastKernels } from '../bench/zoo/fast-broadcast.ts';
import { bridgeMissingWasmKernels } from '../bench/zoo/wasm-training.ts';

const work = mkdtempSync(join(tmpdir(), 'edgec-zoo-test-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** The model as edgec sees it: saved as a TF.js layers model, imported, batch norms folded. */
async function imported(model: tfl.LayersModel, name: string): Promise<Graph> {
  const path = join(work, name, 'model.json');
  await model.save(tfjsFileHandler(path));
  const graph = await zooGraph(path);
  verifyGraph(graph);
  return graph;
}

const count = (graph: Graph, kind: OpKind) => graph.ops.filter((op) => op.kind === kind).length;
const macs = (graph: Graph) => graph.ops.reduce((sum, op) => sum + opMacs(graph, op), 0);
/** Weights and biases of the folded graph (batch norms' four vectors per layer are gone). */
const params = (graph: Graph) => graph.ops.reduce((sum, op) => sum + op.inputs.filter((t) => graph.tensors[t].data).reduce((s, t) => s + numel(graph.tensors[t].shape), 0), 0);
const near = (value: number, target: number, tolerance: number) => Math.abs(value - target) <= tolerance * target;

test('ResNet-8: three residual ADDs, 9 convolutions, about 78K parameters and 12.5M MACs', async (t) => {
  const model = resnet8(1);
  t.is(model.countParams(), 78_666);
  const graph = await imported(model, 'resnet8');
  t.deepEqual(graph.tensors[graph.inputs[0]].shape, [1, 32, 32, 3]);
  t.is(count(graph, 'add'), 3);
  t.is(count(graph, 'conv2d'), 9); // stem, two per stage, two 1x1 shortcuts
  t.is(count(graph, 'fully_connected'), 1);
  // Batch norms fold away; the ReLUs fuse into the convolutions and ADDs.
  t.false(graph.ops.some((op) => op.kind === 'mul' || op.kind === 'relu'));
  t.true(near(params(graph), 78_000, 0.02), `${params(graph)} parameters`);
  t.true(near(macs(graph), 12_500_000, 0.02), `${macs(graph)} MACs`);
});

test('DS-CNN: one conv, four depthwise-separable blocks of 64 channels, about 24K parameters and 2.7M MACs at 49x10', async (t) => {
  const graph = await imported(dsCnn(1, 12), 'ds-cnn');
  t.deepEqual(graph.tensors[graph.inputs[0]].shape, [1, 49, 10, 1]);
  t.is(count(graph, 'depthwise_conv2d'), 4);
  t.is(count(graph, 'conv2d'), 5);
  t.true(graph.ops.filter((op) => op.kind === 'conv2d').every((op) => graph.tensors[op.outputs[0]].shape[3] === 64));
  t.true(near(params(graph), 23_000, 0.05), `${params(graph)} parameters`);
  t.true(near(macs(graph), 2_700_000, 0.03), `${macs(graph)} MACs`);
});

test('MobileNetV1 0.25: 13 depthwise-separable blocks, about 210K parameters and 7.5M MACs at 96x96', async (t) => {
  const graph = await imported(mobilenetV1(1, 96), 'mobilenet');
  t.deepEqual(graph.tensors[graph.inputs[0]].shape, [1, 96, 96, 3]);
  t.is(count(graph, 'depthwise_conv2d'), 13);
  t.is(count(graph, 'conv2d'), 14);
  t.is(graph.tensors[graph.ops.filter((op) => op.kind === 'conv2d').at(-1)!.outputs[0]].shape[3], 256);
  t.true(near(params(graph), 210_000, 0.03), `${params(graph)} parameters`);
  t.true(near(macs(graph), 7_500_000, 0.03), `${macs(graph)} MACs`);
});

test('FC autoencoder: 640 -> 4 x 128 -> 8 -> 4 x 128 -> 640, about 270K parameters', async (t) => {
  const model = fcAutoencoder(1);
  t.true(near(model.countParams(), 270_000, 0.01), `${model.countParams()} parameters with batch norm`);
  const graph = await imported(model, 'fc-autoencoder');
  const widths = graph.ops.filter((op) => op.kind === 'fully_connected').map((op) => graph.tensors[op.outputs[0]].shape.at(-1));
  t.deepEqual(widths, [128, 128, 128, 128, 8, 128, 128, 128, 128, 640]);
  t.true(near(params(graph), 266_000, 0.01), `${params(graph)} parameters`);
});

testWhere([missingFashionMnist()], "the zoo's samples have each model's input shape and labels", (t) => {
  const set = loadFashionMnist('train', { limit: 20 });
  for (const name of ['resnet8', 'ds-cnn', 'mobilenet-v1-0.25', 'fc-autoencoder'] as ZooModelName[]) {
    const samples = zooSamples(name, set, 0);
    t.is(samples.inputs.length, 20 * numel(INPUT_SHAPES[name]), name);
    const classes = CLASSES[name] || 2;
    t.true(samples.labels.every((l) => l < classes), name);
    t.true(samples.inputs.every((v) => v >= 0 && v <= 1), name);
  }
});

// Serial tests run first, in order: the stock kernels are measured before any test installs the fast ones.
test.serial('the broadcast kernels compute what the stock ones do', async (t) => {
  await tfc.setBackend('cpu');
  const a = tfc.randomUniform([2, 3, 4, 5], -2, 2, 'float32', 7);
  const others = [tfc.randomUniform([5], 0.5, 2, 'float32', 8), tfc.randomUniform([1, 3, 1, 5], 0.5, 2, 'float32', 9), tfc.randomUniform([2, 3, 4, 5], 0.5, 2, 'float32', 10)];
  const ops = [tfc.add, tfc.sub, tfc.mul, tfc.div, tfc.squaredDifference];
  const stock = others.flatMap((b) => ops.map((op) => op(a, b).dataSync()));
  const stockTile = tfc.tile(a, [1, 2, 1, 3]).dataSync();
  const stockMean = tfc.mean(a, [0, 1, 2]).dataSync();
  useFastBroadcastKernels();
  const fast = others.flatMap((b) => ops.map((op) => op(a, b).dataSync()));
  t.deepEqual(fast, stock);
  t.deepEqual(tfc.tile(a, [1, 2, 1, 3]).dataSync(), stockTile);
  const mean = tfc.mean(a, [0, 1, 2]).dataSync();
  mean.forEach((m, i) => t.true(Math.abs(m - stockMean[i]) < 1e-6));
});

testWhere([missingFashionMnist()], 'a training step on the wasm backend, as the zoo trains, lowers the loss of every model', async (t) => {
  await tfc.setBackend('wasm');
  t.true(bridgeMissingWasmKernels().includes('Conv2DBackpropFilter'));
  const set = loadFashionMnist('train', { limit: 8 });
  try {
    for (const name of ['resnet8', 'ds-cnn', 'mobilenet-v1-0.25', 'fc-autoencoder'] as ZooModelName[]) {
      const model = buildZooModel(name, 1);
      const samples = zooSamples(name, set, 0);
      const classes = CLASSES[name];
      model.compile({ optimizer: tfc.train.adam(0.003), loss: classes > 0 ? 'categoricalCrossentropy' : 'meanSquaredError' });
      const x = tfc.tensor(samples.inputs, [samples.count, ...INPUT_SHAPES[name]]);
      const y = classes > 0 ? tfc.cast(tfc.oneHot(tfc.tensor1d(Int32Array.from(samples.labels), 'int32'), classes), 'float32') : x;
      // trainOnBatch reports the loss before its update.
      const before = (await model.trainOnBatch(x, y)) as number;
      const after = (await model.trainOnBatch(x, y)) as number;
      t.true(after < before, `${name}: loss ${before} then ${after}`);
      tfc.dispose([x, y]);
      model.dispose();
    }
  } finally {
    await tfc.setBackend('cpu');
  }
}, { serial: true });

test.serial('gradients through the bridged kernels on wasm are the cpu backend\'s', async (t) => {
  const x = tfc.randomUniform([2, 9, 9, 4], -1, 1, 'float32', 3);
  const w = tfc.randomUniform([3, 3, 4, 6], -1, 1, 'float32', 4);
  const dw = tfc.randomUniform([3, 3, 4, 1], -1, 1, 'float32', 5);
  const loss = (x: tfc.Tensor4D, w: tfc.Tensor4D, dw: tfc.Tensor4D) =>
    tfc.add(tfc.sum(tfc.square(tfc.conv2d(x, w, 2, 'same'))), tfc.sum(tfc.square(tfc.avgPool(tfc.depthwiseConv2d(x, dw, 1, 'same'), 2, 2, 'valid'))));
  const grads = () => tfc.grads(loss as (...args: tfc.Tensor[]) => tfc.Tensor)([x, w, dw]).map((g) => g.dataSync());
  await tfc.setBackend('cpu');
  const onCpu = grads();
  await tfc.setBackend('wasm');
  bridgeMissingWasmKernels();
  const onWasm = grads();
  await tfc.setBackend('cpu');
  onCpu.forEach((g, k) => g.forEach((v, i) => t.true(Math.abs(v - onWasm[k][i]) <= 1e-4 * Math.max(1, Math.abs(v)), `gradient ${k}[${i}]: ${v} and ${onWasm[k][i]}`)));
});

test('ROC AUC counts pairs ranked right, ties as half', (t) => {
  t.is(rocAuc(Float64Array.from([0.9, 0.8, 0.1, 0.2]), Uint8Array.from([1, 1, 0, 0])), 1);
  t.is(rocAuc(Float64Array.from([0.1, 0.5, 0.5]), Uint8Array.from([1, 1, 0])), 0.25);
});
