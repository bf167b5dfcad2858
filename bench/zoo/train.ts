// Trains the zoo (bench/zoo/models.ts) briefly on its Fashion-MNIST tasks (bench/zoo/data.ts) with
// tfjs-layers on the wasm backend (its missing gradient kernels bridged to the cpu backend's, see
// wasm-training.ts: about four times faster than the cpu backend alone), seeded, and caches each
// trained model as a TF.js layers model under build/zoo/<name>/ (outside git), with what the
// training took and scored in train.json. A model whose cached recipe matches is loaded, not
// trained again. The same recipe gives the same weights, bit for bit, on the same machine.
//
//   npm run train:zoo [-- --force] [-- <name> ...]
//
// Briefly means realistic weights and activations for quantization (batch norms folded into
// trained layers, sparse ReLU outputs, residual sums), not the benchmark's accuracy: together the
// four take about five and a half minutes of processor time.

import * as tfc from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFloat } from '../../src/float/run.ts';
import { seededRandom, shuffled } from '../../src/float/train.ts';
import { tfjsFileHandler } from '../../src/import/tfjs-io.ts';
import { importTfjs } from '../../src/import/tfjs.ts';
import type { Graph } from '../../src/ir/types.ts';
import { runPasses } from '../../src/passes/index.ts';
import { CLASSES, INPUT_SHAPES, MOBILENET_SIZE, type ZooSamples, loadZooSamples } from './data.ts';
import { type ZooModelName, dsCnn, fcAutoencoder, mobilenetV1, resnet8 } from './models.ts';
import { bridgeMissingWasmKernels } from './wasm-training.ts';

export const ZOO_MODELS: ZooModelName[] = ['resnet8', 'ds-cnn', 'mobilenet-v1-0.25', 'fc-autoencoder'];

/** How one model is trained; a cached model is reused only when its recipe is this one. */
interface Recipe {
  /** Training images, the first ones of the training split (normal ones only for the autoencoder). */
  images: number;
  epochs: number;
  batch: number;
  learningRate: number;
  seed: number;
}

// Sized so that the four train in about six minutes of processor time (processor ms per image,
// forward and backward, measured here: ResNet-8 ~38, DS-CNN ~18, MobileNet at 48x48 ~14,
// autoencoder ~2.5).
const RECIPES: Record<ZooModelName, Recipe> = {
  resnet8: { images: 4000, epochs: 1, batch: 32, learningRate: 0.003, seed: 1 },
  'ds-cnn': { images: 5000, epochs: 1, batch: 32, learningRate: 0.003, seed: 2 },
  'mobilenet-v1-0.25': { images: 5000, epochs: 1, batch: 32, learningRate: 0.003, seed: 3 },
  'fc-autoencoder': { images: 5000, epochs: 4, batch: 32, learningRate: 0.001, seed: 4 },
};

/** Bump when the models, data or training loop change in a way that changes the weights. */
const VERSION = 2;

/** Test images the float model is scored on (the first ones of the test split). */
export const FLOAT_TEST_IMAGES = 2000;

export const ZOO_DIR = process.env.EDGEC_ZOO_DIR ?? fileURLToPath(new URL('../../build/zoo/', import.meta.url));

export function buildZooModel(name: ZooModelName, seed = 1): tfl.LayersModel {
  switch (name) {
    case 'resnet8':
      return resnet8(seed, CLASSES[name]);
    case 'ds-cnn':
      return dsCnn(seed, CLASSES[name]);
    case 'mobilenet-v1-0.25':
      return mobilenetV1(seed, MOBILENET_SIZE, 0.25, CLASSES[name]);
    case 'fc-autoencoder':
      return fcAutoencoder(seed, INPUT_SHAPES[name][0]);
  }
}

export interface FloatScore {
  /** Top-1 accuracy for the classifiers; for the autoencoder, the ROC AUC of its reconstruction error (anomalies against normal images). */
  metric: 'accuracy' | 'auc';
  value: number;
  samples: number;
}

export interface ZooModel {
  name: ZooModelName;
  /** The trained model's model.json. */
  path: string;
  recipe: Recipe;
  /** Wall-clock seconds of training (the machine's other load included). */
  trainSeconds: number;
  /** Processor seconds the training took (user and system), less sensitive to other load. */
  cpuSeconds?: number;
  /** Mean training loss of each epoch. */
  losses: number[];
  float: FloatScore;
  /** True when this call trained it, false when it came from the cache. */
  trained: boolean;
}

interface Cached extends Omit<ZooModel, 'path' | 'trained'> {
  version: number;
}

function oneHot(labels: Uint8Array, indices: ArrayLike<number>, classes: number): tfc.Tensor2D {
  return tfc.tidy(() => tfc.cast(tfc.oneHot(tfc.tensor1d(Int32Array.from(indices, (i) => labels[i]), 'int32'), classes), 'float32') as tfc.Tensor2D);
}

function batchInputs(samples: ZooSamples, shape: number[], indices: ArrayLike<number>): tfc.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) values.set(samples.inputs.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
  return tfc.tensor(values, [indices.length, ...shape], 'float32');
}

/** Trains one model from its recipe; returns the mean loss of each epoch. */
async function fit(name: ZooModelName, model: tfl.LayersModel, samples: ZooSamples, recipe: Recipe, log: (line: string) => void): Promise<number[]> {
  const shape = INPUT_SHAPES[name];
  const classes = CLASSES[name];
  model.compile({ optimizer: tfc.train.adam(recipe.learningRate), loss: classes > 0 ? 'categoricalCrossentropy' : 'meanSquaredError' });
  const order = seededRandom(recipe.seed + 1000);
  const losses: number[] = [];
  for (let epoch = 1; epoch <= recipe.epochs; epoch++) {
    const started = performance.now();
    const permutation = shuffled(samples.count, order);
    let sum = 0;
    let reported = started;
    for (let start = 0; start < samples.count; start += recipe.batch) {
      if (performance.now() - reported > 30_000) {
        reported = performance.now();
        log(`  ${name}: epoch ${epoch}/${recipe.epochs}, ${start}/${samples.count} images, ${((reported - started) / 1000).toFixed(0)} s`);
      }
      const indices = permutation.subarray(start, Math.min(start + recipe.batch, samples.count));
      const x = batchInputs(samples, shape, indices);
      const y = classes > 0 ? oneHot(samples.labels, indices, classes) : x;
      const loss = (await model.trainOnBatch(x, y)) as number;
      tfc.dispose(classes > 0 ? [x, y] : [x]);
      sum += loss * indices.length;
    }
    losses.push(sum / samples.count);
    log(`  ${name}: epoch ${epoch}/${recipe.epochs}, loss ${losses.at(-1)!.toFixed(4)}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  return losses;
}

/** The largest output's index per row of `values` (rows of `width`). */
export function argmaxRows(values: Float32Array, width: number): Int32Array {
  const out = new Int32Array(values.length / width);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (values[r * width + k] > values[r * width + best]) best = k;
    out[r] = best;
  }
  return out;
}

/** Area under the ROC curve of `scores` for telling `positive` samples from the others (ties count half). */
export function rocAuc(scores: Float64Array, positive: Uint8Array): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!positive[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (positive[j]) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return pairs === 0 ? NaN : wins / pairs;
}

/** Mean squared difference between each sample and its reconstruction. */
export function reconstructionErrors(inputs: Float32Array, outputs: Float32Array, size: number): Float64Array {
  const errors = new Float64Array(inputs.length / size);
  for (let s = 0; s < errors.length; s++) {
    let sum = 0;
    for (let i = s * size; i < (s + 1) * size; i++) sum += (inputs[i] - outputs[i]) ** 2;
    errors[s] = sum / size;
  }
  return errors;
}

/** The float graph as edgec sees it: imported and through the graph passes (batch norms folded, activations fused). */
export async function zooGraph(path: string): Promise<Graph> {
  return runPasses(await importTfjs(path));
}

/** The float model's score on the first FLOAT_TEST_IMAGES test images, run by edgec's float executor on its imported graph. */
async function scoreFloat(name: ZooModelName, graph: Graph): Promise<FloatScore> {
  const test = loadZooSamples(name, 'test', 0, FLOAT_TEST_IMAGES);
  const outputs = (await runFloat(graph, [test.inputs])).get(graph.outputs[0])!;
  if (CLASSES[name] === 0) {
    const errors = reconstructionErrors(test.inputs, outputs, INPUT_SHAPES[name][0]);
    return { metric: 'auc', value: rocAuc(errors, test.labels), samples: test.count };
  }
  const predicted = argmaxRows(outputs, CLASSES[name]);
  let correct = 0;
  for (let i = 0; i < test.count; i++) if (predicted[i] === test.labels[i]) correct++;
  return { metric: 'accuracy', value: correct / test.count, samples: test.count };
}

function readCache(name: ZooModelName): ZooModel | undefined {
  const dir = join(ZOO_DIR, name);
  const path = join(dir, 'model.json');
  const meta = join(dir, 'train.json');
  if (!existsSync(path) || !existsSync(meta)) return undefined;
  try {
    const cached = JSON.parse(readFileSync(meta, 'utf8')) as Cached;
    if (cached.version !== VERSION || JSON.stringify(cached.recipe) !== JSON.stringify(RECIPES[name])) return undefined;
    const { version: _version, ...rest } = cached;
    return { ...rest, path, trained: false };
  } catch {
    return undefined;
  }
}

async function trainOne(name: ZooModelName, log: (line: string) => void): Promise<ZooModel> {
  const recipe = RECIPES[name];
  const samples = loadZooSamples(name, 'train', 0, recipe.images, CLASSES[name] === 0);
  // runFloat's module has registered and started the wasm backend.
  const previous = tfc.getBackend();
  await tfc.setBackend('wasm');
  bridgeMissingWasmKernels();
  // tfjs draws each dropout mask's seed from Math.random: a seeded one makes training repeatable.
  const random = Math.random;
  Math.random = seededRandom(recipe.seed + 2000);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let losses: number[];
  const dir = join(ZOO_DIR, name);
  const path = join(dir, 'model.json');
  try {
    const model = buildZooModel(name, recipe.seed);
    log(`training ${name}: ${model.countParams().toLocaleString('en-US')} parameters, ${samples.count} images x ${recipe.epochs} epoch(s)`);
    losses = await fit(name, model, samples, recipe, log);
    await model.save(tfjsFileHandler(path));
    model.dispose();
  } finally {
    Math.random = random;
    if (previous) await tfc.setBackend(previous);
  }
  const trainSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const float = await scoreFloat(name, await zooGraph(path));
  const entry: Cached = { version: VERSION, name, recipe, trainSeconds, cpuSeconds, losses, float };
  writeFileSync(join(dir, 'train.json'), `${JSON.stringify(entry, null, 2)}\n`);
  log(`  ${name}: trained in ${trainSeconds.toFixed(0)} s (${cpuSeconds.toFixed(0)} s of processor time), float ${float.metric} ${(100 * float.value).toFixed(2)}% on ${float.samples} test images`);
  return { name, path, recipe, trainSeconds, cpuSeconds, losses, float, trained: true };
}

export interface ZooOptions {
  /** Default: all four. */
  names?: ZooModelName[];
  /** Train again even when a cached model matches. */
  force?: boolean;
  log?: (line: string) => void;
}

/** The trained zoo: each model from the cache, or trained now (and cached). */
export async function trainZoo(options: ZooOptions = {}): Promise<ZooModel[]> {
  const log = options.log ?? (() => {});
  const models: ZooModel[] = [];
  for (const name of options.names ?? ZOO_MODELS) {
    const cached = options.force ? undefined : readCache(name);
    if (cached) log(`${name}: cached in ${join(ZOO_DIR, name)} (trained in ${cached.trainSeconds.toFixed(0)} s)`);
    models.push(cached ?? (await trainOne(name, log)));
  }
  return models;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const names = args.filter((a) => !a.startsWith('--')) as ZooModelName[];
  const unknown = names.filter((n) => !ZOO_MODELS.includes(n));
  if (unknown.length > 0) {
    console.error(`unknown model(s) ${unknown.join(', ')}; the zoo has ${ZOO_MODELS.join(', ')}`);
    process.exit(2);
  }
  const started = performance.now();
  const zoo = await trainZoo({ names: names.length > 0 ? names : undefined, force: args.includes('--force'), log: (line) => console.log(line) });
  for (const m of zoo) {
    const cpu = m.cpuSeconds === undefined ? '' : ` (${m.cpuSeconds.toFixed(0)} s of processor time)`;
    console.log(`${m.name.padEnd(18)} ${m.float.metric} ${(100 * m.float.value).toFixed(2)}% (${m.float.samples} test images), trained in ${m.trainSeconds.toFixed(0)} s${cpu}`);
  }
  console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
