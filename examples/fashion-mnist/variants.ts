// The Fashion-MNIST model four ways: float, int8, pruned float and pruned int8, each built for the
// board and measured the same way (weights, flash, arena, MACs, instructions in QEMU), with its
// accuracy over the 10,000 test images. `npm run variants` prints the table; the bench adds it.

import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  layerChanges,
  measureVariant,
  parseBudgets,
  pruneModel,
  quantizeModel,
  runFloat,
  runOnTarget,
  variantTable,
  type Graph,
  type PruneResult,
  type TensorData,
  type Variant,
} from '../../src/index.ts';
import { loadFashionMnist } from './data.ts';
import { int8Samples, quantizedExample } from './evaluate.ts';

const CLASSES = 10;

export interface VariantOptions {
  workDir: string;
  board?: string;
  /** Training images pruning ranks channels on and recovers with (a fifth of them held out). */
  pruneImages?: number;
  /** `edgec prune`'s budget syntax. */
  budget?: string;
  /** Distillation epochs over the pruning images. */
  epochs?: number;
  /** Test images each variant runs in QEMU for its instruction count. */
  boardImages?: number;
  log?: (line: string) => void;
}

function argmaxAccuracy(scores: ArrayLike<number>, labels: Uint8Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < CLASSES; k++) if (scores[i * CLASSES + k] > scores[i * CLASSES + best]) best = k;
    if (best === labels[i]) right++;
  }
  return right / labels.length;
}

async function floatAccuracy(graph: Graph, images: Float32Array, labels: Uint8Array): Promise<number> {
  return argmaxAccuracy((await runFloat(graph, [images])).get(graph.outputs[0])!, labels);
}

async function int8Accuracy(graph: Graph, samples: TensorData[][], labels: Uint8Array): Promise<number> {
  const { outputs } = await runOnTarget(graph, 'host', samples);
  const scores = new Int8Array(outputs.length * CLASSES);
  outputs.forEach(([o], i) => scores.set(o as Int8Array, i * CLASSES));
  return argmaxAccuracy(scores, labels);
}

export async function fashionVariants(options: VariantOptions): Promise<{ variants: Variant[]; pruning: PruneResult }> {
  const log = options.log ?? (() => {});
  const board = options.board ?? 'stm32f4';
  const { graph: int8, floatGraph } = await quantizedExample(options.workDir);
  const calib = join(options.workDir, 'calib.npy');
  const train = loadFashionMnist('train', { limit: options.pruneImages ?? 10000 });
  const test = loadFashionMnist('test');
  const started = Date.now();
  const pruning = await pruneModel(floatGraph, {
    budgets: parseBudgets(options.budget ?? 'macs=0.45,params=0.4'),
    epochs: options.epochs ?? 6,
    data: { inputs: [train.images], count: train.count, labels: Int32Array.from(train.labels) },
    onProgress: (phase, done, total) => done === total && log(`  ${phase} done (${((Date.now() - started) / 1000).toFixed(0)} s)`),
  });
  log(`pruned in ${((Date.now() - started) / 1000).toFixed(0)} s: ${pruning.recovery.join('; ') || 'no recovery step'}`);
  for (const c of layerChanges(pruning.original, pruning.graph)) log(`  ${c.name}: ${c.channels[0]} -> ${c.channels[1]} channels, ${c.macs[0]} -> ${c.macs[1]} MACs`);
  const prunedInt8 = (await quantizeModel(pruning.graph, { calib })).graph;

  const boardImages = options.boardImages ?? 20;
  const measure = async (name: string, graph: Graph, accuracy: number, samples: TensorData[][]) => {
    log(`measuring ${name} on ${board}`);
    return measureVariant(name, graph, board, samples.slice(0, boardImages), accuracy);
  };
  const floatSamples = (count: number): TensorData[][] =>
    Array.from({ length: count }, (_, i) => [test.images.subarray(i * 784, (i + 1) * 784)]);
  const int8Test = int8Samples(int8, test.images, test.count);
  const prunedTest = int8Samples(prunedInt8, test.images, test.count);
  const variants = [
    await measure('float', floatGraph, await floatAccuracy(floatGraph, test.images, test.labels), floatSamples(boardImages)),
    await measure('int8', int8, await int8Accuracy(int8, int8Test, test.labels), int8Test),
    await measure('pruned float', pruning.graph, await floatAccuracy(pruning.graph, test.images, test.labels), floatSamples(boardImages)),
    await measure('pruned int8', prunedInt8, await int8Accuracy(prunedInt8, prunedTest, test.labels), prunedTest),
  ];
  return { variants, pruning };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const workDir = fileURLToPath(new URL('../../build/fashion-mnist-variants/', import.meta.url));
  const { variants } = await fashionVariants({ workDir, log: (line) => console.error(line) });
  console.log(`Fashion-MNIST on stm32f4: accuracy over the 10,000 test images, instructions in QEMU (ratios to float)\n`);
  console.log(variantTable(variants));
}
