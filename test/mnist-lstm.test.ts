// TensorFlow Lite Micro's mnist_lstm example models (int8 and float; their files are not shipped
// here: point EDGEC_TFLM_MNIST_LSTM at tensorflow/lite/micro/examples/mnist_lstm of a TFLite Micro
// checkout) through edgec's import, build for stm32f4 and QEMU, against TFLite Micro's outputs
// (fixtures/kernels/mnist-lstm.json): each sample on its own, and the samples as one stream.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTflite } from '../src/import/tflite.ts';
import { crc32 } from '../src/ir/crc32.ts';
import type { TensorData } from '../src/ir/types.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { mnistLstmInputs } from './helpers/lstm-models.ts';
import { missingTool } from './helpers/tools.ts';

interface MnistGolden {
  file: string;
  modelCrc32: number;
  samples: number;
  alone: number[][];
  stream: number[][];
}

const goldens = (JSON.parse(readFileSync(new URL('./fixtures/kernels/mnist-lstm.json', import.meta.url), 'utf8')) as { models: MnistGolden[] }).models;
const dir = process.env.EDGEC_TFLM_MNIST_LSTM;
const missing = dir ? missingTool('arm-none-eabi-gcc', 'qemu-system-arm') : 'EDGEC_TFLM_MNIST_LSTM is not set (the folder holding trained_lstm.tflite and trained_lstm_int8.tflite)';

for (const golden of goldens) {
  (missing ? test.skip : test)(`${golden.file} in QEMU = TensorFlow Lite Micro, sample by sample and as one stream${missing ? ` (skipped: ${missing})` : ''}`, async (t) => {
    const bytes = readFileSync(join(dir!, golden.file));
    t.is(crc32(bytes), golden.modelCrc32, 'the model file the fixture was made from');
    const graph = importTflite(bytes, golden.file);
    const all = mnistLstmInputs(graph.tensors[graph.inputs[0]], golden.samples);
    const per = all.length / golden.samples;
    const samples = Array.from({ length: golden.samples }, (_, i) => [all.slice(i * per, (i + 1) * per) as TensorData]);
    const exact = (list: number[][]) => list.map((o) => o.map(Math.fround));
    for (const [stateful, want] of [
      [false, golden.alone],
      [true, golden.stream],
    ] as const) {
      const run = await runOnTarget(graph, 'qemu', samples, { board: 'stm32f4', stateful });
      t.deepEqual(
        run.outputs.map(([o]) => Array.from(o as ArrayLike<number>)),
        exact(want),
        stateful ? 'one stream' : 'each sample alone',
      );
    }
  });
}
