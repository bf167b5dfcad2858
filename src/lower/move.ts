// Parameters of the ops that only move values (strided slice, transpose, space-to-depth,
// depth-to-space, pack, gather, nearest-neighbour resize). Each output element is one input element: TFLite Micro's kernels
// copy raw values, so an int8 output must carry its input's scale and zero point. Every one but
// gather and pack is the same walk: output elements in order, each read at a fixed offset plus
// per-axis input strides, which may be negative.

import { numel } from '../ir/dtype.ts';
import { nearestIndex } from '../ir/shape.ts';
import type { BlockRearrangeOp, GatherOp, Graph, PackOp, ResizeOp, StridedSliceOp, Tensor, TransposeOp } from '../ir/types.ts';
import type { ConcatParams } from './concat.ts';
import { OpOperands } from './operands.ts';

export type MoveDtype = 'int8' | 'float32';

export interface MoveParams {
  dtype: MoveDtype;
  /** Loops in output order; output element (i0, i1, ...) is input[start + sum(i[d] * strides[d])]. */
  dims: number[];
  strides: number[];
  start: number;
}

export interface GatherParams {
  dtype: MoveDtype;
  /** Product of the axes before the gathered one. */
  outer: number;
  axisSize: number;
  /** Product of the axes after it: the block each index copies. */
  inner: number;
  indices: number[];
}

const rowMajorStrides = (shape: readonly number[]) => shape.map((_, d) => numel(shape.slice(d + 1)));

/** The dtype both tensors share, int8 ones with one scale and zero point between them. */
export function movedDtype(operands: OpOperands, input: Tensor, output: Tensor): MoveDtype {
  operands.expectDtype(input, 'int8', 'float32');
  operands.expectDtype(output, input.dtype);
  if (input.dtype === 'int8') {
    const a = operands.affine(input);
    const b = operands.affine(output);
    if (a.scale !== b.scale || a.zeroPoint !== b.zeroPoint) {
      operands.fail(`${operands.describe(input)} (scale ${a.scale}, zero point ${a.zeroPoint}) and output (scale ${b.scale}, zero point ${b.zeroPoint}) must have the same quantization`);
    }
  }
  return input.dtype as MoveDtype;
}

export function lowerMove(graph: Graph, op: StridedSliceOp | TransposeOp | BlockRearrangeOp): MoveParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const input = operands.input(0);
  const output = operands.output();
  const dtype = movedDtype(operands, input, output);
  const x = input.shape;
  const s = rowMajorStrides(x);
  switch (op.kind) {
    case 'strided_slice': {
      const { begin, stride, size } = op.attrs;
      return { dtype, dims: [...size], strides: stride.map((st, d) => st * s[d]), start: begin.reduce((sum, b, d) => sum + b * s[d], 0) };
    }
    case 'transpose':
      return { dtype, dims: op.attrs.perm.map((p) => x[p]), strides: op.attrs.perm.map((p) => s[p]), start: 0 };
    case 'space_to_depth': {
      // Output [n, y, x, (by, bx, c)] reads input [n, y*b + by, x*b + bx, c].
      const b = op.attrs.blockSize;
      const [n, h, w, c] = x;
      return { dtype, dims: [n, h / b, w / b, b, b, c], strides: [s[0], b * s[1], b * s[2], s[1], s[2], 1], start: 0 };
    }
    case 'depth_to_space': {
      // Output [n, (y, by), (x, bx), c] reads input [n, y, x, (by*b + bx)*C + c], C the output channels.
      const b = op.attrs.blockSize;
      const [n, h, w, depth] = x;
      const c = depth / (b * b);
      return { dtype, dims: [n, h, b, w, b, c], strides: [s[0], s[1], b * c, s[2], c, 1], start: 0 };
    }
  }
}

/** PACK is a concatenation of inputs whose block per outer index is everything after the new axis. */
export function lowerPack(graph: Graph, op: PackOp): ConcatParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const output = operands.output();
  const inputs = op.inputs.map((_, k) => operands.input(k));
  const dtype = movedDtype(operands, inputs[0], output);
  inputs.slice(1).forEach((input) => movedDtype(operands, input, output));
  const { axis } = op.attrs;
  return { dtype, outer: numel(output.shape.slice(0, axis)), chunks: inputs.map(() => numel(output.shape.slice(axis + 1))) };
}

export interface ResizeNearestParams {
  dtype: MoveDtype;
  batches: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  /** The input row of each output row, the input column of each output column. */
  rows: number[];
  columns: number[];
}

export function lowerResizeNearest(graph: Graph, op: ResizeOp): ResizeNearestParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const input = operands.input(0);
  const dtype = movedDtype(operands, input, operands.output());
  const [batches, inHeight, inWidth, channels] = input.shape;
  const [outHeight, outWidth] = op.attrs.size;
  const { alignCorners, halfPixelCenters } = op.attrs;
  const axis = (count: number, inSize: number) => Array.from({ length: count }, (_, i) => nearestIndex(i, inSize, count, alignCorners, halfPixelCenters));
  return { dtype, batches, inHeight, inWidth, channels, rows: axis(outHeight, inHeight), columns: axis(outWidth, inWidth) };
}

export function lowerGather(graph: Graph, op: GatherOp): GatherParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const input = operands.input(0);
  const dtype = movedDtype(operands, input, operands.output());
  const { axis, indices } = op.attrs;
  return { dtype, outer: numel(input.shape.slice(0, axis)), axisSize: input.shape[axis], inner: numel(input.shape.slice(axis + 1)), indices: [...indices] };
}
