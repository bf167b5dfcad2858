// The example end to end, through edgec's public API: the trained float model quantized to int8
// (calibrated on training images), float and int8 accuracy over the whole test set on the host,
// then the firmware for a board run in QEMU on test images, compared with the host's int8 answers.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  affineOf,
  buildForBoard,
  hilReport,
  loadBoard,
  prepareModel,
  quantizeValues,
  runFloat,
  runOnBoard,
  runOnTarget,
  startEmulatedBoard,
  writeNpy,
  type BuildReport,
  type HilReport,
  type Graph,
  type TensorData,
} from '../../src/index.ts';
import { loadFashionMnist } from './data.ts';

export const MODEL = fileURLToPath(new URL('./model/model.json', import.meta.url));
const PIXELS = 28 * 28;

export interface Evaluation {
  testImages: number;
  floatAccuracy: number;
  int8Accuracy: number;
  calibrationSamples: number;
  board?: {
    name: string;
    /** The HIL firmware's build report. */
    report: BuildReport;
    /** Test images streamed to the board in QEMU, compared with the host int8 reference. */
    hil: HilReport;
  };
}

const argmax = (scores: ArrayLike<number>, at: number, n: number) => {
  let best = 0;
  for (let k = 1; k < n; k++) if (scores[at + k] > scores[at + best]) best = k;
  return best;
};

function accuracy(predictions: number[], labels: Uint8Array): number {
  return predictions.filter((p, i) => p === labels[i]).length / predictions.length;
}

/** int8 samples for the quantized model's input: pixels in [0, 1] through its scale and zero point. */
export function int8Samples(graph: Graph, images: Float32Array, count: number): TensorData[][] {
  const quantized = quantizeValues(images.subarray(0, count * PIXELS), affineOf(graph.tensors[graph.inputs[0]].quant!));
  return Array.from({ length: count }, (_, i) => [quantized.subarray(i * PIXELS, (i + 1) * PIXELS)]);
}

const predictInt8 = (outputs: TensorData[][]) => outputs.map(([scores]) => argmax(scores as Int8Array, 0, 10));

export interface EvaluateOptions {
  /** Folder for the calibration set and the firmware. */
  workDir: string;
  calibrationSamples?: number;
  /** Board to build for and run in QEMU; none skips the board. */
  board?: string;
  boardImages?: number;
  log?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
}

/** The trained model quantized to int8, calibrated on the first training images (written to `workDir` as calib.npy). */
export async function quantizedExample(workDir: string, calibrationSamples = 500): Promise<{ graph: Graph; floatGraph: Graph; calibrated: number }> {
  mkdirSync(workDir, { recursive: true });
  const train = loadFashionMnist('train', { limit: calibrationSamples });
  const calib = join(workDir, 'calib.npy');
  writeFileSync(calib, writeNpy({ dtype: 'float32', shape: [train.count, 28, 28, 1], data: train.images }));
  const { graph, quantized } = await prepareModel(MODEL, { calib });
  return { graph, floatGraph: quantized!.floatGraph, calibrated: train.count };
}

export async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const log = options.log ?? (() => {});
  const { graph, floatGraph, calibrated } = await quantizedExample(options.workDir, options.calibrationSamples);
  const test = loadFashionMnist('test');
  log(`quantized ${floatGraph.name} to int8 on ${calibrated} training images; evaluating on ${test.count} test images`);

  const floatScores = (await runFloat(floatGraph, [test.images])).get(floatGraph.outputs[0])!;
  const floatAccuracy = accuracy(Array.from({ length: test.count }, (_, i) => argmax(floatScores, i * 10, 10)), test.labels);
  const samples = int8Samples(graph, test.images, test.count);
  const host = await runOnTarget(graph, 'host', samples);
  const hostPredictions = predictInt8(host.outputs);
  const int8Accuracy = accuracy(hostPredictions, test.labels);
  const evaluation: Evaluation = { testImages: test.count, floatAccuracy, int8Accuracy, calibrationSamples: calibrated };
  if (!options.board) return evaluation;

  const count = options.boardImages ?? 1000;
  const { report, firmware } = await buildForBoard(graph, options.board, join(options.workDir, options.board), { firmware: 'hil' });
  log(`built for ${options.board} with the HIL agent: flash ${report.flash.total} bytes (weights ${report.flash.weights}), arena ${report.ram.arena} bytes`);
  log(`streaming the first ${count} test images to ${options.board} in QEMU (the UART moves about 10 KB/s)`);
  const board = startEmulatedBoard(loadBoard(options.board), firmware.elf);
  const boardSamples = samples.slice(0, count);
  try {
    const run = await runOnBoard(board, graph, boardSamples, { modelHash: report.modelHash, onProgress: options.onProgress });
    const hil = hilReport(graph, boardSamples, run, board.name, Array.from(test.labels.subarray(0, count)));
    evaluation.board = { name: options.board, report, hil };
  } finally {
    await board.close();
  }
  return evaluation;
}
