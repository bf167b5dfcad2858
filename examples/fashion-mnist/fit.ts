// Training and float evaluation with tfjs-layers, batch by batch, so that the data order is ours
// (seeded) rather than tfjs's, whose shuffle draws from Math.random.

import * as tfc from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { FASHION_MNIST_CLASSES, IMAGE_SIZE, type FashionMnistSet } from './data.ts';
import { shuffled as permutation } from '../../src/float/train.ts';

const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
const CLASSES = FASHION_MNIST_CLASSES.length;

function batchOf(set: FashionMnistSet, indices: ArrayLike<number>): { x: tfc.Tensor4D; y: tfc.Tensor2D } {
  const pixels = new Float32Array(indices.length * PIXELS);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    pixels.set(set.images.subarray(indices[i] * PIXELS, (indices[i] + 1) * PIXELS), i * PIXELS);
    labels[i] = set.labels[indices[i]];
  }
  return tfc.tidy(() => ({
    x: tfc.tensor4d(pixels, [indices.length, IMAGE_SIZE, IMAGE_SIZE, 1]),
    y: tfc.cast(tfc.oneHot(tfc.tensor1d(labels, 'int32'), CLASSES), 'float32') as tfc.Tensor2D,
  }));
}

export interface EpochResult {
  loss: number;
  accuracy: number;
  seconds: number;
}

/** One pass over `set` in an order drawn from `random`; the model must be compiled with an accuracy metric. */
export const trainEpoch = (model: LayersModel, set: FashionMnistSet, batchSize: number, random: () => number): Promise<EpochResult> =>
  trainSamples(model, set.count, (indices) => batchOf(set, indices), batchSize, random);

/** One pass over `count` samples, batched by `batchOf`, in an order drawn from `random`. */
export async function trainSamples(
  model: LayersModel,
  count: number,
  batchOf: (indices: Int32Array) => { x: tfc.Tensor; y: tfc.Tensor },
  batchSize: number,
  random: () => number,
): Promise<EpochResult> {
  const started = performance.now();
  const order = permutation(count, random);
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < count; start += batchSize) {
    const indices = order.subarray(start, Math.min(start + batchSize, count));
    const { x, y } = batchOf(indices);
    const [batchLoss, batchAccuracy] = (await model.trainOnBatch(x, y)) as number[];
    tfc.dispose([x, y]);
    loss += batchLoss * indices.length;
    correct += batchAccuracy * indices.length;
  }
  return { loss: loss / count, accuracy: correct / count, seconds: (performance.now() - started) / 1000 };
}

/** The predicted class of every image, run in inference mode (batch norm on its moving statistics, no dropout). */
export function predictClasses(model: LayersModel, set: FashionMnistSet, batchSize = 500): Uint8Array {
  const classes = new Uint8Array(set.count);
  for (let start = 0; start < set.count; start += batchSize) {
    const end = Math.min(start + batchSize, set.count);
    const predicted = tfc.tidy(() => {
      const x = tfc.tensor4d(set.images.subarray(start * PIXELS, end * PIXELS), [end - start, IMAGE_SIZE, IMAGE_SIZE, 1]);
      return tfc.argMax(model.predict(x) as tfc.Tensor2D, 1);
    });
    classes.set(predicted.dataSync(), start);
    predicted.dispose();
  }
  return classes;
}

export function accuracyOf(classes: Uint8Array, labels: Uint8Array): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (classes[i] === labels[i]) correct++;
  return correct / labels.length;
}
