// Calibration data loading: .npy, .npz (numpy's own files and hand-built archives), folders of
// PNG images, preprocessing, sample limits, and the errors a user sees for bad data.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as nodeCrc32, deflateRawSync } from 'node:zlib';
import { EdgecError } from '../src/ir/errors.ts';
import type { DType, Graph } from '../src/ir/types.ts';
import { type NdArray, writeNpy } from '../src/npy/npy.ts';
import { calibrationSet, loadCalibrationData } from '../src/quant/calibrate.ts';
import { readZip } from '../src/quant/zip.ts';
import { writePng } from './helpers/png-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgec-calib-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** Writes `bytes` to a fresh file (or folder entry) under the test's temporary folder. */
function file(name: string, bytes: Uint8Array, folder = dir): string {
  const path = join(folder, name || `f${files++}`);
  writeFileSync(path, bytes);
  return path;
}
const folder = () => mkdtempSync(join(dir, 'png-'));

/** A float graph with inputs of the given shapes (what calibration looks at) and no ops. */
function model(...shapes: number[][]): Graph {
  const tensors = shapes.map((shape, i) => ({ name: `input_${i}`, shape, dtype: 'float32' as DType }));
  return { name: 'm', tensors, ops: [], inputs: tensors.map((_, i) => i), outputs: tensors.map((_, i) => i) };
}

const npy = (shape: number[], data: NdArray['data'], dtype: DType = 'float32') => writeNpy({ dtype, shape, data });
const values = (data: Float32Array) => Array.from(data);

// np.savez(f, np.arange(6, dtype=np.float32).reshape(2, 3), labels=np.array([1, 0], dtype=np.int32)), numpy 2.4
const NUMPY_SAVEZ =
  'UEsDBC0AAAAAAAAAIQCAMaOH//////////8KABQAbGFiZWxzLm5weQEAEACIAAAAAAAAAIgAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAFBLAwQtAAAAAAAAACEAT+kAKv//////////CQAUAGFycl8wLm5weQEAEACYAAAAAAAAAJgAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPwAAAEAAAEBAAACAQAAAoEBQSwECLQMtAAAAAAAAACEAgDGjh4gAAACIAAAACgAAAAAAAAAAAAAAgAEAAAAAbGFiZWxzLm5weVBLAQItAy0AAAAAAAAAIQBP6QAqmAAAAJgAAAAJAAAAAAAAAAAAAACAAcQAAABhcnJfMC5ucHlQSwUGAAAAAAIAAgBvAAAAlwEAAAAA';
// np.savez_compressed(f, x=(np.arange(12, dtype=np.uint8) * 20).reshape(3, 2, 2)), numpy 2.4
const NUMPY_SAVEZ_COMPRESSED =
  'UEsDBC0AAAAIAAAAIQBEBHbF//////////8FABQAeC5ucHkBABAAjAAAAAAAAABUAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loF5Taqiuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GsY6CkZApKmjUKtAHuBiENGwCUip6Fmw5cQdAFBLAQItAy0AAAAIAAAAIQBEBHbFVAAAAIwAAAAFAAAAAAAAAAAAAACAAQAAAAB4Lm5weVBLBQYAAAAAAQABADMAAACLAAAAAAA=';

/** A plain (non-ZIP64) archive, each entry stored or deflated. */
function zip(entries: [string, Uint8Array, 'stored' | 'deflated'][]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data, method] of entries) {
    const packed = method === 'deflated' ? deflateRawSync(data) : Buffer.from(data);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(method === 'deflated' ? 8 : 0, 8);
    local.writeUInt32LE(nodeCrc32(data), 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(method === 'deflated' ? 8 : 0, 10);
    central.writeUInt32LE(nodeCrc32(data), 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

const pattern = (count: number, seed: number) => Uint8Array.from({ length: count }, (_, i) => (i * 73 + seed * 31 + ((i * i) >> 3)) & 0xff);

test('an .npy of N samples, and of one sample, feed a model input; size-1 axes may differ', async (t) => {
  const many = await loadCalibrationData(file('', npy([3, 2, 2], Float32Array.from({ length: 12 }, (_, i) => i))), model([1, 2, 2, 1]));
  t.is(many.count, 3);
  t.deepEqual(values(many.inputs[0]), Array.from({ length: 12 }, (_, i) => i));
  const one = await loadCalibrationData(file('', npy([1, 4], Float32Array.of(1, 2, 3, 4))), model([4]));
  t.is(one.count, 1);
  const ints = await loadCalibrationData(file('', npy([2, 3], Int8Array.of(-128, 0, 127, 1, 2, 3), 'int8')), model([1, 3]), { maxSamples: 1 });
  t.is(ints.count, 1);
  t.deepEqual(values(ints.inputs[0]), [-128, 0, 127]);
});

test('preprocessing scales, subtracts a per-channel mean and divides by a per-channel std', (t) => {
  const raw: NdArray = { dtype: 'uint8', shape: [2, 1, 1, 2], data: Uint8Array.of(0, 255, 51, 102) };
  const set = calibrationSet(model([1, 1, 1, 2]), [raw], 'mem', { scale: 1 / 255, mean: [0.5, 0], std: [0.5, 2] });
  const expected = [(0 - 0.5) / 0.5, 1 / 2, (0.2 - 0.5) / 0.5, 0.4 / 2];
  values(set.inputs[0]).forEach((v, i) => t.true(Math.abs(v - expected[i]) < 1e-6, `${v} vs ${expected[i]}`));
  t.throws(() => calibrationSet(model([1, 2]), [raw], 'mem', { mean: [1, 2, 3] }), { instanceOf: EdgecError, message: /mean has 3 values/ });
  t.throws(() => calibrationSet(model([1, 2]), [raw], 'mem', { std: 0 }), { instanceOf: EdgecError, message: /std must not be 0/ });
});

test("numpy's own .npz files: positional arrays, named arrays, compressed", async (t) => {
  const positional = await loadCalibrationData(file('a.npz', Buffer.from(NUMPY_SAVEZ, 'base64')), model([1, 3]));
  t.is(positional.count, 2);
  t.deepEqual(values(positional.inputs[0]), [0, 1, 2, 3, 4, 5]);
  const compressed = await loadCalibrationData(file('b.npz', Buffer.from(NUMPY_SAVEZ_COMPRESSED, 'base64')), model([2, 2]), { scale: 0.05 });
  t.is(compressed.count, 3);
  t.deepEqual(values(compressed.inputs[0]), Array.from({ length: 12 }, (_, i) => i));
  t.deepEqual([...readZip(Buffer.from(NUMPY_SAVEZ, 'base64'), 'a.npz').keys()], ['labels.npy', 'arr_0.npy']);
});

test('a .npz feeds a multi-input model by input name, stored or deflated', async (t) => {
  const archive = zip([
    ['input_1.npy', npy([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)), 'deflated'],
    ['input_0.npy', npy([2, 1], Float32Array.of(7, 8)), 'stored'],
  ]);
  const set = await loadCalibrationData(file('two.npz', archive), model([1, 1], [1, 3]));
  t.is(set.count, 2);
  t.deepEqual(values(set.inputs[0]), [7, 8]);
  t.deepEqual(values(set.inputs[1]), [1, 2, 3, 4, 5, 6]);
  const missing = await t.throwsAsync(loadCalibrationData(file('one.npz', zip([['other.npy', npy([1], Float32Array.of(1)), 'stored']])), model([1], [1])), {
    instanceOf: EdgecError,
  });
  t.regex(missing.message, /no array for model input 'input_0' \(looked for input_0, arr_0\); the archive holds other/);
  const uneven = zip([
    ['input_0.npy', npy([2, 1], Float32Array.of(7, 8)), 'stored'],
    ['input_1.npy', npy([3, 3], new Float32Array(9)), 'stored'],
  ]);
  await t.throwsAsync(loadCalibrationData(file('uneven.npz', uneven), model([1, 1], [1, 3])), { message: /different numbers of samples \(2, 3\)/ });
});

test('corrupt archives are data errors that say what is wrong', (t) => {
  const good = zip([['x.npy', npy([2], Float32Array.of(1, 2)), 'deflated']]);
  const flipped = good.slice();
  flipped[40] ^= 0xff; // inside the deflated data
  t.throws(() => readZip(flipped, 'bad.npz'), { instanceOf: EdgecError, message: /bad\.npz: .*(CRC|corrupt|holds)/ });
  t.throws(() => readZip(good.subarray(0, good.length - 30), 'cut.npz'), { instanceOf: EdgecError, message: /cut\.npz: .*end-of-central-directory/ });
  const crc = good.slice();
  new DataView(crc.buffer).setUint32(good.length - 22 - 46 - 5 + 16, 0x12345678, true);
  t.throws(() => readZip(crc, 'crc.npz'), { instanceOf: EdgecError, message: /fails its CRC check/ });
});

test('a folder of PNGs: name order, channel conversion to the model input, sample limit, non-images ignored', async (t) => {
  const images = folder();
  const a = pattern(3 * 2 * 3, 5);
  const b = pattern(3 * 2 * 3, 6);
  file('b.png', writePng({ width: 3, height: 2, colorType: 2, samples: b }), images);
  file('a.PNG', writePng({ width: 3, height: 2, colorType: 2, samples: a }), images);
  file('notes.txt', new Uint8Array(3), images);
  const rgb = await loadCalibrationData(images, model([1, 2, 3, 3]));
  t.is(rgb.count, 2);
  t.deepEqual(values(rgb.inputs[0]), [...a, ...b]);
  const bgr = await loadCalibrationData(images, model([1, 2, 3, 3]), { channelOrder: 'bgr', maxSamples: 1 });
  t.is(bgr.count, 1);
  t.deepEqual(values(bgr.inputs[0]).slice(0, 3), [a[2], a[1], a[0]]);
  const grey = await loadCalibrationData(images, model([1, 2, 3, 1]), { scale: 1 / 255 });
  t.true(Math.abs(grey.inputs[0][0] - (0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]) / 255) < 1e-6);

  const greyImages = folder();
  const g = pattern(6, 7);
  file('g.png', writePng({ width: 3, height: 2, colorType: 0, samples: g }), greyImages);
  const replicated = await loadCalibrationData(greyImages, model([2, 3, 3]));
  t.deepEqual(values(replicated.inputs[0]).slice(0, 6), [g[0], g[0], g[0], g[1], g[1], g[1]]);
  await t.throwsAsync(loadCalibrationData(greyImages, model([1, 4, 4, 1])), { message: /g\.png: the image is 3x2, model input 'input_0' takes 4x4 \(images are not resized\)/ });
  await t.throwsAsync(loadCalibrationData(greyImages, model([1, 6])), { message: /is not one image/ });
  await t.throwsAsync(loadCalibrationData(folder(), model([1, 2, 3, 1])), { message: /holds no \.png images/ });
});

test('data that does not fit the model is a data error naming the file and the input', async (t) => {
  const wrongShape = await t.throwsAsync(loadCalibrationData(file('s.npy', npy([2, 5], new Float32Array(10))), model([1, 4])), { instanceOf: EdgecError });
  t.is(wrongShape.kind, 'data');
  t.regex(wrongShape.message, /s\.npy: the array for input 'input_0' has shape \[2,5\]; the input takes samples of shape \[1,4\]/);
  await t.throwsAsync(loadCalibrationData(file('b.npy', npy([2], Uint8Array.of(1, 0), 'bool')), model([1])), { message: /is bool; calibration data must be float32/ });
  const nan = Float32Array.of(1, 2, 3, NaN);
  await t.throwsAsync(loadCalibrationData(file('nan.npy', npy([2, 2], nan)), model([2])), { message: /nan\.npy: the data holds NaN at sample 1, element 1 of input 'input_0'/ });
  await t.throwsAsync(loadCalibrationData(file('big.npy', npy([1], Float32Array.of(3e38))), model([1]), { scale: 10 }), { message: /preprocessing turns the value .* into Infinity/ });
  await t.throwsAsync(loadCalibrationData(file('empty.npy', npy([0, 3], new Float32Array(0))), model([3])), { message: /empty\.npy: the calibration set is empty/ });
  await t.throwsAsync(loadCalibrationData(file('one.npy', npy([1], Float32Array.of(1))), model([1], [1])), { message: /holds one array, the model has 2 inputs \('input_0', 'input_1'\); use a \.npz/ });
  await t.throwsAsync(loadCalibrationData(join(dir, 'absent.npy'), model([1])), { message: /absent\.npy: cannot read the calibration data \(ENOENT\)/ });
  await t.throwsAsync(loadCalibrationData(file('junk.npy', Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)), model([1])), { message: /not a readable \.npy/ });
  const quantized: Graph = { ...model([1]), tensors: [{ name: 'q', shape: [1], dtype: 'int8', quant: { scale: [1], zeroPoint: [0], axis: 0 } }] };
  const int8Model = await t.throwsAsync(loadCalibrationData(file('', npy([1], Float32Array.of(1))), quantized), { instanceOf: EdgecError });
  t.is(int8Model.kind, 'model');
  t.regex(int8Model.message, /input 'q' is int8: calibration .* needs a float model/);
  await t.throwsAsync(loadCalibrationData(file('', npy([1], Float32Array.of(1))), model([1]), { maxSamples: 0 }), { message: /sample limit must be a positive integer/ });
});
