// TensorFlow Lite Micro's DTLN noise suppressor (examples/dtln: int8, two stacked LSTMs, one
// 257-bin frame per invoke). Its file is not shipped here: point EDGEC_TFLM_DTLN at
// tensorflow/lite/micro/examples/dtln of a TFLite Micro checkout. A stream of seeded frames goes
// through edgec's import, build for stm32f4 and QEMU with the LSTM state carried from frame to
// frame, against TFLite Micro's outputs for the same stream (fixtures/kernels/dtln.json, made by
// its interpreter with reference kernels); the first frame alone stands for TFLM after Reset().

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../src/float/train.ts';
import { importTflite } from '../src/import/tflite.ts';
import { crc32 } from '../src/ir/crc32.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { missingTool } from './helpers/tools.ts';

interface DtlnGolden {
  file: string;
  modelCrc32: number;
  seed: number;
  frames: number;
  stream: number[][];
  afterReset: number[];
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/kernels/dtln.json', import.meta.url), 'utf8')) as DtlnGolden;
const dir = process.env.EDGEC_TFLM_DTLN;
const missing = dir ? missingTool('arm-none-eabi-gcc', 'qemu-system-arm') : `EDGEC_TFLM_DTLN is not set (the folder holding ${golden.file})`;

/** The frames the fixture was made from: int8 magnitudes skewed low, as a quiet spectrum is. */
function frames(bins: number): Int8Array[] {
  const random = seededRandom(golden.seed);
  const all = Int8Array.from({ length: golden.frames * bins }, () => Math.floor(random() * 120) - 128 + Math.floor(random() * 60));
  return Array.from({ length: golden.frames }, (_, k) => all.slice(k * bins, (k + 1) * bins));
}

(missing ? test.skip : test)(`${golden.file} in QEMU = TensorFlow Lite Micro over a ${golden.frames}-frame stream${missing ? ` (skipped: ${missing})` : ''}`, async (t) => {
  const bytes = readFileSync(join(dir!, golden.file));
  t.is(crc32(bytes), golden.modelCrc32, 'the model file the fixture was made from');
  const graph = importTflite(bytes, golden.file);
  const samples = frames(golden.stream[0].length).map((frame) => [frame]);
  const outputs = async (stateful: boolean) => (await runOnTarget(graph, 'qemu', samples, { board: 'stm32f4', stateful })).outputs.map(([o]) => Array.from(o as Int8Array));
  t.deepEqual(await outputs(true), golden.stream, 'one stream, state carried');
  const alone = await outputs(false);
  t.deepEqual(alone[0], golden.afterReset, 'the first frame after a reset');
  t.notDeepEqual(alone[1], golden.stream[1], 'the state changes the answer, so the stream test sees it');
});
