// Fashion-MNIST as the Debian package `dataset-fashion-mnist` installs it: 28x28 gray images of
// clothing in ten classes, 60,000 for training and 10,000 for testing, as gzipped IDX files.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// The npy writer and the error type come from their own modules, which src/index.ts re-exports, so
// that reading the data does not load the whole compiler (and tfjs with it).
import { EdgecError } from '../../src/ir/errors.ts';
import { writeNpy } from '../../src/npy/npy.ts';
import { readIdxGz } from './idx.ts';

/** Where the Debian package puts the files; the environment variable FASHION_MNIST_DIR overrides it. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const IMAGE_SIZE = 28;

/** Label i names class i, as the data set's authors list them. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export type Split = 'train' | 'test';

export interface FashionMnistSet {
  /** [count, 28, 28, 1], pixel / 255. */
  images: Float32Array;
  /** [count], 0..9. */
  labels: Uint8Array;
  count: number;
}

export interface LoadOptions {
  /** Index of the first image to take (default 0). */
  offset?: number;
  /** Largest number of images to take (default: all from `offset` on). */
  limit?: number;
  /** Folder of the four .gz files (default: FASHION_MNIST_DIR or DEFAULT_FASHION_MNIST_DIR). */
  dir?: string;
}

const FILE_PREFIX: Record<Split, string> = { train: 'train', test: 't10k' };

export function fashionMnistDir(): string {
  return process.env.FASHION_MNIST_DIR || DEFAULT_FASHION_MNIST_DIR;
}

export function loadFashionMnist(split: Split, options: LoadOptions = {}): FashionMnistSet {
  const dir = options.dir ?? fashionMnistDir();
  if (!existsSync(dir)) {
    throw new EdgecError(
      'data',
      `Fashion-MNIST is not at ${dir}: install it with 'apt-get install dataset-fashion-mnist', or set FASHION_MNIST_DIR to a folder holding its four .gz files`,
    );
  }
  const imagesFile = join(dir, `${FILE_PREFIX[split]}-images-idx3-ubyte.gz`);
  const labelsFile = join(dir, `${FILE_PREFIX[split]}-labels-idx1-ubyte.gz`);
  const images = readIdxGz(imagesFile, [null, IMAGE_SIZE, IMAGE_SIZE]);
  const labels = readIdxGz(labelsFile, [null]);
  const total = images.dims[0];
  if (labels.dims[0] !== total) {
    throw new EdgecError('data', `${labelsFile}: ${labels.dims[0]} labels for the ${total} images of ${imagesFile}`);
  }
  const bad = labels.data.findIndex((label) => label >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new EdgecError('data', `${labelsFile}: label ${labels.data[bad]} at index ${bad} is not a class 0..9`);

  const offset = options.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > total) {
    throw new RangeError(`offset ${offset} is not an index into the ${total} ${split} images`);
  }
  const limit = options.limit ?? total - offset;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit ${limit} is not a non-negative integer`);
  const count = Math.min(limit, total - offset);

  const pixels = IMAGE_SIZE * IMAGE_SIZE;
  const source = images.data.subarray(offset * pixels, (offset + count) * pixels);
  const scaled = new Float32Array(source.length);
  for (let i = 0; i < source.length; i++) scaled[i] = source[i] / 255;
  return { images: scaled, labels: labels.data.slice(offset, offset + count), count };
}

/** The set as two .npy files: images float32 [N, 28, 28, 1] and labels int32 [N]. */
export function fashionMnistNpy(set: FashionMnistSet): { images: Uint8Array; labels: Uint8Array } {
  return {
    images: writeNpy({ dtype: 'float32', shape: [set.count, IMAGE_SIZE, IMAGE_SIZE, 1], data: set.images }),
    labels: writeNpy({ dtype: 'int32', shape: [set.count], data: Int32Array.from(set.labels) }),
  };
}

export function writeFashionMnistNpy(set: FashionMnistSet, imagesPath: string, labelsPath: string): void {
  const { images, labels } = fashionMnistNpy(set);
  writeFileSync(imagesPath, images);
  writeFileSync(labelsPath, labels);
}
