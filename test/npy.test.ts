import test from 'ava';
import { readFileSync } from 'node:fs';
import { EdgecError } from '../src/ir/errors.ts';
import { readNpy, sampleOf, writeNpy } from '../src/npy/npy.ts';

const oracles = new URL('../../shared/oracles/', import.meta.url);

test('reads the oracle files with their dtypes and shapes', (t) => {
  const input = readNpy(readFileSync(new URL('person_detect/input.npy', oracles)));
  t.is(input.dtype, 'int8');
  t.deepEqual(input.shape, [8, 1, 96, 96, 1]);
  t.is(input.data.length, 8 * 96 * 96);
  const float = readNpy(readFileSync(new URL('hello_world_float/input.npy', oracles)));
  t.is(float.dtype, 'float32');
  t.is(float.shape[0], 256);
});

test('write then read gives the same array for every dtype', (t) => {
  const cases = [
    { dtype: 'int8', data: Int8Array.from([-128, 0, 127, 5, -1, 2]) },
    { dtype: 'uint8', data: Uint8Array.from([0, 255, 1, 2, 3, 4]) },
    { dtype: 'int16', data: Int16Array.from([-32768, 32767, 0, 1, 2, 3]) },
    { dtype: 'int32', data: Int32Array.from([-2147483648, 2147483647, 0, 1, 2, 3]) },
    { dtype: 'float32', data: Float32Array.from([0.5, -1e-30, 3e38, Number.NaN, Infinity, -0]) },
  ] as const;
  for (const c of cases) {
    for (const shape of [[6], [2, 3], [1, 2, 3, 1]]) {
      const bytes = writeNpy({ dtype: c.dtype, shape, data: c.data });
      t.is((bytes.length - c.data.byteLength) % 64, 0, 'header is padded to 64 bytes');
      const back = readNpy(bytes);
      t.is(back.dtype, c.dtype);
      t.deepEqual(back.shape, shape);
      t.deepEqual(new Uint8Array(back.data.buffer, back.data.byteOffset, back.data.byteLength), new Uint8Array(c.data.buffer));
    }
  }
});

test('a scalar and an empty array round-trip', (t) => {
  t.deepEqual(readNpy(writeNpy({ dtype: 'int8', shape: [], data: Int8Array.from([7]) })).shape, []);
  t.deepEqual(readNpy(writeNpy({ dtype: 'int8', shape: [0, 4], data: new Int8Array(0) })).shape, [0, 4]);
});

test('sampleOf slices along the first axis', (t) => {
  const a = { dtype: 'int8' as const, shape: [3, 2], data: Int8Array.from([1, 2, 3, 4, 5, 6]) };
  t.deepEqual(Array.from(sampleOf(a, 1) as Int8Array), [3, 4]);
});

test('bad files end in a data error that names the file', (t) => {
  const good = writeNpy({ dtype: 'int32', shape: [2, 2], data: new Int32Array(4) });
  const bad: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['no magic', new TextEncoder().encode('hello world, not numpy')],
    ['truncated data', good.subarray(0, good.length - 3)],
    ['extra data', Uint8Array.from([...good, 0, 0, 0, 0])],
    ['header too long', (() => { const b = good.slice(); b[8] = 0xff; b[9] = 0xff; return b; })()],
    ['big-endian', new TextEncoder().encode(new TextDecoder('latin1').decode(good).replace('<i4', '>i4'))],
    ['complex', new TextEncoder().encode(new TextDecoder('latin1').decode(good).replace('<i4', '<c8'))],
    ['fortran', new TextEncoder().encode(new TextDecoder('latin1').decode(good).replace('False', 'True '))],
  ];
  for (const [why, bytes] of bad) {
    const error = t.throws(() => readNpy(bytes, 'data.npy'), { instanceOf: EdgecError }, why);
    t.true(error!.message.startsWith('data.npy'), why);
    t.is(error!.kind, 'data');
  }
});

test('float64 files (numpy\'s default) read as float32', (t) => {
  const body = new Float64Array([0.1, -2.5, 1e-40, 3]);
  const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  const padded = header + ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const bytes = new Uint8Array(10 + padded.length + body.byteLength);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length, 0]);
  bytes.set(new TextEncoder().encode(padded), 10);
  bytes.set(new Uint8Array(body.buffer), 10 + padded.length);
  const array = readNpy(bytes);
  t.is(array.dtype, 'float32');
  t.deepEqual(array.shape, [2, 2]);
  t.deepEqual(Array.from(array.data as Float32Array), [Math.fround(0.1), -2.5, Math.fround(1e-40), 3]);
  t.throws(() => readNpy(bytes.subarray(0, bytes.length - 8)), { message: /of float64 needs 32 bytes/ });
});
