// SVDF on the host as TFLite Micro's integer reference kernel (svdf_common.cc) computes it. The
// activation state lives in the kernel and carries over from one call to the next, as TFLite
// Micro's variable tensor does; reset() writes what its Reset() writes (an int8 state's zero
// point, an int16 state's 0).

import type { Graph, SvdfOp } from '../ir/types.ts';
import { multiplyByQuantizedMultiplier } from '../lower/fixedpoint.ts';
import { type SvdfParams, lowerSvdf } from '../lower/svdf.ts';
import type { StatefulKernel } from './kernel.ts';

/**
 * One inference: state rows (one per filter and sequence, `memory` values, oldest first) move one
 * step back, the newest entry gets the requantized feature product, and each unit sums the time
 * product of its `rank` filters with the bias. Sums are int32 and wrap as they would in C.
 */
export function svdf(p: SvdfParams, state: Int16Array | Int8Array, input: Int8Array, feature: Int8Array, time: Int16Array | Int8Array, bias: Int32Array): Int8Array {
  const { batch, inputSize, filters, memory, rank, units } = p;
  // The whole state moves one place down; the last entry of each row is overwritten next.
  state.copyWithin(0, 1);
  for (let b = 0; b < batch; b++) {
    for (let f = 0; f < filters; f++) {
      let acc = 0;
      for (let i = 0; i < inputSize; i++) acc = (acc + feature[f * inputSize + i] * (input[b * inputSize + i] - p.inputZeroPoint)) | 0;
      const v = multiplyByQuantizedMultiplier(acc, p.feature.multiplier, p.feature.shift);
      // Clamped to the state type, then the zero point added without a second clamp (the typed array wraps as the C cast does).
      state[(b * filters + f) * memory + memory - 1] = (v < p.stateMin ? p.stateMin : v > p.stateMax ? p.stateMax : v) + p.stateZeroPoint;
    }
  }
  const out = new Int8Array(batch * units);
  for (let b = 0; b < batch; b++) {
    for (let u = 0; u < units; u++) {
      let acc = bias[u];
      for (let r = 0; r < rank; r++) {
        const f = u * rank + r;
        let dot = 0;
        for (let m = 0; m < memory; m++) dot = (dot + time[f * memory + m] * (state[(b * filters + f) * memory + m] - p.stateZeroPoint)) | 0;
        acc = (acc + dot) | 0;
      }
      const v = multiplyByQuantizedMultiplier(acc, p.output.multiplier, p.output.shift) + p.outputZeroPoint;
      out[b * units + u] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
  }
  return out;
}

export function prepareSvdf(graph: Graph, op: SvdfOp): StatefulKernel {
  const p = lowerSvdf(graph, op);
  const size = p.batch * p.filters * p.memory;
  const state = p.stateDtype === 'int16' ? new Int16Array(size) : new Int8Array(size);
  const reset = () => state.fill(p.stateDtype === 'int8' ? p.stateZeroPoint : 0);
  reset();
  const kernel = ([x, feature, time, bias]: ArrayLike<number>[]) =>
    svdf(p, state, x as Int8Array, feature as Int8Array, time as Int16Array | Int8Array, bias as Int32Array);
  return Object.assign(kernel, { reset }) as StatefulKernel;
}
