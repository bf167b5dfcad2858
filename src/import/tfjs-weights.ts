// Decodes the weights of a TF.js model: the manifest entries in order, each taking its bytes from
// the concatenated shards. Quantized entries (uint8/uint16 affine, float16) come back as float32,
// as tfjs itself dequantizes them when it loads.

import type { io } from '@tensorflow/tfjs-core';
import { numel } from '../ir/dtype.ts';
import { modelError } from '../ir/errors.ts';

export interface WeightValue {
  shape: number[];
  data: Float32Array | Int32Array;
}

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function float16ToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decodeEntry(spec: io.WeightsManifestEntry, bytes: Uint8Array): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = numel(spec.shape);
  const q = spec.quantization;
  if (q?.dtype === 'float16') return Float32Array.from({ length: count }, (_, i) => float16ToFloat(view.getUint16(2 * i, true)));
  if (q) {
    const read = q.dtype === 'uint8' ? (i: number) => view.getUint8(i) : (i: number) => view.getUint16(2 * i, true);
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    const real = (i: number) => read(i) * scale + min;
    return spec.dtype === 'int32' ? Int32Array.from({ length: count }, (_, i) => Math.round(real(i))) : Float32Array.from({ length: count }, (_, i) => real(i));
  }
  if (spec.dtype === 'float32') return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
  if (spec.dtype === 'int32') return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
  return Int32Array.from({ length: count }, (_, i) => view.getUint8(i));
}

/** Every weight by name. `fileName` names the model in errors. */
export function decodeTfjsWeights(weightData: Uint8Array, specs: io.WeightsManifestEntry[], fileName: string): Map<string, WeightValue> {
  const weights = new Map<string, WeightValue>();
  let offset = 0;
  for (const spec of specs) {
    const stored = spec.quantization?.dtype ?? spec.dtype;
    const size = STORED_BYTES[stored];
    if (size === undefined) throw modelError(`${fileName}: weight '${spec.name}' is ${stored}; edgec reads float32, int32, bool and quantized (uint8, uint16, float16) weights`);
    if (!Array.isArray(spec.shape) || spec.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw modelError(`${fileName}: weight '${spec.name}' has an invalid shape ${JSON.stringify(spec.shape)}`);
    }
    const length = numel(spec.shape) * size;
    if (offset + length > weightData.length) {
      throw modelError(`${fileName}: the weight shards hold ${weightData.length} bytes but the manifest needs more (weight '${spec.name}' ends at byte ${offset + length}); a shard is missing or truncated`);
    }
    weights.set(spec.name, { shape: spec.shape, data: decodeEntry(spec, weightData.subarray(offset, offset + length)) });
    offset += length;
  }
  return weights;
}
