// QUANTIZE and DEQUANTIZE on the host, as TFLite Micro's reference kernels compute them.

import { allocate } from '../ir/dtype.ts';
import type { Graph, UnaryOp } from '../ir/types.ts';
import { multiplyByQuantizedMultiplier, roundHalfAwayFromZero } from '../lower/fixedpoint.ts';
import { type DequantizeParams, type QuantizeParams, lowerDequantize, lowerQuantize } from '../lower/quantize.ts';
import type { Kernel } from './kernel.ts';

type IntegerArray = Int8Array | Uint8Array | Int16Array | Int32Array;

/**
 * float32 -> integer: round(x / scale) + zero point, clamped. Values beyond the int32 range
 * saturate and NaN gives the minimum (in C these are undefined conversions).
 */
function affineQuantize(scale: number, zeroPoint: number, min: number, max: number, input: Float32Array, out: IntegerArray): void {
  for (let i = 0; i < input.length; i++) {
    const q = roundHalfAwayFromZero(Math.fround(input[i] / scale)) + zeroPoint;
    out[i] = !(q >= min) ? min : q > max ? max : q;
  }
}

function requantize(p: QuantizeParams & { mode: 'requantize' }, input: IntegerArray, out: IntegerArray): void {
  for (let i = 0; i < input.length; i++) {
    const q = multiplyByQuantizedMultiplier((input[i] - p.inputZeroPoint) | 0, p.multiplier, p.shift) + p.outputZeroPoint;
    out[i] = q < p.min ? p.min : q > p.max ? p.max : q;
  }
}

export function quantize(p: QuantizeParams, input: Float32Array | IntegerArray, out: IntegerArray): IntegerArray {
  if (p.mode === 'affine') affineQuantize(p.scale, p.zeroPoint, p.min, p.max, input as Float32Array, out);
  else requantize(p, input as IntegerArray, out);
  return out;
}

/** integer -> float32: the product in double, rounded once to float32. */
export function dequantize(p: DequantizeParams, input: IntegerArray): Float32Array {
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = p.scale * (input[i] - p.zeroPoint);
  return out;
}

export function prepareQuantize(graph: Graph, op: UnaryOp): Kernel {
  const p = lowerQuantize(graph, op);
  const output = graph.tensors[op.outputs[0]];
  return ([x]) => quantize(p, x as Float32Array | IntegerArray, allocate(output.dtype, x.length) as IntegerArray);
}

export function prepareDequantize(graph: Graph, op: UnaryOp): Kernel {
  const p = lowerDequantize(graph, op);
  return ([x]) => dequantize(p, x as IntegerArray);
}
