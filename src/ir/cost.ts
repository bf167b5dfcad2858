// What an op costs: multiply-accumulates and the bytes of its constant operands.

import { DTYPE_BYTES, numel } from './dtype.ts';
import type { Graph, Op } from './types.ts';

/** Multiply-accumulates of one inference; only conv, depthwise, fully-connected, LSTM and SVDF layers count. */
export function opMacs(graph: Graph, op: Op): number {
  const out = graph.tensors[op.outputs[0]].shape;
  const filter = op.inputs.length > 1 ? graph.tensors[op.inputs[1]].shape : [];
  switch (op.kind) {
    case 'conv2d':
      return numel(out) * filter[1] * filter[2] * filter[3];
    case 'depthwise_conv2d':
      return numel(out) * filter[1] * filter[2];
    case 'fully_connected':
      return numel(out) * filter[1];
    case 'unidirectional_sequence_lstm':
      // Per step and gate: an input [S,I] and a recurrent [S,S] matrix-vector product.
      return numel(out) * 4 * (filter[1] + filter[0]);
    case 'svdf':
      // The feature product [F,I] and the time product [F,M] per sequence.
      return out[0] * filter[0] * (filter[1] + graph.tensors[op.inputs[2]].shape[1]);
    default:
      return 0;
  }
}

/** Bytes of the op's constant inputs (weights, biases, other constant operands). */
export function opParamBytes(graph: Graph, op: Op): number {
  let bytes = 0;
  for (const t of op.inputs) {
    const tensor = graph.tensors[t];
    if (tensor.data) bytes += numel(tensor.shape) * DTYPE_BYTES[tensor.dtype];
  }
  return bytes;
}
