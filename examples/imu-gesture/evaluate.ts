// The gesture example end to end, through edgec's public API: the trained float model quantized
// to int8 (calibrated on training gestures), float and int8 accuracy on the test gestures on the
// host, then the firmware for a board run in QEMU over HIL on the test gestures, compared with the
// host's int8 answers. Every gesture is a sequence of its own: the LSTM starts from cleared state
// for each (as `edgec run` and `edgec hil` do unless --stateful).

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
  type Graph,
  type HilReport,
  type LayerError,
  type TensorData,
} from '../../src/index.ts';
import { AXES, GESTURES, type GestureSet, STEPS } from './data.ts';
import { TEST_SET, TRAIN_SET } from './sets.ts';

export const MODEL = fileURLToPath(new URL('./model/model.json', import.meta.url));
const SIZE = STEPS * AXES;
const CLASSES = GESTURES.length;

export interface Evaluation {
  testGestures: number;
  calibrationGestures: number;
  floatAccuracy: number;
  int8Accuracy: number;
  /** Every layer of the int8 model against the float model on the calibration gestures. */
  layers: LayerError[];
  board?: {
    name: string;
    report: BuildReport;
    hil: HilReport;
  };
}

const argmax = (scores: ArrayLike<number>, at = 0) => {
  let best = 0;
  for (let k = 1; k < CLASSES; k++) if (scores[at + k] > scores[at + best]) best = k;
  return best;
};
const accuracy = (predictions: number[], labels: Uint8Array) => predictions.filter((p, i) => p === labels[i]).length / predictions.length;

/** int8 samples for the quantized model's input: gestures in g through its scale and zero point. */
export function int8Samples(graph: Graph, set: GestureSet, count = set.count): TensorData[][] {
  const quantized = quantizeValues(set.samples.subarray(0, count * SIZE), affineOf(graph.tensors[graph.inputs[0]].quant!));
  return Array.from({ length: count }, (_, i) => [quantized.subarray(i * SIZE, (i + 1) * SIZE)]);
}

export interface EvaluateOptions {
  /** Folder for the calibration set and the firmware. */
  workDir: string;
  calibrationGestures?: number;
  /** Test gestures to evaluate (the first ones of the test set); default all 1,000. */
  testGestures?: number;
  /** Board to build for and run in QEMU; none skips the board. */
  board?: string;
  log?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
}

/** The first `count` gestures of `set`. */
function first(set: GestureSet, count: number): GestureSet {
  const n = Math.min(count, set.count);
  return { samples: set.samples.subarray(0, n * SIZE), labels: set.labels.subarray(0, n), count: n };
}

export async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const log = options.log ?? (() => {});
  mkdirSync(options.workDir, { recursive: true });
  const calibration = first(TRAIN_SET(), options.calibrationGestures ?? 300);
  const calib = join(options.workDir, 'calib.npy');
  writeFileSync(calib, writeNpy({ dtype: 'float32', shape: [calibration.count, STEPS, AXES], data: calibration.samples }));
  const { graph, quantized } = await prepareModel(MODEL, { calib });
  const { floatGraph, layers } = quantized!;
  const test = first(TEST_SET(), options.testGestures ?? 1000);
  log(`quantized ${floatGraph.name} to int8 on ${calibration.count} training gestures; evaluating on ${test.count} test gestures`);

  const floatScores = (await runFloat(floatGraph, [test.samples])).get(floatGraph.outputs[0])!;
  const floatAccuracy = accuracy(Array.from({ length: test.count }, (_, i) => argmax(floatScores, i * CLASSES)), test.labels);
  const samples = int8Samples(graph, test);
  const host = await runOnTarget(graph, 'host', samples);
  const int8Accuracy = accuracy(host.outputs.map(([scores]) => argmax(scores as Int8Array)), test.labels);
  const evaluation: Evaluation = { testGestures: test.count, calibrationGestures: calibration.count, floatAccuracy, int8Accuracy, layers };
  if (!options.board) return evaluation;

  const { report, firmware } = await buildForBoard(graph, options.board, join(options.workDir, options.board), { firmware: 'hil' });
  log(`built for ${options.board} with the HIL agent: flash ${report.flash.total} bytes (weights ${report.flash.weights}), arena ${report.ram.arena} bytes, LSTM state ${report.ram.state} bytes`);
  log(`streaming ${test.count} test gestures to ${options.board} in QEMU`);
  const board = startEmulatedBoard(loadBoard(options.board), firmware.elf);
  try {
    const run = await runOnBoard(board, graph, samples, { modelHash: report.modelHash, onProgress: options.onProgress });
    evaluation.board = { name: options.board, report, hil: hilReport(graph, samples, run, board.name, Array.from(test.labels)) };
  } finally {
    await board.close();
  }
  return evaluation;
}
