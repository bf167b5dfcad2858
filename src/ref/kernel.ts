// What every host reference kernel looks like to the executor, and the output stages they share.

import type { TensorData } from '../ir/types.ts';
import { multiplyByQuantizedMultiplier } from '../lower/fixedpoint.ts';

/** Runs one op: its input values in op.inputs order (constants included) in, its output out. */
export type Kernel = (inputs: TensorData[]) => TensorData;

/** A kernel whose op keeps state from one call to the next (an LSTM's hidden and cell state); reset() clears it. */
export type StatefulKernel = Kernel & { reset(): void };

/**
 * An int32 accumulator to int8: requantize, add the output offset, clamp. `acc` may be any
 * exactly-held integer; it wraps to int32 first, as the C accumulator would have.
 */
export function requantizeAcc(acc: number, multiplier: number, shift: number, offset: number, min: number, max: number): number {
  const v = multiplyByQuantizedMultiplier(acc | 0, multiplier, shift) + offset;
  return v < min ? min : v > max ? max : v;
}

/** C++'s min(max(x, lo), hi): NaN passes through, as in TFLite's ActivationFunctionWithMinMax. */
export function clampFloat(x: number, lo: number, hi: number): number {
  const y = x < lo ? lo : x;
  return hi < y ? hi : y;
}
