// CONCATENATION on the host: for each index of the outer axes, each input's chunk in turn.

import type { ConcatenationOp, Graph } from '../ir/types.ts';
import { type ConcatParams, lowerConcatenation } from '../lower/concat.ts';
import type { Kernel } from './kernel.ts';

export function concatenate<T extends Int8Array | Float32Array>(p: ConcatParams, inputs: T[], out: T): T {
  let o = 0;
  for (let outer = 0; outer < p.outer; outer++) {
    inputs.forEach((input, i) => {
      const chunk = p.chunks[i];
      out.set(input.subarray(outer * chunk, (outer + 1) * chunk), o);
      o += chunk;
    });
  }
  return out;
}

export function prepareConcatenation(graph: Graph, op: ConcatenationOp): Kernel {
  const p = lowerConcatenation(graph, op);
  const size = p.outer * p.chunks.reduce((a, b) => a + b, 0);
  if (p.dtype === 'int8') return (inputs) => concatenate(p, inputs as Int8Array[], new Int8Array(size));
  return (inputs) => concatenate(p, inputs as Float32Array[], new Float32Array(size));
}
