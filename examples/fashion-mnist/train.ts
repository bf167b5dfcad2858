// Trains the example's CNN on Fashion-MNIST with tfjs-layers on the cpu backend, saves it as a
// TF.js layers model in model/ and prints its float accuracy on the 10,000 test images.
// Run: npm run train:fashion. The same code and data give the same weights on every run.

import '@tensorflow/tfjs-backend-cpu';
import * as tfc from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { useFastConvBackpropFilter } from '../../src/float/conv-backprop.ts';
import { loadFashionMnist } from './data.ts';
import { accuracyOf, predictClasses, trainEpoch } from './fit.ts';
import { buildModel } from './model.ts';
import { seededRandom } from '../../src/float/train.ts';
import { folderSaver } from './save-model.ts';

// Chosen so that training stays near six minutes on a 2-core machine (about 8.5 ms per image on
// an idle core) while the model clears 82% on the test set.
const SEED = 1;
const TRAIN_IMAGES = 20_000; // the first 20,000 of the 60,000 training images
const EPOCHS = 2;
const BATCH = 32;
const LEARNING_RATE = 0.005;

const out = fileURLToPath(new URL('./model/', import.meta.url));

await tfc.setBackend('cpu');
useFastConvBackpropFilter();
// tfjs draws each dropout mask's seed from Math.random (a fixed Dropout seed would repeat one mask
// on every step), so a seeded Math.random is what makes dropout, and so training, repeatable.
Math.random = seededRandom(SEED + 1);
const order = seededRandom(SEED + 2);

const train = loadFashionMnist('train', { limit: TRAIN_IMAGES });
const test = loadFashionMnist('test');
const model = buildModel(SEED);
model.compile({ optimizer: tfc.train.adam(LEARNING_RATE), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
model.summary();
console.log(`training on ${train.count} images, ${EPOCHS} epochs, batch ${BATCH}, Adam ${LEARNING_RATE}, seed ${SEED}`);

let trainingSeconds = 0;
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const { loss, accuracy, seconds } = await trainEpoch(model, train, BATCH, order);
  trainingSeconds += seconds;
  console.log(`epoch ${epoch}/${EPOCHS}: loss ${loss.toFixed(4)}, training accuracy ${(100 * accuracy).toFixed(2)}%, ${seconds.toFixed(0)} s`);
}
console.log(`training took ${trainingSeconds.toFixed(0)} s (${((1000 * trainingSeconds) / (EPOCHS * train.count)).toFixed(1)} ms per image)`);

await model.save(folderSaver(out));
console.log(`saved ${out}model.json and ${out}weights.bin`);

const accuracy = accuracyOf(predictClasses(model, test), test.labels);
console.log(`float test accuracy: ${(100 * accuracy).toFixed(2)}% on ${test.count} test images`);
