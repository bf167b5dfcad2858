// TensorFlow Lite Micro's magic_wand gesture model (examples/magic_wand: float32, a depthwise conv
// of depth multiplier 8, max pooling, a conv, two dense layers and softmax over 128 accelerometer
// readings). Its file is not shipped here: point EDGEC_TFLM_MAGIC_WAND at a folder holding
// magic_wand.tflite (in TFLite Micro's history at tensorflow/lite/micro/examples/magic_wand).
// Seeded inputs go through edgec's import, build for stm32f4 and QEMU, against TFLite Micro's
// outputs for the same inputs (fixtures/kernels/magic-wand.json, made by its interpreter with
// reference kernels), compared as float32 bit patterns.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../src/float/train.ts';
import { importTflite } from '../src/import/tflite.ts';
import { crc32 } from '../src/ir/crc32.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { missingTool } from './helpers/tools.ts';

interface MagicWandGolden {
  file: string;
  modelCrc32: number;
  seed: number;
  /** Sample k holds readings uniform within +-ranges[k] (the largest saturate the softmax). */
  ranges: number[];
  /** TFLite Micro's output of each sample as float32 bit patterns. */
  outputs: number[][];
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/kernels/magic-wand.json', import.meta.url), 'utf8')) as MagicWandGolden;
const dir = process.env.EDGEC_TFLM_MAGIC_WAND;
const missing = dir ? missingTool('arm-none-eabi-gcc', 'qemu-system-arm') : `EDGEC_TFLM_MAGIC_WAND is not set (the folder holding ${golden.file})`;

/** The inputs the fixture was made from, drawn in sample order from one seeded stream. */
function inputs(size: number): Float32Array[] {
  const random = seededRandom(golden.seed);
  return golden.ranges.map((range) => Float32Array.from({ length: size }, () => (random() * 2 - 1) * range));
}

(missing ? test.skip : test)(`${golden.file} in QEMU = TensorFlow Lite Micro, float32 bit for bit on ${golden.ranges.length} inputs${missing ? ` (skipped: ${missing})` : ''}`, async (t) => {
  const bytes = readFileSync(join(dir!, golden.file));
  t.is(crc32(bytes), golden.modelCrc32, 'the model file the fixture was made from');
  const graph = importTflite(bytes, golden.file);
  const size = graph.tensors[graph.inputs[0]].shape.reduce((a, b) => a * b, 1);
  const run = await runOnTarget(graph, 'qemu', inputs(size).map((x) => [x]), { board: 'stm32f4' });
  t.deepEqual(
    run.outputs.map(([o]) => Array.from(new Uint32Array((o as Float32Array).buffer, (o as Float32Array).byteOffset, o.length))),
    golden.outputs,
  );
});
