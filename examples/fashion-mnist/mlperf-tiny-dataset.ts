// Fashion-MNIST test images as a data set for the MLPerf Tiny host runner's accuracy mode, to
// measure a `--hil mlperf-tiny --mlperf-model ic01` build of this example with the benchmark's own
// tool. Writes:
//   <out>/ic01/fmnist_NNNNN.bin   28x28 uint8 pixels, the form the runner's ic01 test sends
//   <out>/ic01/y_labels.csv       file, number of classes, label (every class occurs: the runner's
//                                 AUC, computed before its Top-1, needs them all)
//   <out>/calib.npy               the example's calibration images, for `edgec build --calib`
// With --model (the model.tflite of the build folder) it also prints the accuracy of the host int8
// reference on the same images: the figure the runner's Top-1 should equal.
//
//   node --import=tsx examples/fashion-mnist/mlperf-tiny-dataset.ts <out> [--per-class N] [--model <build>/model.tflite]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { affineOf, executeGraph, loadModel, quantizeValues, writeNpy } from '../../src/index.ts';
import { FASHION_MNIST_CLASSES, IMAGE_SIZE, loadFashionMnist } from './data.ts';

const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
const CALIBRATION_IMAGES = 500; // as evaluate.ts calibrates the example

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'per-class': { type: 'string', default: '20' }, model: { type: 'string' } },
});
const perClass = Number(values['per-class']);
if (positionals.length !== 1 || !Number.isInteger(perClass) || perClass < 1) {
  console.error('usage: mlperf-tiny-dataset.ts <out-dir> [--per-class N] [--model <build>/model.tflite]');
  process.exit(2);
}
const out = positionals[0];

// The first images of each class, in test-set order.
const test = loadFashionMnist('test');
const taken = new Array<number>(FASHION_MNIST_CLASSES.length).fill(0);
const picks: number[] = [];
for (let i = 0; i < test.count; i++) {
  if (taken[test.labels[i]] < perClass) {
    taken[test.labels[i]]++;
    picks.push(i);
  }
}

const pixelsOf = (i: number) => Uint8Array.from(test.images.subarray(i * PIXELS, (i + 1) * PIXELS), (v) => Math.round(v * 255));

const dir = join(out, 'ic01');
mkdirSync(dir, { recursive: true });
const rows = picks.map((i) => {
  const file = `fmnist_${String(i).padStart(5, '0')}.bin`;
  writeFileSync(join(dir, file), pixelsOf(i));
  return `${file},${FASHION_MNIST_CLASSES.length},${test.labels[i]}\n`;
});
writeFileSync(join(dir, 'y_labels.csv'), rows.join(''));
const calib = loadFashionMnist('train', { limit: CALIBRATION_IMAGES });
writeFileSync(join(out, 'calib.npy'), writeNpy({ dtype: 'float32', shape: [calib.count, IMAGE_SIZE, IMAGE_SIZE, 1], data: calib.images }));
console.log(`wrote ${picks.length} test images (${perClass} of each class) to ${dir}, and ${calib.count} calibration images to ${join(out, 'calib.npy')}`);

if (values.model) {
  const graph = await loadModel(values.model);
  const affine = affineOf(graph.tensors[graph.inputs[0]].quant!);
  // ic01 hands the model pixel - 128: that is this model's own input only if it quantizes
  // pixel / 255 to exactly that.
  const all = Float32Array.from({ length: 256 }, (_, p) => p / 255);
  const mismatch = Array.from(quantizeValues(all, affine)).findIndex((q, p) => q !== p - 128);
  if (mismatch >= 0) {
    console.error(`${values.model}: its input quantizes pixel ${mismatch} to something other than ${mismatch - 128}, so ic01's pixel - 128 would feed it wrong values`);
    process.exit(1);
  }
  let correct = 0;
  for (const i of picks) {
    const [scores] = executeGraph(graph, [Int8Array.from(pixelsOf(i), (p) => p - 128)]) as Int8Array[];
    let best = 0;
    for (let k = 1; k < scores.length; k++) if (scores[k] > scores[best]) best = k;
    if (best === test.labels[i]) correct++;
  }
  console.log(`host int8 reference on these images: ${correct}/${picks.length} = ${((100 * correct) / picks.length).toFixed(1)}% top-1`);
}
