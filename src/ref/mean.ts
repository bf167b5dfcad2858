// MEAN, SUM and REDUCE_MAX on the host, as TFLite Micro's reduce kernels compute them (SUM is
// MEAN without the count in the multiplier or the float division). MEAN: every input value is added to
// its output's sum in input (row-major) order; int8 then requantizes sum - zeroPoint * count with
// the count folded into the multiplier, float32 divides the float32 sum by the float32 count.

import { numel } from '../ir/dtype.ts';
import type { Graph, MeanOp } from '../ir/types.ts';
import { multiplyByQuantizedMultiplier } from '../lower/fixedpoint.ts';
import { type MeanParams, type MeanShape, lowerMean, lowerReduceMax } from '../lower/mean.ts';
import type { Kernel } from './kernel.ts';

/**
 * Adds each input value into sums[output index]. A Float32Array of sums rounds every addition to
 * float32 (as C's float accumulator does); a Float64Array holds integer sums exactly.
 */
function sumOverAxes(p: MeanShape, input: Int8Array | Float32Array, sums: Float32Array | Float64Array): void {
  const strides = outputStrides(p);
  const index = new Array<number>(p.inShape.length).fill(0);
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    sums[o] += input[i];
    o = step(p.inShape, strides, index, o);
  }
}

/** Output stride of each input axis: 0 on reduced axes, so walking the input walks the outputs. */
function outputStrides(p: MeanShape): number[] {
  const strides = new Array<number>(p.inShape.length).fill(0);
  for (let d = p.inShape.length - 1, stride = 1; d >= 0; d--) {
    if (p.axes.includes(d)) continue;
    strides[d] = stride;
    stride *= p.inShape[d];
  }
  return strides;
}

/** Advances the input index by one element; returns the output offset there. */
function step(shape: number[], strides: number[], index: number[], o: number): number {
  for (let d = shape.length - 1; d >= 0; d--) {
    o += strides[d];
    if (++index[d] < shape[d]) break;
    o -= strides[d] * shape[d];
    index[d] = 0;
  }
  return o;
}

export function meanInt8(p: MeanParams & { dtype: 'int8' }, input: Int8Array): Int8Array {
  const sums = new Float64Array(numel(p.inShape) / p.count);
  sumOverAxes(p, input, sums);
  const offset = p.inputZeroPoint * p.count;
  return Int8Array.from(sums, (sum) => {
    const v = multiplyByQuantizedMultiplier((sum - offset) | 0, p.multiplier, p.shift) + p.outputZeroPoint;
    return v < -128 ? -128 : v > 127 ? 127 : v;
  });
}

export function meanFloat(p: MeanParams, input: Float32Array): Float32Array {
  const sums = new Float32Array(numel(p.inShape) / p.count);
  sumOverAxes(p, input, sums);
  const count = Math.fround(p.count);
  return p.average ? sums.map((sum) => Math.fround(sum / count)) : sums;
}

/**
 * REDUCE_MAX: each output starts at the type's lowest value (-FLT_MAX for float32, not -inf) and
 * takes each input that is larger, in input order (a NaN never does).
 */
export function reduceMax<T extends Int8Array | Float32Array>(p: MeanShape, input: T, out: T): T {
  out.fill(out instanceof Int8Array ? -128 : -3.4028234663852886e38);
  const strides = outputStrides(p);
  const index = new Array<number>(p.inShape.length).fill(0);
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] > out[o]) out[o] = input[i];
    o = step(p.inShape, strides, index, o);
  }
  return out;
}

export function prepareMean(graph: Graph, op: MeanOp): Kernel {
  if (op.kind === 'reduce_max') {
    const p = lowerReduceMax(graph, op);
    const size = numel(p.inShape) / p.count;
    return ([x]) => (p.dtype === 'int8' ? reduceMax(p, x as Int8Array, new Int8Array(size)) : reduceMax(p, x as Float32Array, new Float32Array(size)));
  }
  const p = lowerMean(graph, op);
  if (p.dtype === 'int8') return ([x]) => meanInt8(p, x as Int8Array);
  return ([x]) => meanFloat(p, x as Float32Array);
}
