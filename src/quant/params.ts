// The TFLite int8 quantization spec as arithmetic on values:
//   activations: per-tensor asymmetric int8, real = scale * (q - zeroPoint), q in [-128, 127];
//   weights: per-channel symmetric int8, zero point 0, q in [-127, 127];
//   bias: int32, zero point 0, scale = input scale x weight scale of its channel.
// Scales are rounded to float32 here, once, because that is what a .tflite file stores and what
// every kernel computes its multipliers from.

import { numel } from '../ir/dtype.ts';
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

/** Scale and zero point that map `range` (nudged to include 0) onto [-128, 127]. */
export function affineFromRange(range: Range, what: string): Affine {
  const [min, max] = nudgeRange(range, what);
  const scale = Math.fround((max - min) / 255);
  return { scale, zeroPoint: clamp(roundHalfAway(-128 - min / scale), -128, 127) };
}

/** float -> int8 as TFLite's QUANTIZE computes it: x / scale in float32, rounded, plus the zero point, clamped. */
export function quantizeValues(values: Float32Array, { scale, zeroPoint }: Affine): Int8Array {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = clamp(roundHalfAway(Math.fround(values[i] / scale)) + zeroPoint, -128, 127);
  return out;
}

export function dequantizeValues(values: Int8Array, { scale, zeroPoint }: Affine): Float32Array {
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

/** int32 bias, per channel scale input scale x weight scale[c], zero point 0. */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: number[]): QuantizedConstant<Int32Array> {
  const scale = weightScales.map((w) => Math.fround(inputScale * w));
  const data = Int32Array.from(bias, (b, c) => clamp(roundHalfAway(b / scale[c]), -INT32_MAX - 1, INT32_MAX));
  return { data, quant: { scale, zeroPoint: scale.map(() => 0), axis: 0 } };
}
