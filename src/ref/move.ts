// Strided slice, transpose, space-to-depth, depth-to-space, pack and gather on the host: values are
// copied, never changed, in the order src/lower/move.ts describes.

import { numel } from '../ir/dtype.ts';
import type { BlockRearrangeOp, GatherOp, Graph, PackOp, StridedSliceOp, TransposeOp } from '../ir/types.ts';
import { type GatherParams, type MoveParams, lowerGather, lowerMove, lowerPack } from '../lower/move.ts';
import { concatenate } from './concat.ts';
import type { Kernel } from './kernel.ts';

type Values = Int8Array | Float32Array;

const allocate = (dtype: 'int8' | 'float32', size: number): Values => (dtype === 'int8' ? new Int8Array(size) : new Float32Array(size));

export function move<T extends Values>(p: MoveParams, input: T, out: T): T {
  const rank = p.dims.length;
  const index = new Array<number>(rank).fill(0);
  let offset = p.start;
  for (let o = 0; o < out.length; o++) {
    out[o] = input[offset];
    for (let d = rank - 1; d >= 0; d--) {
      offset += p.strides[d];
      if (++index[d] < p.dims[d]) break;
      offset -= p.strides[d] * p.dims[d];
      index[d] = 0;
    }
  }
  return out;
}

export function gather<T extends Values>(p: GatherParams, input: T, out: T): T {
  let o = 0;
  for (let outer = 0; outer < p.outer; outer++) {
    for (const i of p.indices) {
      const from = (outer * p.axisSize + i) * p.inner;
      out.set(input.subarray(from, from + p.inner), o);
      o += p.inner;
    }
  }
  return out;
}

export function prepareMove(graph: Graph, op: StridedSliceOp | TransposeOp | BlockRearrangeOp): Kernel {
  const p = lowerMove(graph, op);
  const size = numel(p.dims);
  return ([x]) => move(p, x as Values, allocate(p.dtype, size));
}

export function preparePack(graph: Graph, op: PackOp): Kernel {
  const p = lowerPack(graph, op);
  const size = p.outer * p.chunks.reduce((a, b) => a + b, 0);
  return (inputs) => concatenate(p, inputs as Values[], allocate(p.dtype, size));
}

export function prepareGather(graph: Graph, op: GatherOp): Kernel {
  const p = lowerGather(graph, op);
  const size = p.outer * p.indices.length * p.inner;
  return ([x]) => gather(p, x as Values, allocate(p.dtype, size));
}
