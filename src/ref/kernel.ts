// What every host reference kernel looks like to the executor, and the output stages they share.

import type { TensorData } from '../ir/types.ts';
import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplier64 } from '../lower/fixedpoint.ts';
import type { Int8Requant } from '../lower/requant.ts';

/** Runs one op: its input values in op.inputs order (constants included) in, its output out. */
export type Kernel = (inputs: TensorData[]) => TensorData;

/** A kernel whose op keeps state from one call to the next (an LSTM's hidden and cell state); reset() clears it. */
export type StatefulKernel = Kernel & { reset(): void };

/**
 * A weighted op's accumulator to its output code with the multiplier of `channel`: requantize,
 * add the output offset, clamp. `acc` is the exact sum; an int32 accumulator wraps first, as the
 * C one would have, and a 16x8 int64 one goes through TFLite's 64-bit rule.
 */
export function requantizeAcc(p: Int8Requant, acc: number, channel: number): number {
  const [multiplier, shift] = [p.outputMultiplier[channel], p.outputShift[channel]];
  const scaled = p.wideAccumulator ? multiplyByQuantizedMultiplier64(acc, multiplier, shift) : multiplyByQuantizedMultiplier(acc | 0, multiplier, shift);
  const v = scaled + p.outputOffset;
  return v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
}

/** Activations of an int8 or 16x8 weighted op, and its int32 or int64 bias. */
export type QuantizedActivations = Int8Array | Int16Array;
export type QuantizedBias = Int32Array | BigInt64Array;

/** C++'s min(max(x, lo), hi): NaN passes through, as in TFLite's ActivationFunctionWithMinMax. */
export function clampFloat(x: number, lo: number, hi: number): number {
  const y = x < lo ? lo : x;
  return hi < y ? hi : y;
}
