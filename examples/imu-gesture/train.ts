// Trains the gesture model on synthetic gestures with tfjs-layers on the cpu backend, saves it as a
// TF.js layers model in model/ and prints its float accuracy on the test gestures.
// Run: npm run train:gesture. The same code and seeds give the same weights on every run.

import '@tensorflow/tfjs-backend-cpu';
import * as tfc from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../src/float/train.ts';
import { trainSamples } from '../fashion-mnist/fit.ts';
import { folderSaver } from '../fashion-mnist/save-model.ts';
import { AXES, GESTURES, type GestureSet, STEPS } from './data.ts';
import { TEST_SET, TRAIN_SET } from './sets.ts';
import { buildModel } from './model.ts';

const SEED = 1;
const EPOCHS = 6;
const BATCH = 32;
const LEARNING_RATE = 0.005;
const out = fileURLToPath(new URL('./model/', import.meta.url));
const SIZE = STEPS * AXES;

function batchOf(set: GestureSet, indices: ArrayLike<number>): { x: tfc.Tensor3D; y: tfc.Tensor2D } {
  const x = new Float32Array(indices.length * SIZE);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    x.set(set.samples.subarray(indices[i] * SIZE, (indices[i] + 1) * SIZE), i * SIZE);
    labels[i] = set.labels[indices[i]];
  }
  return tfc.tidy(() => ({
    x: tfc.tensor3d(x, [indices.length, STEPS, AXES]),
    y: tfc.cast(tfc.oneHot(tfc.tensor1d(labels, 'int32'), GESTURES.length), 'float32') as tfc.Tensor2D,
  }));
}

await tfc.setBackend('cpu');
Math.random = seededRandom(SEED + 1);
const order = seededRandom(SEED + 2);
const train = TRAIN_SET();
const test = TEST_SET();
const model = buildModel(SEED);
model.compile({ optimizer: tfc.train.adam(LEARNING_RATE), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
model.summary();
console.log(`training on ${train.count} gestures, ${EPOCHS} epochs, batch ${BATCH}, Adam ${LEARNING_RATE}, seed ${SEED}`);

let seconds = 0;
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const e = await trainSamples(model, train.count, (indices) => batchOf(train, indices), BATCH, order);
  seconds += e.seconds;
  console.log(`epoch ${epoch}/${EPOCHS}: loss ${e.loss.toFixed(4)}, training accuracy ${(100 * e.accuracy).toFixed(2)}%, ${e.seconds.toFixed(0)} s`);
}
console.log(`training took ${seconds.toFixed(0)} s`);

await model.save(folderSaver(out));
console.log(`saved ${out}model.json and ${out}weights.bin`);
const predicted = tfc.tidy(() => tfc.argMax(model.predict(tfc.tensor3d(test.samples, [test.count, STEPS, AXES])) as tfc.Tensor2D, 1).dataSync());
const accuracy = predicted.filter((p, i) => p === test.labels[i]).length / test.count;
console.log(`float test accuracy: ${(100 * accuracy).toFixed(2)}% on ${test.count} test gestures`);
