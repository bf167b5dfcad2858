// BATCH_MATMUL on the host, as TensorFlow Lite Micro's reference BatchMatMul computes it: every
// output value a sum over the depth in order from 0, float32 rounding each product and each sum,
// int8 in int32 with both zero points removed, int16 in int64, and one requantization.

import type { BatchMatMulOp, Graph } from '../ir/types.ts';
import { type BatchMatMulParams, type MatMulShape, lowerBatchMatMul } from '../lower/batch-matmul.ts';
import { type Kernel, requantizeAcc } from './kernel.ts';

const f32 = Math.fround;

/** Calls `value(lhsAt, rhsAt)` for every output value in order, with where its lhs row and rhs column start. */
type Values = Float32Array | Int8Array | Int16Array;

function walk(s: MatMulShape, value: (lhsAt: number, rhsAt: number) => number, out: Values): void {
  const [n0, n1, n2] = s.batches;
  let o = 0;
  for (let b0 = 0; b0 < n0; b0++) {
    for (let b1 = 0; b1 < n1; b1++) {
      for (let b2 = 0; b2 < n2; b2++) {
        const lhs = b0 * s.lhsBatchStride[0] + b1 * s.lhsBatchStride[1] + b2 * s.lhsBatchStride[2];
        const rhs = b0 * s.rhsBatchStride[0] + b1 * s.rhsBatchStride[1] + b2 * s.rhsBatchStride[2];
        for (let r = 0; r < s.rows; r++) {
          for (let c = 0; c < s.cols; c++) out[o++] = value(lhs + r * s.lhsRowStride, rhs + c * s.rhsColStride);
        }
      }
    }
  }
}

export function batchMatMul(p: BatchMatMulParams, lhs: Values, rhs: Values): Values {
  const size = p.batches.reduce((a, b) => a * b, 1) * p.rows * p.cols;
  const { depth, lhsDepthStride: ls, rhsDepthStride: rs } = p;
  if (p.dtype === 'float32') {
    const out = new Float32Array(size);
    walk(p, (l, r) => {
      let total = 0;
      for (let k = 0; k < depth; k++) total = f32(total + f32(lhs[l + k * ls] * rhs[r + k * rs]));
      return total;
    }, out);
    return out;
  }
  const out = p.dtype === 'int16' ? new Int16Array(size) : new Int8Array(size);
  const { inputOffset, rhsOffset } = p;
  // int8 sums wrap in int32 as TFLite's do; int16 sums (int64 there) are exact in a double here.
  const wrap = p.wideAccumulator ? (v: number) => v : (v: number) => v | 0;
  walk(p, (l, r) => {
    let acc = 0;
    for (let k = 0; k < depth; k++) acc = wrap(acc + (lhs[l + k * ls] + inputOffset) * (rhs[r + k * rs] + rhsOffset));
    return requantizeAcc(p, acc, 0);
  }, out);
  return out;
}

export function prepareBatchMatMul(graph: Graph, op: BatchMatMulOp): Kernel {
  const p = lowerBatchMatMul(graph, op);
  return ([lhs, rhs]) => batchMatMul(p, lhs as Values, rhs as Values);
}
