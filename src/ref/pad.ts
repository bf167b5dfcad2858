// PAD on the host: the output is filled with the pad value, then each innermost input row is
// copied to its place.

import { numel } from '../ir/dtype.ts';
import type { Graph, PadOp } from '../ir/types.ts';
import { type PadParams, lowerPad } from '../lower/pad.ts';
import type { Kernel } from './kernel.ts';

export function pad<T extends Int8Array | Float32Array>(p: PadParams, input: T, out: T): T {
  out.fill(p.padValue);
  const { inShape, outShape, before } = p;
  const rank = inShape.length;
  if (rank === 0) {
    out.set(input);
    return out;
  }
  const rowLength = inShape[rank - 1];
  const outStrides = outShape.map((_, d) => numel(outShape.slice(d + 1)));
  const index = new Array<number>(rank - 1).fill(0);
  for (let start = 0; start < input.length; start += rowLength) {
    let o = before[rank - 1];
    for (let d = 0; d < rank - 1; d++) o += (index[d] + before[d]) * outStrides[d];
    out.set(input.subarray(start, start + rowLength), o);
    for (let d = rank - 2; d >= 0 && ++index[d] === inShape[d]; d--) index[d] = 0;
  }
  return out;
}

export function preparePad(graph: Graph, op: PadOp): Kernel {
  const p = lowerPad(graph, op);
  const size = numel(p.outShape);
  if (p.dtype === 'int8') return ([x]) => pad(p, x as Int8Array, new Int8Array(size));
  return ([x]) => pad(p, x as Float32Array, new Float32Array(size));
}
