// Kernel selection: which emitter writes the call for each op kind.

import type { Graph, Op, OpKind } from '../../ir/types.ts';
import type { CodegenTarget, EmitContext, OpEmitter } from '../emitter.ts';
import { dataEmitter } from './data.ts';
import { elementwiseEmitter } from './elementwise.ts';
import { sumsRows } from './fused.ts';
import { addsRows } from './pipe.ts';
import { lstmEmitter } from './lstm.ts';
import { matmulEmitter } from './matmul.ts';
import { nnEmitter } from './nn.ts';
import { svdfEmitter } from './svdf.ts';

const BY_KIND: Record<OpKind, OpEmitter> = {
  conv2d: nnEmitter,
  transpose_conv2d: nnEmitter,
  depthwise_conv2d: nnEmitter,
  fully_connected: nnEmitter,
  avg_pool2d: nnEmitter,
  max_pool2d: nnEmitter,
  add: elementwiseEmitter,
  sub: elementwiseEmitter,
  mul: elementwiseEmitter,
  div: elementwiseEmitter,
  softmax: elementwiseEmitter,
  logistic: elementwiseEmitter,
  tanh: elementwiseEmitter,
  relu: elementwiseEmitter,
  relu6: elementwiseEmitter,
  leaky_relu: elementwiseEmitter,
  hard_swish: elementwiseEmitter,
  reshape: dataEmitter,
  squeeze: dataEmitter,
  pad: dataEmitter,
  concatenation: dataEmitter,
  mean: dataEmitter,
  sum: dataEmitter,
  reduce_max: dataEmitter,
  quantize: dataEmitter,
  dequantize: dataEmitter,
  strided_slice: dataEmitter,
  transpose: dataEmitter,
  space_to_depth: dataEmitter,
  depth_to_space: dataEmitter,
  pack: dataEmitter,
  gather: dataEmitter,
  maximum: elementwiseEmitter,
  minimum: elementwiseEmitter,
  prelu: elementwiseEmitter,
  squared_difference: elementwiseEmitter,
  batch_matmul: matmulEmitter,
  rsqrt: elementwiseEmitter,
  log_softmax: elementwiseEmitter,
  exp: elementwiseEmitter,
  elu: elementwiseEmitter,
  resize_nearest: dataEmitter,
  resize_bilinear: dataEmitter,
  arg_max: dataEmitter,
  arg_min: dataEmitter,
  unidirectional_sequence_lstm: lstmEmitter,
  svdf: svdfEmitter,
};

export const kernelEmitter: Required<OpEmitter> = {
  emit: (ctx: EmitContext, op: Op) => BY_KIND[op.kind].emit(ctx, op),
  scratchBytes: (graph: Graph, op: Op, target: CodegenTarget) => BY_KIND[op.kind].scratchBytes(graph, op, target),
  heldRows: (graph: Graph, op: Op, target: CodegenTarget) => BY_KIND[op.kind].heldRows?.(graph, op, target) ?? 0,
  scratchFreeForLastRow: (graph: Graph, op: Op, target: CodegenTarget) => BY_KIND[op.kind].scratchFreeForLastRow?.(graph, op, target) ?? 0,
  rowBands: (graph: Graph, producer: Op, consumer: Op, target: CodegenTarget) =>
    (BY_KIND[producer.kind].rowBands?.(graph, producer, consumer, target) ?? false) && sumsRows(graph, consumer),
  windowRows: (graph: Graph, op: Op, target: CodegenTarget) => BY_KIND[op.kind].windowRows?.(graph, op, target) ?? false,
  addsRows: (graph: Graph, op: Op) => addsRows(graph, op),
};
