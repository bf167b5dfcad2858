// The numpy .npy format (versions 1.0, 2.0 and 3.0), little-endian, C order.
// Header: magic "\x93NUMPY", major, minor, header length (u16 in v1, u32 in v2/3),
// then a Python dict literal padded with spaces to a 64-byte boundary and ended by '\n'.

import { dataBytes, DTYPE_BYTES, dtypeOf, numel, viewBytes } from '../ir/dtype.ts';
import { dataError } from '../ir/errors.ts';
import type { DType, TensorData } from '../ir/types.ts';

export interface NdArray {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const DESCR_TO_DTYPE: Record<string, DType> = {
  '|i1': 'int8',
  'i1': 'int8',
  '|u1': 'uint8',
  'u1': 'uint8',
  '|b1': 'bool',
  '<i2': 'int16',
  '<i4': 'int32',
  '<i8': 'int64',
  '<f4': 'float32',
};

const DTYPE_TO_DESCR: Record<DType, string> = {
  int8: '|i1',
  uint8: '|u1',
  bool: '|b1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  float32: '<f4',
};

export function readNpy(bytes: Uint8Array, fileName = '<npy>'): NdArray {
  const fail = (why: string) => dataError(`${fileName}: not a readable .npy file: ${why}`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw fail('missing the \\x93NUMPY magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw fail('truncated header');
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw fail(`format version ${major}.${bytes[7]} is not supported (1.0, 2.0 and 3.0 are)`);
  }
  if (headerStart + headerLength > bytes.length) throw fail('header runs past the end of the file');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLength),
  );
  const { descr, fortranOrder, shape } = parseHeader(header, fail);
  // numpy's default float type: read it as the float32 every edgec stage works in.
  const float64 = descr === '<f8';
  const dtype = float64 ? 'float32' : DESCR_TO_DTYPE[descr];
  if (!dtype) {
    throw dataError(
      `${fileName}: dtype '${descr}' is not supported; use int8, uint8, int16, int32, int64, float32 or float64 (little-endian)`,
    );
  }
  if (fortranOrder) throw dataError(`${fileName}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray`);
  const count = numel(shape);
  const dataStart = headerStart + headerLength;
  const byteCount = count * (float64 ? 8 : DTYPE_BYTES[dtype]);
  if (bytes.length - dataStart !== byteCount) {
    throw dataError(
      `${fileName}: shape [${shape.join(', ')}] of ${float64 ? 'float64' : dtype} needs ${byteCount} bytes of data, the file has ${bytes.length - dataStart}`,
    );
  }
  const body = bytes.slice(dataStart, dataStart + byteCount);
  const data = float64 ? Float32Array.from(new Float64Array(body.buffer, 0, count)) : viewBytes(dtype, body);
  return { dtype, shape, data };
}

function parseHeader(header: string, fail: (why: string) => Error) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw fail(`header is not a numpy dict: ${JSON.stringify(header.trim().slice(0, 120))}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      if (!/^\d+$/.test(s)) throw fail(`shape entry '${s}' is not a non-negative integer`);
      return Number(s);
    });
  if (!shape.every(Number.isSafeInteger) || !Number.isSafeInteger(numel(shape))) throw fail('shape is too large');
  return { descr, fortranOrder: fortran === 'True', shape };
}

export function writeNpy(array: NdArray): Uint8Array {
  if (numel(array.shape) !== array.data.length) {
    throw new RangeError(`shape [${array.shape}] does not match ${array.data.length} elements`);
  }
  if (dtypeOf(array.data) !== array.dtype && !(array.dtype === 'bool' && array.data instanceof Uint8Array)) {
    throw new RangeError(`data is ${dtypeOf(array.data)}, not ${array.dtype}`);
  }
  const shapeText = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  const dict = `{'descr': '${DTYPE_TO_DESCR[array.dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad so that magic + version + length + header + '\n' is a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const body = dataBytes(array.data);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

/** The `index`-th slice along the first axis (one sample). */
export function sampleOf(array: NdArray, index: number): TensorData {
  const per = numel(array.shape.slice(1));
  return array.data.subarray(index * per, (index + 1) * per) as TensorData;
}
