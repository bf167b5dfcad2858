// TensorFlow Lite Micro's example model keyword_scrambled (int16 input, int8 SVDF layers with int16
// state, fully connected, softmax to int16, int32 output; the file is not shipped here: point
// EDGEC_TFLM_MODELS at tensorflow/lite/micro/models of a TFLite Micro checkout) against TFLite
// Micro's outputs (fixtures/kernels/keyword-scrambled.json) for every operator's output, the
// frames invoked in a row with the SVDF states carried: on the host reference, and through
// `edgec build --board stm32f4` and `edgec run --target qemu --stateful`.

import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importTflite } from '../src/import/tflite.ts';
import { crc32 } from '../src/ir/crc32.ts';
import { readNpy, writeNpy } from '../src/npy/npy.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { runEdgec } from './helpers/cli.ts';
import { everyOutput, keywordScrambledInputs } from './helpers/int16-models.ts';
import { missingTool } from './helpers/tools.ts';

interface KeywordGolden {
  file: string;
  modelCrc32: number;
  inputs: number[][];
  /** Per invoke, every operator's output in operator order. */
  expected: number[][][];
  afterReset: number[][];
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/kernels/keyword-scrambled.json', import.meta.url), 'utf8')) as KeywordGolden;
const dir = process.env.EDGEC_TFLM_MODELS;
const noModel = dir ? null : 'EDGEC_TFLM_MODELS is not set (the folder tensorflow/lite/micro/models holding keyword_scrambled.tflite)';
const noQemu = noModel ?? missingTool('arm-none-eabi-gcc', 'qemu-system-arm');

/** The model file, checked to be the one the fixture was made from. */
function model(t: { is(a: unknown, b: unknown, m?: string): void }): Uint8Array {
  const bytes = new Uint8Array(readFileSync(join(dir!, golden.file)));
  t.is(crc32(bytes), golden.modelCrc32, 'the model file the fixture was made from');
  return bytes;
}

test('the fixture holds the frames the helper draws', (t) => {
  t.deepEqual(
    keywordScrambledInputs(golden.inputs.length).map((x) => Array.from(x)),
    golden.inputs,
  );
});

(noModel ? test.skip : test)(`keyword_scrambled on the reference = TensorFlow Lite Micro, every op's output, state carried then reset${noModel ? ` (skipped: ${noModel})` : ''}`, (t) => {
  const run = createExecutor(importTflite(everyOutput(model(t)), golden.file));
  const frames = keywordScrambledInputs(golden.inputs.length);
  frames.forEach((x, k) => t.deepEqual(run([x]).map((o) => Array.from(o as ArrayLike<number>)), golden.expected[k], `frame ${k}`));
  run.reset();
  t.deepEqual(run([frames[0]]).map((o) => Array.from(o as ArrayLike<number>)), golden.afterReset);
});

(noQemu ? test.skip : test)(`keyword_scrambled through edgec build --board stm32f4 and edgec run --target qemu --stateful = TensorFlow Lite Micro${noQemu ? ` (skipped: ${noQemu})` : ''}`, async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'edgec-kws-'));
  const file = join(scratch, 'keyword_scrambled_every_output.tflite');
  writeFileSync(file, everyOutput(model(t)));
  const frames = keywordScrambledInputs(golden.inputs.length);
  const data = new Int16Array(frames.length * 96);
  frames.forEach((x, k) => data.set(x, k * 96));
  writeFileSync(join(scratch, 'frames.npy'), writeNpy({ dtype: 'int16', shape: [frames.length, 1, 96], data }));
  const build = await runEdgec('build', file, '--board', 'stm32f4', '-o', join(scratch, 'build'));
  t.is(build.code, 0, build.stderr);
  const run = await runEdgec('run', join(scratch, 'build'), '--input', join(scratch, 'frames.npy'), '--target', 'qemu', '--stateful', '--output', join(scratch, 'out.npy'));
  t.is(run.code, 0, run.stderr);
  const operators = golden.expected[0].length;
  for (let k = 0; k < operators; k++) {
    const out = readNpy(new Uint8Array(readFileSync(join(scratch, k === 0 ? 'out.npy' : `out_${k}.npy`))));
    const per = out.data.length / frames.length;
    const got = frames.map((_, i) => Array.from((out.data as ArrayLike<number> & { slice(a: number, b: number): ArrayLike<number> }).slice(i * per, (i + 1) * per)));
    t.deepEqual(got, golden.expected.map((invoke) => invoke[k]), `operator ${k}`);
  }
});
