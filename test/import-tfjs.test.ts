import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import test, { type ExecutionContext } from 'ava';
import { runFloat } from '../src/float/run.ts';
import { numel } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph } from '../src/ir/types.ts';
import { loadModel } from '../src/import/index.ts';
import { tfjsFileHandler } from '../src/import/tfjs-io.ts';
import { runPasses } from '../src/passes/index.ts';
import { assertClose, randomFloats, referenceOutputs } from './fixtures/tfjs/support.ts';

const workDir = mkdtempSync(join(tmpdir(), 'edgec-tfjs-'));
test.after.always(() => rmSync(workDir, { recursive: true, force: true }));
const graphModel = fileURLToPath(new URL('fixtures/tfjs/graph-model/model.json', import.meta.url));

let seed = 1;
const kernel = () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: seed++ }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed++ }) });
const uniform = (minval: number, maxval: number) => tfl.initializers.randomUniform({ minval, maxval, seed: seed++ });
const batchNorm = () =>
  tfl.layers.batchNormalization({
    gammaInitializer: uniform(0.5, 1.5),
    betaInitializer: uniform(-0.5, 0.5),
    movingMeanInitializer: uniform(-0.5, 0.5),
    movingVarianceInitializer: uniform(0.5, 1.5),
  });

async function save(model: tfl.LayersModel, name: string): Promise<string> {
  const path = join(workDir, name, 'model.json');
  await model.save(tfjsFileHandler(path));
  return path;
}

const SAMPLES = 3;
const TOLERANCE = 1e-4;

/** edgec's float executor and host reference, before and after the passes, against tfjs's own predict. */
async function matchesPredict(t: ExecutionContext, graph: Graph, predict: (x: tf.Tensor) => tf.Tensor | tf.Tensor[]): Promise<void> {
  const shape = graph.tensors[graph.inputs[0]].shape;
  const x = randomFloats(SAMPLES * numel(shape), seed++, 2);
  const expected = [predict(tf.tensor(x, [SAMPLES, ...shape.slice(1)]))].flat().map((y) => y.dataSync() as Float32Array);
  const passed = runPasses(graph);
  for (const [what, g] of [['imported', graph], ['after passes', passed]] as const) {
    const float = await runFloat(g, [x]);
    const reference = referenceOutputs(g, [x], SAMPLES);
    g.outputs.forEach((o, k) => {
      assertClose(t, float.get(o)!, expected[k], TOLERANCE, `${what}, float executor, output ${k}`);
      assertClose(t, reference[k], expected[k], TOLERANCE, `${what}, host reference, output ${k}`);
    });
  }
}

test('a Sequential CNN with every spatial layer matches model.predict', async (t) => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [10, 10, 3], filters: 4, kernelSize: 3, padding: 'same', ...kernel() }),
      batchNorm(),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'valid', activation: 'relu6', depthwiseInitializer: uniform(-0.5, 0.5), biasInitializer: uniform(-0.5, 0.5) }),
      tfl.layers.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'sigmoid', depthwiseInitializer: uniform(-0.5, 0.5), pointwiseInitializer: uniform(-0.5, 0.5), biasInitializer: uniform(-0.5, 0.5) }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tfl.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }),
      tfl.layers.conv2d({ filters: 5, kernelSize: 2, dilationRate: 2, padding: 'same', activation: 'tanh', useBias: false, ...kernel() }),
      tfl.layers.activation({ activation: 'relu6' }),
      tfl.layers.dropout({ rate: 0.5 }),
      tfl.layers.gaussianNoise({ stddev: 0.1 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 8, activation: 'relu', ...kernel() }),
      batchNorm(),
      tfl.layers.dense({ units: 4, activation: 'softmax', ...kernel() }),
    ],
  });
  const graph = await loadModel(await save(model, 'cnn'));
  t.is(graph.name, 'cnn');
  t.deepEqual(graph.tensors[graph.inputs[0]].shape, [1, 10, 10, 3]);
  await matchesPredict(t, graph, (x) => model.predict(x));
  const passed = runPasses(graph);
  const [first, second] = passed.ops;
  t.deepEqual([first.kind, 'activation' in first.attrs && first.attrs.activation, second.kind], ['conv2d', 'relu', 'depthwise_conv2d'], 'conv, batch norm and relu are one conv');
  t.is(passed.ops.filter((op) => op.kind === 'reshape').length, 1, 'dropout and noise are gone, the flatten stays');
  // A batch norm after an activation cannot fold: the dense layer's stays a mul and an add.
  t.is(passed.ops.filter((op) => op.kind === 'mul').length, 1);
});

test('a Sequential model with an InputLayer, global pooling, reshape and activation layers (ELU among them) matches model.predict', async (t) => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.inputLayer({ inputShape: [6, 6, 2] }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', ...kernel() }),
      tfl.layers.reLU({ maxValue: 6 }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'elu', ...kernel() }),
      tfl.layers.elu(),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.reshape({ targetShape: [3, 1] }),
      tfl.layers.dense({ units: 2, activation: 'tanh', ...kernel() }),
      tfl.layers.leakyReLU({ alpha: 0.1 }),
      tfl.layers.flatten(),
      tfl.layers.activation({ activation: 'sigmoid' }),
      tfl.layers.activation({ activation: 'tanh' }),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.softmax(),
    ],
  });
  const graph = await loadModel(await save(model, 'small'));
  t.deepEqual(graph.tensors[graph.outputs[0]].shape, [1, 6]);
  await matchesPredict(t, graph, (x) => model.predict(x));
});

test('a functional model with Add, Concatenate, a shared layer and two outputs matches model.predict', async (t) => {
  const input = tfl.input({ shape: [6, 6, 3] });
  const a = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', ...kernel() }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'relu', ...kernel() }).apply(input) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
  const joined = tfl.layers.concatenate().apply([sum, input, b]) as tfl.SymbolicTensor;
  const normed = tfl.layers.activation({ activation: 'relu' }).apply(batchNorm().apply(joined)) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(normed) as tfl.SymbolicTensor;
  const shared = tfl.layers.dense({ units: 5, ...kernel() });
  const first = shared.apply(pooled) as tfl.SymbolicTensor;
  const second = shared.apply(tfl.layers.dense({ units: 11, ...kernel() }).apply(first) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: [tfl.layers.activation({ activation: 'softmax' }).apply(second) as tfl.SymbolicTensor, first] });
  const graph = await loadModel(await save(model, 'functional'));
  t.is(graph.outputs.length, 2);
  await matchesPredict(t, graph, (x) => model.predict(x));
});

/** tfjs's LSTM with the gate activation TFLite runs; the orthogonal default initializer needs tfjs's chained ops. */
const lstm = (units: number, returnSequences: boolean, useBias = true) =>
  tfl.layers.lstm({ units, returnSequences, useBias, recurrentActivation: 'sigmoid', kernelInitializer: uniform(-0.6, 0.6), recurrentInitializer: uniform(-0.6, 0.6), biasInitializer: uniform(-0.5, 0.5) });

test('a Sequential Conv1D + LSTM model with 1-D pooling and TimeDistributed(Dense) matches model.predict', async (t) => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv1d({ inputShape: [16, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', ...kernel() }),
      tfl.layers.conv1d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', ...kernel() }),
      tfl.layers.maxPooling1d({ poolSize: 2 }),
      tfl.layers.averagePooling1d({ poolSize: 3, strides: 1, padding: 'same' }),
      tfl.layers.conv1d({ filters: 4, kernelSize: 2, strides: 2, padding: 'valid', activation: 'tanh', useBias: false, ...kernel() }),
      lstm(7, true),
      tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: 5, activation: 'relu', ...kernel() }) }),
      lstm(6, false, false),
      tfl.layers.dense({ units: 4, activation: 'softmax', ...kernel() }),
    ],
  });
  const graph = await loadModel(await save(model, 'conv1d-lstm'));
  t.deepEqual(graph.tensors[graph.inputs[0]].shape, [1, 16, 3]);
  t.deepEqual(
    graph.ops.filter((op) => op.kind === 'unidirectional_sequence_lstm').map((op) => graph.tensors[op.outputs[0]].shape),
    [[1, 4, 7], [1, 4, 6]],
    'one LSTM op per layer over the whole sequence',
  );
  t.is(graph.ops.at(-2)?.kind, 'fully_connected');
  t.true(graph.ops.some((op) => op.kind === 'strided_slice'), 'the last step of the sequence-to-one LSTM is sliced out');
  await matchesPredict(t, graph, (x) => model.predict(x));
});

test('a causal Conv1D (which tfjs cannot run) computes the valid convolution of the sequence padded in front', async (t) => {
  const layer = (padding: 'causal' | 'valid') => tfl.layers.conv1d({ inputShape: [9, 2], filters: 3, kernelSize: 3, dilationRate: 2, padding, ...kernel() });
  const causal = tfl.sequential({ layers: [layer('causal')] });
  const valid = tfl.sequential({ layers: [tfl.layers.conv1d({ inputShape: [13, 2], filters: 3, kernelSize: 3, dilationRate: 2 })] });
  valid.setWeights(causal.getWeights());
  const graph = await loadModel(await save(causal, 'causal'));
  t.deepEqual(graph.tensors[graph.outputs[0]].shape, [1, 9, 3]);
  await matchesPredict(t, graph, (x) => valid.predict(tf.pad(x, [[0, 0], [4, 0], [0, 0]])));
});

test('global 1-D and 2-D pooling layers match model.predict', async (t) => {
  const sequence = tfl.input({ shape: [10, 3] });
  const features = tfl.layers.conv1d({ filters: 4, kernelSize: 3, ...kernel() }).apply(sequence) as tfl.SymbolicTensor;
  const pooled = [tfl.layers.globalMaxPooling1d({}), tfl.layers.globalAveragePooling1d({})].map((l) => l.apply(features) as tfl.SymbolicTensor);
  const image = tfl.layers.reshape({ targetShape: [2, 4, 4] }).apply(tfl.layers.conv1d({ filters: 4, kernelSize: 3, ...kernel() }).apply(sequence)) as tfl.SymbolicTensor;
  pooled.push(tfl.layers.globalMaxPooling2d({}).apply(image) as tfl.SymbolicTensor);
  const model = tfl.model({ inputs: sequence, outputs: tfl.layers.concatenate().apply(pooled) as tfl.SymbolicTensor });
  const graph = await loadModel(await save(model, 'global-pools'));
  t.deepEqual(graph.ops.filter((op) => op.kind === 'mean' || op.kind === 'reduce_max').map((op) => [op.kind, 'axes' in op.attrs && op.attrs.axes]), [
    ['reduce_max', [1]],
    ['mean', [1]],
    ['reduce_max', [1, 2]],
  ]);
  await matchesPredict(t, graph, (x) => model.predict(x));
});

test('UpSampling2D, Cropping2D, ZeroPadding2D, Permute and RepeatVector match model.predict', async (t) => {
  const image = tfl.input({ shape: [5, 6, 2] });
  let x = tfl.layers.upSampling2d({ size: [2, 3] }).apply(image) as tfl.SymbolicTensor;
  x = tfl.layers.cropping2D({ cropping: [[1, 2], [3, 0]] }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.zeroPadding2d({ padding: [1, 2] }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, ...kernel() }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.permute({ dims: [3, 1, 2] }).apply(x) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
  const code = tfl.layers.dense({ units: 4, ...kernel() }).apply(flat) as tfl.SymbolicTensor;
  const repeated = tfl.layers.repeatVector({ n: 3 }).apply(code) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: image, outputs: [x, lstm(5, true).apply(repeated) as tfl.SymbolicTensor] });
  const graph = await loadModel(await save(model, 'moves'));
  t.deepEqual(
    graph.ops.map((op) => op.kind).filter((k) => ['resize_nearest', 'strided_slice', 'pad', 'transpose', 'gather'].includes(k)),
    ['resize_nearest', 'strided_slice', 'pad', 'transpose', 'gather'],
  );
  await matchesPredict(t, graph, (input) => model.predict(input));
});

test('Conv2DTranspose (same and valid, strides 1 to 3) and bilinear UpSampling2D match model.predict', async (t) => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2dTranspose({ inputShape: [3, 4, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', ...kernel() }),
      tfl.layers.conv2dTranspose({ filters: 2, kernelSize: [2, 3], strides: [1, 3], padding: 'valid', ...kernel() }),
      tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 1, strides: 2, padding: 'valid', useBias: false, ...kernel() }),
      tfl.layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear' }),
    ],
  });
  const graph = await loadModel(await save(model, 'decoder'));
  t.deepEqual(graph.ops.map((op) => op.kind).filter((k) => k !== 'relu'), ['transpose_conv2d', 'transpose_conv2d', 'transpose_conv2d', 'resize_bilinear']);
  t.deepEqual(graph.tensors[graph.outputs[0]].shape, [1, 28, 144, 2]);
  await matchesPredict(t, graph, (x) => model.predict(x));
});

test('GRU and SimpleRNN, unrolled into fully-connected, element-wise and activation ops, match model.predict', async (t) => {
  const recurrent = { kernelInitializer: uniform(-0.6, 0.6), recurrentInitializer: uniform(-0.6, 0.6), biasInitializer: uniform(-0.5, 0.5) };
  const model = tfl.sequential({
    layers: [
      tfl.layers.gru({ inputShape: [6, 3], units: 5, returnSequences: true, recurrentActivation: 'sigmoid', ...recurrent }),
      tfl.layers.simpleRNN({ units: 4, returnSequences: true, activation: 'relu', ...recurrent }),
      tfl.layers.gru({ units: 3, recurrentActivation: 'sigmoid', useBias: false, ...recurrent }),
      tfl.layers.repeatVector({ n: 2 }),
      tfl.layers.simpleRNN({ units: 2, ...recurrent }),
    ],
  });
  const graph = await loadModel(await save(model, 'gru-rnn'));
  const kinds = new Set(graph.ops.map((op) => op.kind));
  t.false(kinds.has('unidirectional_sequence_lstm'));
  t.true(['fully_connected', 'strided_slice', 'add', 'sub', 'mul', 'logistic', 'tanh', 'relu', 'pack'].every((k) => kinds.has(k as never)), [...kinds].join());
  await matchesPredict(t, graph, (x) => model.predict(x));
});

test('Bidirectional LSTM, GRU and SimpleRNN (every merge mode) and go_backwards layers match model.predict', async (t) => {
  const recurrent = { recurrentActivation: 'sigmoid', kernelInitializer: uniform(-0.6, 0.6), recurrentInitializer: uniform(-0.6, 0.6), biasInitializer: uniform(-0.5, 0.5) } as const;
  const both = (layer: tfl.layers.Layer, mergeMode: 'concat' | 'sum' | 'mul' | 'ave') => tfl.layers.bidirectional({ layer: layer as never, mergeMode });
  const model = tfl.sequential({
    layers: [
      tfl.layers.inputLayer({ inputShape: [6, 3] }),
      both(tfl.layers.lstm({ units: 4, returnSequences: true, ...recurrent }), 'concat'),
      tfl.layers.lstm({ units: 5, returnSequences: true, goBackwards: true, ...recurrent }),
      both(tfl.layers.gru({ units: 3, returnSequences: true, ...recurrent }), 'ave'),
      both(tfl.layers.simpleRNN({ units: 3, returnSequences: true, kernelInitializer: uniform(-0.6, 0.6), recurrentInitializer: uniform(-0.6, 0.6) }), 'mul'),
      tfl.layers.simpleRNN({ units: 4, returnSequences: true, goBackwards: true, kernelInitializer: uniform(-0.6, 0.6), recurrentInitializer: uniform(-0.6, 0.6) }),
      both(tfl.layers.lstm({ units: 2, ...recurrent }), 'sum'),
    ],
  });
  const graph = await loadModel(await save(model, 'bidirectional'));
  t.is(graph.ops.filter((op) => op.kind === 'unidirectional_sequence_lstm').length, 5, 'two per Bidirectional LSTM, one for the backward LSTM');
  t.deepEqual(graph.tensors[graph.outputs[0]].shape, [1, 2]);
  await matchesPredict(t, graph, (x) => model.predict(x));
});

test("recurrent weights under Keras's cell scope ('lstm/lstm_cell/kernel:0') are found", async (t) => {
  const recurrent = { recurrentActivation: 'sigmoid', kernelInitializer: uniform(-0.6, 0.6), recurrentInitializer: uniform(-0.6, 0.6), biasInitializer: uniform(-0.5, 0.5) } as const;
  const model = tfl.sequential({
    layers: [
      tfl.layers.bidirectional({ inputShape: [4, 2], layer: tfl.layers.lstm({ units: 3, returnSequences: true, ...recurrent }) as never }),
      tfl.layers.lstm({ units: 2, ...recurrent }),
    ],
  });
  const path = await save(model, 'keras-scopes');
  const json = JSON.parse(readFileSync(path, 'utf8'));
  for (const w of json.weightsManifest[0].weights as { name: string }[]) w.name = w.name.replace(/\/(kernel|recurrent_kernel|bias)$/, '/lstm_cell/$1:0');
  t.true(json.weightsManifest[0].weights.every((w: { name: string }) => w.name.includes('/lstm_cell/')));
  writeFileSync(path, JSON.stringify(json));
  const graph = await loadModel(path);
  await matchesPredict(t, graph, (x) => model.predict(x));
});

/** Keras's reset_after GRU step by step in float64, from zero state: the last hidden state of each sample. */
function resetAfterGru(x: Float32Array, samples: number, steps: number, features: number, kernel: Float32Array, recurrent: Float32Array, bias: Float32Array, units: number): Float32Array {
  const out = new Float32Array(samples * units);
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  for (let s = 0; s < samples; s++) {
    let h = new Float64Array(units);
    for (let t = 0; t < steps; t++) {
      const at = (s * steps + t) * features;
      // Column j of [z | r | c]: input part with the input bias, recurrent part with the recurrent bias.
      const xs = (j: number) => bias[j] + Array.from({ length: features }, (_, i) => x[at + i] * kernel[i * 3 * units + j]).reduce((a, b) => a + b, 0);
      const hs = (j: number) => bias[3 * units + j] + Array.from({ length: units }, (_, i) => h[i] * recurrent[i * 3 * units + j]).reduce((a, b) => a + b, 0);
      h = Float64Array.from({ length: units }, (_, u) => {
        const z = sigmoid(xs(u) + hs(u));
        const r = sigmoid(xs(units + u) + hs(units + u));
        const c = Math.tanh(xs(2 * units + u) + r * hs(2 * units + u));
        return z * h[u] + (1 - z) * c;
      });
    }
    out.set(h, s * units);
  }
  return out;
}

test("a reset_after GRU (Keras's default, which tfjs cannot build) matches the GRU equations", async (t) => {
  const [steps, features, units] = [5, 3, 4];
  const model = tfl.sequential({ layers: [tfl.layers.gru({ inputShape: [steps, features], units, recurrentActivation: 'sigmoid', kernelInitializer: uniform(-0.6, 0.6), recurrentInitializer: uniform(-0.6, 0.6) })] });
  const path = await save(model, 'gru-reset-after');
  const json = JSON.parse(readFileSync(path, 'utf8'));
  json.modelTopology.config.layers[0].config.reset_after = true;
  const entries = json.weightsManifest[0].weights as { name: string; shape: number[] }[];
  entries[2].shape = [2, 3 * units];
  const [kernel, recurrent] = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const bias = randomFloats(2 * 3 * units, seed++, 0.5);
  writeFileSync(path, JSON.stringify(json));
  writeFileSync(join(path, '../model.weights.bin'), Buffer.concat([kernel, recurrent, bias].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
  const graph = await loadModel(path);
  const x = randomFloats(SAMPLES * steps * features, seed++, 2);
  const expected = resetAfterGru(x, SAMPLES, steps, features, kernel, recurrent, bias, units);
  assertClose(t, (await runFloat(graph, [x])).get(graph.outputs[0])!, expected, TOLERANCE, 'float executor');
  assertClose(t, referenceOutputs(graph, [x], SAMPLES)[0], expected, TOLERANCE, 'host reference');
});

test('LSTM options TFLite Micro cannot run are reported naming the layer', async (t) => {
  const input = tfl.input({ shape: [5, 2] });
  const layers = [
    tfl.layers.lstm({ units: 3, recurrentInitializer: 'glorotUniform' }),
    tfl.layers.simpleRNN({ units: 3, activation: 'selu', recurrentInitializer: 'glorotUniform' }),
    tfl.layers.lstm({ units: 3, recurrentActivation: 'sigmoid', activation: 'relu', recurrentInitializer: 'glorotUniform' }),
    tfl.layers.timeDistributed({ layer: tfl.layers.conv1d({ filters: 2, kernelSize: 1 }) }),
    tfl.layers.gru({ units: 3, recurrentInitializer: 'glorotUniform' }),
  ];
  const outputs = layers.map((l, i) => l.apply(i === 3 ? tfl.layers.reshape({ targetShape: [5, 2, 1] }).apply(input) : input) as tfl.SymbolicTensor);
  const path = await save(tfl.model({ inputs: input, outputs }), 'bad-lstm');
  const error = await t.throwsAsync(loadModel(path), { instanceOf: EdgecError });
  const [hard, selu, relu, wrapped, gru] = layers.map((l) => l.name);
  t.deepEqual(error?.details.length, 5, error?.details.join('\n'));
  t.regex(error?.details[1] ?? '', new RegExp(`layer '${hard}' \\(LSTM\\): recurrent_activation 'hard_sigmoid' is not supported`));
  // Problems a layer's configuration shows on its own come first.
  t.regex(error?.details[0] ?? '', new RegExp(`layer '${selu}' \\(SimpleRNN\\): activation "selu" is not supported`));
  t.regex(error?.details[2] ?? '', new RegExp(`layer '${relu}' \\(LSTM\\): activation 'relu' is not supported`));
  t.regex(error?.details[4] ?? '', new RegExp(`layer '${gru}' \\(GRU\\): recurrent_activation 'hard_sigmoid' is not supported`));
  t.regex(error?.details[3] ?? '', new RegExp(`layer '${wrapped}' \\(TimeDistributed\\): only TimeDistributed\\(Dense\\) is supported, got TimeDistributed\\(Conv1D\\)`));
});

test('a hand-written graph model matches tfjs-converter executing it', async (t) => {
  const model = await loadGraphModel(tfjsFileHandler(graphModel));
  const graph = await loadModel(graphModel);
  t.is(graph.name, 'graph-model');
  t.deepEqual(graph.tensors[graph.inputs[0]].shape, [1, 8, 8, 3]);
  t.deepEqual(graph.tensors[graph.outputs[0]].name, 'Identity');
  await matchesPredict(t, graph, (x) => model.predict(x) as tf.Tensor);
});

test('layers edgec cannot import are all reported in one error naming each layer', async (t) => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [3, 8, 8], filters: 4, kernelSize: 3, dataFormat: 'channelsFirst' }),
      tfl.layers.layerNormalization(),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2, activation: 'selu' }),
    ],
  });
  const path = await save(model, 'unsupported');
  const error = await t.throwsAsync(loadModel(path), { instanceOf: EdgecError });
  t.is(error?.kind, 'model');
  t.true(error?.message.startsWith(`${path}: cannot import the model`));
  t.is(error?.details.length, 3, error?.details.join('\n'));
  const [conv, norm, , dense] = model.layers.map((l) => l.name);
  t.regex(error?.details[0] ?? '', new RegExp(`layer '${conv}' \\(Conv2D\\): data_format 'channels_first' is not supported`));
  t.regex(error?.details[1] ?? '', new RegExp(`layer '${norm}' \\(LayerNormalization\\): LayerNormalization layers are not supported`));
  t.regex(error?.details[2] ?? '', new RegExp(`layer '${dense}' \\(Dense\\): activation "selu" is not supported`));
});

test('graph model nodes edgec cannot map are all reported by name and op', async (t) => {
  const json = JSON.parse(readFileSync(graphModel, 'utf8'));
  const nodes: { name: string; op: string; attr: Record<string, unknown> }[] = json.modelTopology.node;
  const byName = (name: string) => nodes.find((n) => n.name === name)!;
  byName('relu').op = 'Selu';
  byName('fc1/tanh').op = 'Cumsum';
  byName('max_pool').attr.data_format = { s: Buffer.from('NCHW').toString('base64') };
  const dir = join(workDir, 'bad-graph');
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  copyFileSync(join(graphModel, '../weights.bin'), join(dir, 'weights.bin'));
  const error = await t.throwsAsync(loadModel(join(dir, 'model.json')), { instanceOf: EdgecError });
  t.deepEqual(error?.details, [
    "node 'max_pool' (MaxPool): data_format NCHW is not supported; edgec needs NHWC (channels-last) models",
    "node 'relu' (Selu): op Selu is not supported",
    "node 'fc1/tanh' (Cumsum): op Cumsum is not supported",
  ]);
});

test('missing files name the file', async (t) => {
  const missing = await t.throwsAsync(loadModel(join(workDir, 'none', 'model.json')), { instanceOf: EdgecError });
  t.regex(missing?.message ?? '', /none.model\.json: cannot read the TF\.js model \(ENOENT\)/);
  const path = await save(tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 })] }), 'no-shard');
  rmSync(join(path, '../model.weights.bin'));
  const shard = await t.throwsAsync(loadModel(path), { instanceOf: EdgecError });
  t.regex(shard?.message ?? '', /cannot read the weight shard 'model\.weights\.bin'/);
});

test('the saved files are the TF.js format: model.json with a weights manifest, and one shard', async (t) => {
  const path = await save(tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2, ...kernel() })] }), 'format');
  const json = JSON.parse(readFileSync(path, 'utf8'));
  t.is(json.format, 'layers-model');
  t.is(json.modelTopology.class_name, 'Sequential');
  t.deepEqual(json.weightsManifest[0].paths, ['model.weights.bin']);
  t.deepEqual(
    json.weightsManifest[0].weights.map((w: { shape: number[] }) => w.shape),
    [[3, 2], [2]],
  );
  t.is(readFileSync(join(path, '../model.weights.bin')).length, (6 + 2) * 4);
});
