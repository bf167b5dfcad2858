// The zoo's data, all made from Fashion-MNIST (Debian's dataset-fashion-mnist) so that nothing is
// downloaded: each model gets images reshaped to its benchmark's input and a task of the same kind.
//   resnet8            the 28x28 image padded to 32x32, in three colour channels (a per-image tint
//                      so that the channels differ, as photographs' do); the 10 classes.
//   ds-cnn             the image resampled to 49x10 (time x features, as a keyword spotter's
//                      MFCCs); the 10 classes (the benchmark has 12 keywords).
//   mobilenet-v1-0.25  the image resampled to SIZE x SIZE and tinted; two classes, as visual wake
//                      words has: upper-body garments (T-shirt, pullover, coat, shirt) or not.
//   fc-autoencoder     the middle 640 of the 784 pixels (the benchmark's 640 log-mel features);
//                      trained on clothes only, so that footwear and bags are the anomalies.

import { type FashionMnistSet, IMAGE_SIZE, loadFashionMnist } from '../../examples/fashion-mnist/data.ts';
import { seededRandom } from '../../src/float/train.ts';
import type { ZooModelName } from './models.ts';

/** Input side of MobileNetV1 in the zoo: 48 instead of the benchmark's 96, for training time. */
export const MOBILENET_SIZE = 48;

/** Fashion-MNIST classes the autoencoder treats as anomalies: sandal, sneaker, bag, ankle boot. */
export const ANOMALOUS_CLASSES = new Set([5, 7, 8, 9]);
const UPPER_BODY = new Set([0, 2, 4, 6]);

export interface ZooSamples {
  /** [count, ...input shape], row-major. */
  inputs: Float32Array;
  /** Class of each sample; for the autoencoder 1 for an anomaly, 0 for normal. */
  labels: Uint8Array;
  count: number;
}

export const INPUT_SHAPES: Record<ZooModelName, number[]> = {
  resnet8: [32, 32, 3],
  'ds-cnn': [49, 10, 1],
  'mobilenet-v1-0.25': [MOBILENET_SIZE, MOBILENET_SIZE, 3],
  'fc-autoencoder': [640],
};

/** Output classes; the autoencoder reconstructs its input instead. */
export const CLASSES: Record<ZooModelName, number> = { resnet8: 10, 'ds-cnn': 10, 'mobilenet-v1-0.25': 2, 'fc-autoencoder': 0 };

/** Bilinear resampling of one 28x28 image to height x width (pixel centres aligned). */
function resample(image: Float32Array, height: number, width: number): Float32Array {
  const out = new Float32Array(height * width);
  const at = (r: number, c: number) => image[Math.min(IMAGE_SIZE - 1, Math.max(0, r)) * IMAGE_SIZE + Math.min(IMAGE_SIZE - 1, Math.max(0, c))];
  for (let y = 0; y < height; y++) {
    const sy = ((y + 0.5) * IMAGE_SIZE) / height - 0.5;
    const y0 = Math.floor(sy);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = ((x + 0.5) * IMAGE_SIZE) / width - 0.5;
      const x0 = Math.floor(sx);
      const fx = sx - x0;
      const top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx;
      const bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** The image padded with zeros to size x size, centred. */
function pad(image: Float32Array, size: number): Float32Array {
  const out = new Float32Array(size * size);
  const border = (size - IMAGE_SIZE) >> 1;
  for (let r = 0; r < IMAGE_SIZE; r++) out.set(image.subarray(r * IMAGE_SIZE, (r + 1) * IMAGE_SIZE), (r + border) * size + border);
  return out;
}

/** Grey to three channels, each scaled by a tint in [0.4, 1] drawn from the image's index. */
function tint(grey: Float32Array, index: number): Float32Array {
  const random = seededRandom(0x51ed27 + index * 7919);
  const factors = [0.4 + 0.6 * random(), 0.4 + 0.6 * random(), 0.4 + 0.6 * random()];
  const out = new Float32Array(grey.length * 3);
  for (let p = 0; p < grey.length; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = grey[p] * factors[c];
  return out;
}

const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
const CROP = (PIXELS - 640) / 2;

/** Image `i` of `set` (whose first image is image `offset` of its split) as model `name` takes it. */
function sampleOf(name: ZooModelName, image: Float32Array, index: number): Float32Array {
  switch (name) {
    case 'resnet8':
      return tint(pad(image, 32), index);
    case 'ds-cnn':
      return resample(image, 49, 10);
    case 'mobilenet-v1-0.25':
      return tint(resample(image, MOBILENET_SIZE, MOBILENET_SIZE), index);
    case 'fc-autoencoder':
      return image.slice(CROP, CROP + 640);
  }
}

function labelOf(name: ZooModelName, label: number): number {
  if (name === 'mobilenet-v1-0.25') return UPPER_BODY.has(label) ? 1 : 0;
  if (name === 'fc-autoencoder') return ANOMALOUS_CLASSES.has(label) ? 1 : 0;
  return label;
}

/** Turns Fashion-MNIST images into model `name`'s samples; `offset` is the set's first index in its split (it seeds the tints). */
export function zooSamples(name: ZooModelName, set: FashionMnistSet, offset: number, keep: (label: number) => boolean = () => true): ZooSamples {
  const size = INPUT_SHAPES[name].reduce((a, b) => a * b, 1);
  const picked: number[] = [];
  for (let i = 0; i < set.count; i++) if (keep(set.labels[i])) picked.push(i);
  const inputs = new Float32Array(picked.length * size);
  const labels = new Uint8Array(picked.length);
  picked.forEach((i, k) => {
    inputs.set(sampleOf(name, set.images.subarray(i * PIXELS, (i + 1) * PIXELS), offset + i), k * size);
    labels[k] = labelOf(name, set.labels[i]);
  });
  return { inputs, labels, count: picked.length };
}

/**
 * `count` samples for model `name` from `split`, from image `offset` on. The autoencoder's
 * training samples are normal ones only (`normalOnly`), which may take more images than `count`.
 */
export function loadZooSamples(name: ZooModelName, split: 'train' | 'test', offset: number, count: number, normalOnly = false): ZooSamples {
  // Anomalies are 4 of the 10 classes: twice the images always hold enough normal ones.
  const set = loadFashionMnist(split, { offset, limit: normalOnly ? 2 * count : count });
  const samples = zooSamples(name, set, offset, normalOnly ? (label) => !ANOMALOUS_CLASSES.has(label) : undefined);
  if (samples.count <= count) return samples;
  const size = samples.inputs.length / samples.count;
  return { inputs: samples.inputs.slice(0, count * size), labels: samples.labels.slice(0, count), count };
}
