// Strided slice, transpose, space-to-depth, depth-to-space, pack, gather and nearest-neighbour
// resize on the host: values are
// copied, never changed, in the order src/lower/move.ts describes.

import { numel } from '../ir/dtype.ts';
import type { BlockRearrangeOp, GatherOp, Graph, PackOp, ResizeOp, StridedSliceOp, TransposeOp } from '../ir/types.ts';
import { type GatherParams, type MoveParams, type ResizeNearestParams, lowerGather, lowerMove, lowerPack, lowerResizeNearest } from '../lower/move.ts';
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

export function resizeNearest<T extends Values>(p: ResizeNearestParams, input: T, out: T): T {
  const c = p.channels;
  let o = 0;
  for (let b = 0; b < p.batches; b++) {
    for (const y of p.rows) {
      for (const x of p.columns) {
        const from = ((b * p.inHeight + y) * p.inWidth + x) * c;
        out.set(input.subarray(from, from + c), o);
        o += c;
      }
    }
  }
  return out;
}

export function prepareResizeNearest(graph: Graph, op: ResizeOp): Kernel {
  const p = lowerResizeNearest(graph, op);
  const size = p.batches * p.rows.length * p.columns.length * p.channels;
  return ([x]) => resizeNearest(p, x as Values, allocate(p.dtype, size));
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
