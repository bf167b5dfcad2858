import test from 'ava';
import '@tensorflow/tfjs-backend-cpu';
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { useFastConvBackpropFilter } from '../src/float/conv-backprop.ts';
import {
  DEFAULT_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  fashionMnistDir,
  fashionMnistNpy,
  loadFashionMnist,
  writeFashionMnistNpy,
} from '../examples/fashion-mnist/data.ts';
import { parseIdx, readIdxGz } from '../examples/fashion-mnist/idx.ts';
import { shuffled as permutation, seededRandom } from '../src/float/train.ts';
import { folderSaver } from '../examples/fashion-mnist/save-model.ts';
import { EdgecError } from '../src/ir/errors.ts';
import { readNpy } from '../src/npy/npy.ts';
import { missingFullData, testWhere } from './helpers/tools.ts';

/** An unsigned-byte IDX file: magic 0x0000 08 rank, big-endian dims, data. */
function idx(dims: number[], data: ArrayLike<number>, typeByte = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, typeByte, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

const ramp = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % 256);

/** A folder laid out like the Debian package, holding only the test split. */
function fakeDataset(t: { teardown(fn: () => void): void }, images: Uint8Array, labels: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgec-fashion-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(images));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels));
  return dir;
}

test('parseIdx reads dims and data of an unsigned-byte IDX file', (t) => {
  const parsed = parseIdx(idx([2, 3, 4], ramp(24)), 'x.idx');
  t.deepEqual(parsed.dims, [2, 3, 4]);
  t.deepEqual(Array.from(parsed.data), Array.from(ramp(24)));
  t.deepEqual(parseIdx(idx([5], [0, 1, 2, 3, 4]), 'y.idx', [null]).dims, [5]);
});

test('parseIdx rejects bad files with a data error naming the file and the fault', (t) => {
  const good = idx([2, 3, 4], ramp(24));
  const cases: [string, Uint8Array, RegExp, (number | null)[]?][] = [
    ['empty', new Uint8Array(0), /shorter than the 4-byte magic/],
    ['wrong magic', Uint8Array.from([1, ...good.subarray(1)]), /magic number starts 0x0100/],
    ['wrong type', idx([2, 3, 4], ramp(24), 0x0d), /data type 0x0d is not supported/],
    ['truncated header', good.subarray(0, 10), /truncated header: 3 dimensions need 16 bytes/],
    ['truncated data', good.subarray(0, good.length - 1), /need 24 bytes of data, the file has 23/],
    ['extra data', Uint8Array.from([...good, 9]), /need 24 bytes of data, the file has 25/],
    ['dims mismatch', good, /dimensions are \[2, 3, 4\], expected \[N, 3, 5\]/, [null, 3, 5]],
    ['rank mismatch', good, /expected \[N\]/, [null]],
  ];
  for (const [why, bytes, message, dims] of cases) {
    const error = t.throws(() => parseIdx(bytes, 'bad.idx', dims), { instanceOf: EdgecError }, why);
    t.is(error?.kind, 'data', why);
    t.regex(error?.message ?? '', /^bad\.idx: not a readable IDX file: /, why);
    t.regex(error?.message ?? '', message, why);
  }
});

test('readIdxGz gunzips, and names the file when it is missing or not gzip', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgec-idx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'a.gz');
  writeFileSync(file, gzipSync(idx([3], [7, 8, 9])));
  t.deepEqual(Array.from(readIdxGz(file, [3]).data), [7, 8, 9]);

  const plain = join(dir, 'plain.gz');
  writeFileSync(plain, idx([3], [7, 8, 9]));
  t.throws(() => readIdxGz(plain), { instanceOf: EdgecError, message: /plain\.gz: .*not valid gzip data/ });
  const cut = join(dir, 'cut.gz');
  const zipped = gzipSync(idx([300], ramp(300)));
  writeFileSync(cut, zipped.subarray(0, zipped.length - 12));
  t.throws(() => readIdxGz(cut), { instanceOf: EdgecError, message: /cut\.gz: .*not valid gzip data/ });
  t.throws(() => readIdxGz(join(dir, 'none.gz')), { instanceOf: EdgecError, message: /none\.gz: .*no such file/ });
});

test('loadFashionMnist scales pixels to [0, 1], keeps labels, and slices by offset and limit', (t) => {
  const count = 5;
  const pixels = ramp(count * 28 * 28);
  const dir = fakeDataset(t, idx([count, 28, 28], pixels), idx([count], [9, 0, 3, 3, 1]));
  const all = loadFashionMnist('test', { dir });
  t.is(all.count, count);
  t.is(all.images.length, count * 28 * 28);
  t.is(all.images[1], Math.fround(7 / 255));
  t.is(all.images[pixels.indexOf(255)], 1);
  t.deepEqual(Array.from(all.labels), [9, 0, 3, 3, 1]);

  const part = loadFashionMnist('test', { dir, offset: 1, limit: 2 });
  t.is(part.count, 2);
  t.deepEqual(Array.from(part.labels), [0, 3]);
  t.deepEqual(part.images, all.images.subarray(28 * 28, 3 * 28 * 28));
  t.is(loadFashionMnist('test', { dir, offset: 4, limit: 10 }).count, 1, 'limit stops at the end');
  t.is(loadFashionMnist('test', { dir, offset: 5 }).count, 0);
  t.throws(() => loadFashionMnist('test', { dir, offset: 6 }), { instanceOf: RangeError });
  t.throws(() => loadFashionMnist('test', { dir, limit: -1 }), { instanceOf: RangeError });
});

test('loadFashionMnist rejects mismatched image and label files', (t) => {
  const images = idx([2, 28, 28], ramp(2 * 28 * 28));
  const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
    ['images not 28x28', idx([2, 28, 27], ramp(2 * 28 * 27)), idx([2], [0, 1]), /t10k-images-idx3-ubyte\.gz: .*dimensions are \[2, 28, 27\], expected \[N, 28, 28\]/],
    ['label count', images, idx([3], [0, 1, 2]), /t10k-labels-idx1-ubyte\.gz: 3 labels for the 2 images/],
    ['label out of range', images, idx([2], [4, 10]), /label 10 at index 1 is not a class 0\.\.9/],
    ['labels file is images', images, images, /t10k-labels-idx1-ubyte\.gz: .*expected \[N\]/],
  ];
  for (const [why, imageFile, labelFile, message] of cases) {
    const dir = fakeDataset(t, imageFile, labelFile);
    t.throws(() => loadFashionMnist('test', { dir }), { instanceOf: EdgecError, message }, why);
  }
  const dir = fakeDataset(t, images, idx([2], [0, 1]));
  t.throws(() => loadFashionMnist('train', { dir }), { instanceOf: EdgecError, message: /train-images-idx3-ubyte\.gz: .*no such file/ });
});

test('a missing data folder says which package to install', (t) => {
  const missing = join(tmpdir(), 'edgec-no-such-fashion-dir');
  t.throws(() => loadFashionMnist('test', { dir: missing }), { instanceOf: EdgecError, message: /apt-get install dataset-fashion-mnist/ });
});

test('FASHION_MNIST_DIR overrides the Debian path', (t) => {
  const saved = process.env.FASHION_MNIST_DIR;
  try {
    delete process.env.FASHION_MNIST_DIR;
    t.is(fashionMnistDir(), DEFAULT_FASHION_MNIST_DIR);
    process.env.FASHION_MNIST_DIR = 'somewhere/else';
    t.is(fashionMnistDir(), 'somewhere/else');
  } finally {
    if (saved === undefined) delete process.env.FASHION_MNIST_DIR;
    else process.env.FASHION_MNIST_DIR = saved;
  }
});

test('the .npy files hold images float32 [N, 28, 28, 1] and labels int32 [N]', (t) => {
  const dir = fakeDataset(t, idx([3, 28, 28], ramp(3 * 28 * 28)), idx([3], [2, 8, 5]));
  const set = loadFashionMnist('test', { dir });
  writeFashionMnistNpy(set, join(dir, 'x.npy'), join(dir, 'y.npy'));
  const images = readNpy(readFileSync(join(dir, 'x.npy')));
  const labels = readNpy(readFileSync(join(dir, 'y.npy')));
  t.is(images.dtype, 'float32');
  t.deepEqual(images.shape, [3, 28, 28, 1]);
  t.deepEqual(images.data, set.images);
  t.is(labels.dtype, 'int32');
  t.deepEqual(labels.shape, [3]);
  t.deepEqual(Array.from(labels.data as Int32Array), [2, 8, 5]);
  t.deepEqual(fashionMnistNpy(set).labels, new Uint8Array(readFileSync(join(dir, 'y.npy'))));
});

testWhere([missingFullData()], 'the real test split has 10,000 images, 1,000 of each class', (t) => {
  const set = loadFashionMnist('test');
  t.is(set.count, 10_000);
  t.is(set.images.length, 10_000 * 28 * 28);
  const perClass = new Array(FASHION_MNIST_CLASSES.length).fill(0);
  for (const label of set.labels) perClass[label]++;
  t.deepEqual(perClass, new Array(10).fill(1000));
  let max = 0;
  for (const v of set.images) max = Math.max(max, v);
  t.is(max, 1);
});

test('seeded permutations repeat for a seed and differ between seeds', (t) => {
  const a = permutation(100, seededRandom(5));
  t.deepEqual(a, permutation(100, seededRandom(5)));
  t.notDeepEqual(a, permutation(100, seededRandom(6)));
  t.deepEqual(Array.from(a).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
});

test.serial('the fast conv weight gradient equals the cpu backend own, in NHWC and NCHW', async (t) => {
  await tfc.setBackend('cpu');
  type Shape4 = [number, number, number, number];
  const cases: [Shape4, Shape4, number, 'same' | 'valid', 'NHWC' | 'NCHW'][] = [
    [[3, 7, 7, 16], [3, 3, 16, 32], 2, 'same', 'NHWC'],
    [[2, 28, 28, 1], [3, 3, 1, 8], 2, 'same', 'NHWC'],
    [[2, 9, 8, 3], [3, 2, 3, 5], 1, 'valid', 'NHWC'],
    [[2, 9, 8, 3], [5, 3, 3, 4], 3, 'same', 'NHWC'],
    [[2, 3, 6, 5], [3, 3, 3, 4], 1, 'same', 'NCHW'],
  ];
  const gradients = () =>
    cases.map(([xShape, filterShape, stride, pad, format], i) =>
      tfc.tidy(() => {
        // ReLU'd input: zeros are common in the real network and take a shortcut in the kernel.
        // Seeds start at 1: tfjs treats a seed of 0 as none and draws a fresh one.
        const x = tfc.relu(tfc.randomNormal(xShape, 0, 1, 'float32', 1 + i)) as tfc.Tensor4D;
        const filter = tfc.randomNormal(filterShape, 0, 1, 'float32', 100 + i) as tfc.Tensor4D;
        const y = tfc.conv2d(x, filter, stride, pad, format);
        const dy = tfc.randomNormal(y.shape, 0, 1, 'float32', 200 + i);
        return tfc.grad((f: tfc.Tensor) => tfc.sum(tfc.mul(tfc.conv2d(x, f as tfc.Tensor4D, stride, pad, format), dy)))(filter).dataSync();
      }),
    );
  const stockKernel = tfc.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc;
  const stock = gradients();
  useFastConvBackpropFilter();
  t.not(tfc.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc, stockKernel, 'the kernel was replaced');
  const fast = gradients();
  stock.forEach((expected, i) => {
    let worst = 0;
    for (let k = 0; k < expected.length; k++) worst = Math.max(worst, Math.abs(fast[i][k] - expected[k]) / (1 + Math.abs(expected[k])));
    t.true(worst < 1e-5, `case ${i}: relative difference ${worst}`);
  });
  useFastConvBackpropFilter();
  t.deepEqual(gradients()[0], fast[0], 'a second call keeps the fast kernel in place');
});

test.serial('folderSaver writes model.json and weights.bin that tfjs reads back', async (t) => {
  await tfc.setBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'edgec-tfjs-save-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [3], units: 4, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const out = join(dir, 'nested', 'model');
  await model.save(folderSaver(out));

  const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  t.is(json.format, 'layers-model');
  t.deepEqual(json.weightsManifest.map((g: { paths: string[] }) => g.paths), [['weights.bin']]);
  const weights = readFileSync(join(out, 'weights.bin'));
  t.is(weights.length, (3 * 4 + 4 + 4 * 2 + 2) * 4);
  const loaded = await tfl.loadLayersModel(
    tfc.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(weights).buffer }),
  );
  const x = tfc.tensor2d([[0.5, -1, 2]]);
  t.deepEqual(Array.from((loaded.predict(x) as tfc.Tensor).dataSync()), Array.from((model.predict(x) as tfc.Tensor).dataSync()));
});

const modelDir = new URL('../examples/fashion-mnist/model/', import.meta.url);
test('the trained example model is a small layers model whose manifest matches its weights', (t) => {
  const json = JSON.parse(readFileSync(new URL('model.json', modelDir), 'utf8'));
  const specs: { shape: number[]; dtype: string }[] = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const bytes = specs.reduce((sum, s) => sum + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  t.true(specs.every((s) => s.dtype === 'float32'));
  t.is(statSync(new URL('weights.bin', modelDir)).size, bytes);
  t.true(bytes < 100_000, `${bytes} bytes of weights`);
  const classes = json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
  for (const kind of ['Conv2D', 'BatchNormalization', 'DepthwiseConv2D', 'MaxPooling2D', 'Dropout', 'Dense']) t.true(classes.includes(kind), kind);
});
