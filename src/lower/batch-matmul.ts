// BATCH_MATMUL parameters as TensorFlow Lite Micro's BatchMatMulPrepare computes them: the batch
// axes broadcast, one multiplier lhs scale x rhs scale (a float32 product) / output scale in
// double, and the int8 or int16 output unclamped beyond its type (the op fuses no activation).

import { DTYPE_RANGE } from '../ir/dtype.ts';
import type { BatchMatMulOp, Graph } from '../ir/types.ts';
import { OpOperands } from './operands.ts';
import type { Int8Requant } from './requant.ts';

/** Batch axes the kernels walk: the output's, extended in front to this many. */
export const MATMUL_BATCH_AXES = 3;

/**
 * Where every value of the product sits, in elements: output matrix b (its batch index split over
 * `batches`, row-major) multiplies lhs at sum of b_i * lhsBatchStride[i] by rhs at sum of b_i *
 * rhsBatchStride[i] (0 along a broadcast axis); lhs[r][k] is lhs[r * lhsRowStride + k * lhsDepthStride]
 * and rhs[k][c] is rhs[c * rhsColStride + k * rhsDepthStride], so adj_x and adj_y are only strides.
 * Output matrices are rows x cols, row-major, one after the other.
 */
export interface MatMulShape {
  batches: number[];
  lhsBatchStride: number[];
  rhsBatchStride: number[];
  rows: number;
  cols: number;
  depth: number;
  lhsRowStride: number;
  lhsDepthStride: number;
  rhsColStride: number;
  rhsDepthStride: number;
}

/**
 * int8: the int32 sum of (lhs + inputOffset) x (rhs + rhsOffset), requantized by the one
 * multiplier; int16 (zero points 0): the same sum in int64, requantized by TFLite's 64-bit rule.
 */
export type BatchMatMulParams = MatMulShape & ({ dtype: 'float32' } | (Int8Requant & { rhsOffset: number }));

/** Per-axis element strides of a matrix stack's batch axes, aligned right against `axes` output axes; 0 where the axis is 1. */
function batchStrides(shape: readonly number[], axes: number): number[] {
  const batch = shape.slice(0, -2);
  const strides = new Array<number>(axes).fill(0);
  let step = shape.at(-1)! * shape.at(-2)!;
  for (let i = batch.length - 1; i >= 0; i--) {
    if (batch[i] !== 1) strides[axes - batch.length + i] = step;
    step *= batch[i];
  }
  return strides;
}

export function lowerBatchMatMul(graph: Graph, op: BatchMatMulOp): BatchMatMulParams {
  const operands = new OpOperands(graph, op);
  const [lhs, rhs, output] = [operands.input(0), operands.input(1), operands.output()];
  const { adjX, adjY } = op.attrs;
  const out = output.shape;
  if (out.length - 2 > MATMUL_BATCH_AXES) operands.fail(`output [${out}] has more than ${MATMUL_BATCH_AXES} batch axes`);
  const pad = MATMUL_BATCH_AXES - (out.length - 2);
  const [rows, cols] = [out.at(-2)!, out.at(-1)!];
  const depth = adjX ? lhs.shape.at(-2)! : lhs.shape.at(-1)!;
  const shape: MatMulShape = {
    batches: [...new Array<number>(pad).fill(1), ...out.slice(0, -2)],
    lhsBatchStride: batchStrides(lhs.shape, MATMUL_BATCH_AXES),
    rhsBatchStride: batchStrides(rhs.shape, MATMUL_BATCH_AXES),
    rows,
    cols,
    depth,
    lhsRowStride: adjX ? 1 : depth,
    lhsDepthStride: adjX ? rows : 1,
    rhsColStride: adjY ? depth : 1,
    rhsDepthStride: adjY ? 1 : cols,
  };
  operands.expectDtype(lhs, 'int8', 'int16', 'float32');
  operands.expectDtype(rhs, lhs.dtype);
  operands.expectDtype(output, lhs.dtype);
  if (lhs.dtype === 'float32') return { ...shape, dtype: 'float32' };
  const dtype = lhs.dtype === 'int16' ? 'int16' : 'int8';
  const [l, r, o] = [lhs, rhs, output].map((t) => operands.affine(t));
  if (dtype === 'int16' && [l, r, o].some((q) => q.zeroPoint !== 0)) operands.fail(`int16 operands and output need zero point 0 (TFLite Micro checks it), got ${l.zeroPoint}, ${r.zeroPoint} and ${o.zeroPoint}`);
  const m = operands.multiplier(Math.fround(l.scale * r.scale) / o.scale, 'effective output scale');
  if (dtype === 'int16' && m.shift > 7) operands.fail('an effective output scale of 2^8 or more is beyond TFLite\'s 64-bit requantization');
  const [actMin, actMax] = DTYPE_RANGE[dtype]!;
  return {
    ...shape,
    dtype,
    wideAccumulator: dtype === 'int16',
    inputOffset: 0 - l.zeroPoint,
    rhsOffset: 0 - r.zeroPoint,
    outputOffset: o.zeroPoint,
    outputMultiplier: Int32Array.of(m.multiplier),
    outputShift: Int32Array.of(m.shift),
    actMin,
    actMax,
  };
}
