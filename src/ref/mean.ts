// MEAN on the host, as TFLite Micro's reduce kernels compute it: every input value is added to
// its output's sum in input (row-major) order; int8 then requantizes sum - zeroPoint * count with
// the count folded into the multiplier, float32 divides the float32 sum by the float32 count.

import { numel } from '../ir/dtype.ts';
import type { Graph, MeanOp } from '../ir/types.ts';
import { multiplyByQuantizedMultiplier } from '../lower/fixedpoint.ts';
import { type MeanParams, lowerMean } from '../lower/mean.ts';
import type { Kernel } from './kernel.ts';

/**
 * Adds each input value into sums[output index]. A Float32Array of sums rounds every addition to
 * float32 (as C's float accumulator does); a Float64Array holds integer sums exactly.
 */
function sumOverAxes(p: MeanParams, input: Int8Array | Float32Array, sums: Float32Array | Float64Array): void {
  const shape = p.inShape;
  const rank = shape.length;
  // Output stride of each input axis: 0 on reduced axes, so walking the input walks the sums.
  const strides = new Array<number>(rank).fill(0);
  for (let d = rank - 1, stride = 1; d >= 0; d--) {
    if (p.axes.includes(d)) continue;
    strides[d] = stride;
    stride *= shape[d];
  }
  const index = new Array<number>(rank).fill(0);
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    sums[o] += input[i];
    for (let d = rank - 1; d >= 0; d--) {
      o += strides[d];
      if (++index[d] < shape[d]) break;
      o -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
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
  return sums.map((sum) => Math.fround(sum / count));
}

export function prepareMean(graph: Graph, op: MeanOp): Kernel {
  const p = lowerMean(graph, op);
  if (p.dtype === 'int8') return ([x]) => meanInt8(p, x as Int8Array);
  return ([x]) => meanFloat(p, x as Float32Array);
}
