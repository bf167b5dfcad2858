// Kernel calls for BATCH_MATMUL (ec_batch_matmul_s8/s16/f32). A constant rhs stored with its depth
// down the columns (adj_y false) is written out transposed, each matrix as rows of its depth, so
// that the int8 kernel reads both operands four bytes at a time.

import type { BatchMatMulOp, Op } from '../../ir/types.ts';
import { type MatMulShape, lowerBatchMatMul } from '../../lower/batch-matmul.ts';
import { cInt } from '../c-syntax.ts';
import type { EmitContext, OpCode, OpEmitter } from '../emitter.ts';
import { type CFields, cStruct } from './c-struct.ts';

const CTYPES = { int8: 'int8_t', int16: 'int16_t', float32: 'float' } as const;

export const matmulEmitter: OpEmitter = {
  emit: (ctx: EmitContext, op: Op) => batchMatMul(ctx, op as BatchMatMulOp),
  scratchBytes: () => 0,
};

/** The constant rhs with every matrix transposed: [..., cols, depth] from [..., depth, cols]. */
function rowsOfDepth(values: ArrayLike<number>, depth: number, cols: number): number[] {
  const out = new Array<number>(values.length);
  const size = depth * cols;
  for (let m = 0; m < values.length; m += size) {
    for (let k = 0; k < depth; k++) for (let c = 0; c < cols; c++) out[m + c * depth + k] = values[m + k * cols + c];
  }
  return out;
}

const shapeFields = (s: MatMulShape): CFields => ({
  batches: s.batches.map(cInt),
  lhs_batch_stride: s.lhsBatchStride.map(cInt),
  rhs_batch_stride: s.rhsBatchStride.map(cInt),
  rows: cInt(s.rows),
  cols: cInt(s.cols),
  depth: cInt(s.depth),
  lhs_row_stride: cInt(s.lhsRowStride),
  lhs_depth_stride: cInt(s.lhsDepthStride),
  rhs_col_stride: cInt(s.rhsColStride),
  rhs_depth_stride: cInt(s.rhsDepthStride),
});

function batchMatMul(ctx: EmitContext, op: BatchMatMulOp): OpCode {
  const p = lowerBatchMatMul(ctx.graph, op);
  const rhsTensor = ctx.graph.tensors[op.inputs[1]];
  const relaid = rhsTensor.data !== undefined && p.rhsDepthStride !== 1;
  const shape: MatMulShape = relaid ? { ...p, rhsColStride: p.depth, rhsDepthStride: 1 } : p;
  const rhs = relaid
    ? ctx.constant('rhs', CTYPES[p.dtype], rowsOfDepth(rhsTensor.data as ArrayLike<number>, p.depth, p.cols), 'rhs, each matrix transposed to rows of its depth')
    : ctx.pointer(op.inputs[1]);
  const args = (params: string) => [params, ctx.pointer(op.inputs[0]), rhs, ctx.pointer(op.outputs[0])].join(', ');
  if (p.dtype === 'float32') {
    const params = cStruct('ec_matmul_shape', `${ctx.opName}_params`, shapeFields(shape));
    return { declarations: [params], statements: [`ec_batch_matmul_f32(${args(`&${ctx.opName}_params`)});`], kernel: 'ec_batch_matmul_f32' };
  }
  if (p.dtype === 'int16') {
    const params = cStruct('ec_batch_matmul_s16_params', `${ctx.opName}_params`, {
      shape: shapeFields(shape),
      multiplier: cInt(p.outputMultiplier[0]),
      shift: cInt(p.outputShift[0]),
    });
    return { declarations: [params], statements: [`ec_batch_matmul_s16(${args(`&${ctx.opName}_params`)});`], kernel: 'ec_batch_matmul_s16' };
  }
  const params = cStruct('ec_batch_matmul_s8_params', `${ctx.opName}_params`, {
    shape: shapeFields(shape),
    lhs_offset: cInt(p.inputOffset),
    rhs_offset: cInt(p.rhsOffset),
    multiplier: cInt(p.outputMultiplier[0]),
    shift: cInt(p.outputShift[0]),
    output_zero_point: cInt(p.outputOffset),
  });
  return { declarations: [params], statements: [`ec_batch_matmul_s8(${args(`&${ctx.opName}_params`)});`], kernel: 'ec_batch_matmul_s8' };
}
