// The real range [min, max] an int8 tensor must represent, made valid for the TFLite int8 spec.

import { dataError } from '../ir/errors.ts';

export type Range = [number, number];

/**
 * The smallest activation scale edgec produces. Ranges narrower than 255 of these (an activation
 * that was always zero, or nearly) are widened to that: their values are all (near) zero, so any
 * scale holds them, and a scale this size keeps the requantization multipliers of the ops around
 * them (input scale x weight scale / output scale, softmax's beta x input scale) in the range the
 * int8 kernels can apply.
 */
export const MIN_SCALE = 2 ** -24;

/**
 * Extends `range` to include 0 (TFLite needs real 0 to be exactly representable: padding and
 * ReLU produce it) and widens degenerate ranges, keeping the side the values were on.
 */
export function nudgeRange([min, max]: Range, what: string): Range {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw dataError(`${what}: cannot quantize the range [${min}, ${max}]; it must be finite with min <= max`);
  }
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const span = 255 * MIN_SCALE;
  if (hi - lo >= span) return [lo, hi];
  return -lo > hi ? [hi - span, hi] : [lo, lo + span];
}

/**
 * Ranges of values that are no tensor of the graph, an LSTM's cell state, sit in the same range
 * maps under a negative key: -1 - the index of the op that keeps them.
 */
export const stateRangeKey = (op: number) => -1 - op;
