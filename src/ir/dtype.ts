import type { DType, TensorData } from './types.ts';

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  int8: 1,
  uint8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
};

/** The integer range of each quantized dtype. */
export const DTYPE_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
};

export function allocate(dtype: DType, length: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
  }
}

/** A view of `bytes` (little-endian, as TFLite and .npy store them) as the dtype's typed array; copies to align. */
export function viewBytes(dtype: DType, bytes: Uint8Array): TensorData {
  const size = DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype}`);
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const length = aligned.byteLength / size;
  switch (dtype) {
    case 'float32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, length);
    case 'int8':
      return new Int8Array(aligned.buffer, aligned.byteOffset, length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(aligned.buffer, aligned.byteOffset, length);
    case 'int16':
      return new Int16Array(aligned.buffer, aligned.byteOffset, length);
    case 'int32':
      return new Int32Array(aligned.buffer, aligned.byteOffset, length);
    case 'int64':
      return new BigInt64Array(aligned.buffer, aligned.byteOffset, length);
  }
}

export function dataBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  return 'int64';
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
