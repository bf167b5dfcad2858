// ARG_MAX and ARG_MIN on the host: TensorFlow Lite Micro's strict comparison against the best value
// so far, so the first of equal values wins, and a NaN is never taken (nor left, if it comes first).

import type { ArgMinMaxOp, Graph } from '../ir/types.ts';
import { lowerArgMinMax } from '../lower/arg-min-max.ts';
import type { Kernel } from './kernel.ts';

export function prepareArgMinMax(graph: Graph, op: ArgMinMaxOp): Kernel {
  const { outer, axisSize, inner } = lowerArgMinMax(graph, op);
  const better = op.kind === 'arg_max' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  return ([input]) => {
    const x = input as Int8Array | Float32Array;
    const out = new Int32Array(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = x[o * axisSize * inner + i];
        let index = 0;
        for (let k = 1; k < axisSize; k++) {
          const v = x[(o * axisSize + k) * inner + i];
          if (better(v, best)) [best, index] = [v, k];
        }
        out[o * inner + i] = index;
      }
    }
    return out;
  };
}
