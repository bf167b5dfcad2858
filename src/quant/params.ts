// The TFLite int8 quantization spec as arithmetic on values:
//   activations: per-tensor asymmetric int8, real = scale * (q - zeroPoint), q in [-128, 127];
//   weights: per-channel symmetric int8, zero point 0, q in [-127, 127];
//   bias: int32, zero point 0, scale = input scale x weight scale of its channel.
// and its 16x8 variant: activations per-tensor symmetric int16 (zero point 0, q in
// [-32767, 32767] from the range's largest magnitude), the same int8 weights, an int64 bias.
// Scales are rounded to float32 here, once, because that is what a .tflite file stores and what
// every kernel computes its multipliers from.

import { DTYPE_RANGE, numel } from '../ir/dtype.ts';
import type { Quantization } from '../ir/types.ts';
import { INT32_MAX, roundHalfAwayFromZero as roundHalfAway } from '../lower/fixedpoint.ts';
import { MIN_SCALE, type Range, nudgeRange } from './range.ts';

export interface Affine {
  scale: number;
  zeroPoint: number;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

export const perTensor = ({ scale, zeroPoint }: Affine): Quantization => ({ scale: [scale], zeroPoint: [zeroPoint], axis: 0 });

/** The parameters of a per-tensor quantized tensor. */
export const affineOf = (quant: Quantization): Affine => ({ scale: quant.scale[0], zeroPoint: quant.zeroPoint[0] });

/** The integer types of activations: int8, or int16 in TFLite's 16x8 scheme. */
export type ActivationDtype = 'int8' | 'int16';

/** The bias type of a weighted layer with `activations`: TFLite's converter makes 16x8 biases int64. */
export const BIAS_DTYPE = { int8: 'int32', int16: 'int64' } as const satisfies Record<ActivationDtype, 'int32' | 'int64'>;

/**
 * Scale and zero point of `range` (nudged to include 0): int8 maps it onto [-128, 127]; int16
 * (symmetric, as the 16x8 kernels require) maps its largest magnitude onto 32767.
 */
export function affineFromRange(range: Range, what: string, dtype: ActivationDtype = 'int8'): Affine {
  const [min, max] = nudgeRange(range, what);
  if (dtype === 'int16') return { scale: Math.fround(Math.max(-min, max, 32767 * MIN_SCALE) / 32767), zeroPoint: 0 };
  const scale = Math.fround((max - min) / 255);
  return { scale, zeroPoint: clamp(roundHalfAway(-128 - min / scale), -128, 127) };
}

/** float -> int8 (or int16) as TFLite's QUANTIZE computes it: x / scale in float32, rounded, plus the zero point, clamped. */
export function quantizeValues(values: Float32Array, affine: Affine): Int8Array;
export function quantizeValues(values: Float32Array, affine: Affine, dtype: ActivationDtype): Int8Array | Int16Array;
export function quantizeValues(values: Float32Array, { scale, zeroPoint }: Affine, dtype: ActivationDtype = 'int8'): Int8Array | Int16Array {
  const [lo, hi] = DTYPE_RANGE[dtype]!;
  const out = dtype === 'int16' ? new Int16Array(values.length) : new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = clamp(roundHalfAway(Math.fround(values[i] / scale)) + zeroPoint, lo, hi);
  return out;
}

export function dequantizeValues(values: Int8Array | Int16Array, { scale, zeroPoint }: Affine): Float32Array {
  return Float32Array.from(values, (q) => scale * (q - zeroPoint));
}

export interface QuantizedConstant<T> {
  data: T;
  quant: Quantization;
}

/**
 * Symmetric per-channel int8 weights along `axis`. Each channel's scale is its largest magnitude
 * over 127, raised to `minScales[c]` where given (so that the bias still fits in int32). A channel
 * of zeros gets a tiny scale and stays zeros. `round` puts the values on that grid (default: to
 * nearest); an adaptive rounding may round some values the other way.
 */
export function quantizeWeights(
  weights: Float32Array,
  shape: number[],
  axis: number,
  minScales?: Float64Array,
  round: (weights: Float32Array, shape: number[], axis: number, scales: number[]) => Int8Array = roundWeights,
): QuantizedConstant<Int8Array> {
  const scale = weightScales(weights, shape, axis, minScales);
  return { data: round(weights, shape, axis, scale), quant: { scale, zeroPoint: scale.map(() => 0), axis } };
}

/** Which channel along `axis` each element of a tensor of `shape` (row-major) is in. */
export function channelIndexer(shape: number[], axis: number): (i: number) => number {
  const channels = shape[axis];
  const inner = numel(shape.slice(axis + 1));
  return (i) => Math.floor(i / inner) % channels;
}

/** The per-channel scales of quantizeWeights. */
export function weightScales(weights: Float32Array, shape: number[], axis: number, minScales?: Float64Array): number[] {
  const channelOf = channelIndexer(shape, axis);
  const maxAbs = new Float64Array(shape[axis]);
  weights.forEach((w, i) => {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(w));
  });
  return Array.from(maxAbs, (m, c) => Math.fround(Math.max(m > 0 ? m / 127 : MIN_SCALE, minScales?.[c] ?? 0)));
}

/** Round to nearest (half away from zero) on the per-channel grid, clamped to [-127, 127]. */
export function roundWeights(weights: Float32Array, shape: number[], axis: number, scales: number[]): Int8Array {
  const channelOf = channelIndexer(shape, axis);
  return Int8Array.from(weights, (w, i) => clamp(roundHalfAway(w / scales[channelOf(i)]), -127, 127));
}

/** The weight scale each channel needs at least for round(bias / (input scale x weight scale)) to fit in int32. */
export function biasScaleFloor(bias: Float32Array, inputScale: number): Float64Array {
  return Float64Array.from(bias, (b) => Math.abs(b) / (inputScale * INT32_MAX));
}

/** The largest double below 2^63: int64 biases saturate there. */
const INT64_LIMIT = 2 ** 63 - 1024;

/** int32 (or, for 16x8, int64) bias, per channel scale input scale x weight scale[c], zero point 0. */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: number[]): QuantizedConstant<Int32Array>;
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: number[], dtype: 'int32' | 'int64'): QuantizedConstant<Int32Array | BigInt64Array>;
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: number[], dtype: 'int32' | 'int64' = 'int32'): QuantizedConstant<Int32Array | BigInt64Array> {
  const scale = weightScales.map((w) => Math.fround(inputScale * w));
  const quant = { scale, zeroPoint: scale.map(() => 0), axis: 0 };
  if (dtype === 'int64') return { data: BigInt64Array.from(bias, (b, c) => BigInt(clamp(roundHalfAway(b / scale[c]), -INT64_LIMIT, INT64_LIMIT))), quant };
  return { data: Int32Array.from(bias, (b, c) => clamp(roundHalfAway(b / scale[c]), -INT32_MAX - 1, INT32_MAX)), quant };
}
