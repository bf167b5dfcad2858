// Graph invariants every stage relies on. verifyGraph collects every problem and throws them together.

import { numel } from './dtype.ts';
import { modelError } from './errors.ts';
import { inferShapes } from './shape.ts';
import type { Graph, Op, OpKind } from './types.ts';

/** [min, max] number of inputs for each op kind. */
const ARITY: Record<OpKind, [number, number]> = {
  conv2d: [2, 3],
  depthwise_conv2d: [2, 3],
  fully_connected: [2, 3],
  avg_pool2d: [1, 1],
  max_pool2d: [1, 1],
  add: [2, 2],
  sub: [2, 2],
  mul: [2, 2],
  div: [2, 2],
  reshape: [1, 1],
  squeeze: [1, 1],
  softmax: [1, 1],
  logistic: [1, 1],
  tanh: [1, 1],
  relu: [1, 1],
  relu6: [1, 1],
  leaky_relu: [1, 1],
  hard_swish: [1, 1],
  quantize: [1, 1],
  dequantize: [1, 1],
  pad: [1, 1],
  concatenation: [1, Infinity],
  mean: [1, 1],
  sum: [1, 1],
  reduce_max: [1, 1],
  strided_slice: [1, 1],
  transpose: [1, 1],
  space_to_depth: [1, 1],
  depth_to_space: [1, 1],
  pack: [1, Infinity],
  gather: [1, 1],
  maximum: [2, 2],
  minimum: [2, 2],
  prelu: [2, 2],
  transpose_conv2d: [2, 3],
  resize_nearest: [1, 1],
  resize_bilinear: [1, 1],
  arg_max: [1, 1],
  arg_min: [1, 1],
  squared_difference: [2, 2],
  batch_matmul: [2, 2],
  rsqrt: [1, 1],
  exp: [1, 1],
  elu: [1, 1],
  log_softmax: [1, 1],
  unidirectional_sequence_lstm: [13, 13],
  svdf: [3, 4],
};

/** Input positions that must be constants (weights and biases). */
const CONSTANT_INPUTS: Partial<Record<OpKind, number[]>> = {
  conv2d: [1, 2],
  transpose_conv2d: [1, 2],
  depthwise_conv2d: [1, 2],
  fully_connected: [1, 2],
  unidirectional_sequence_lstm: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  svdf: [1, 2, 3],
};

export function describeOp(op: Op, index: number): string {
  return `op ${index} (${op.kind}${op.origin ? `, ${op.origin}` : ''})`;
}

export function verifyGraph(graph: Graph): void {
  const problems: string[] = [];
  const count = graph.tensors.length;
  const valid = (t: number) => Number.isInteger(t) && t >= 0 && t < count;
  const defined = new Set<number>();

  graph.tensors.forEach((t, i) => {
    if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) problems.push(`tensor ${i} '${t.name}': bad shape [${t.shape}]`);
    if (t.data) {
      defined.add(i);
      if (t.data.length !== numel(t.shape)) {
        problems.push(`tensor ${i} '${t.name}': ${t.data.length} values for shape [${t.shape}]`);
      }
    }
    const q = t.quant;
    if (q) {
      const channels = q.scale.length;
      if (channels === 0 || q.zeroPoint.length !== channels) {
        problems.push(`tensor ${i} '${t.name}': ${channels} scales and ${q.zeroPoint.length} zero points`);
      } else if (channels > 1 && t.shape[q.axis] !== channels) {
        problems.push(`tensor ${i} '${t.name}': ${channels} per-channel scales along axis ${q.axis} of shape [${t.shape}]`);
      }
      if (q.scale.some((s) => !(s > 0) || !Number.isFinite(s))) {
        problems.push(`tensor ${i} '${t.name}': quantization scales must be positive and finite`);
      }
    }
  });

  for (const t of graph.inputs) {
    if (!valid(t)) problems.push(`graph input ${t} is not a tensor`);
    else defined.add(t);
  }

  graph.ops.forEach((op, index) => {
    const where = describeOp(op, index);
    const [lo, hi] = ARITY[op.kind];
    if (op.inputs.length < lo || op.inputs.length > hi) {
      problems.push(`${where}: ${op.inputs.length} inputs, expected ${lo === hi ? lo : `${lo} to ${hi}`}`);
      return;
    }
    const bad = [...op.inputs, ...op.outputs].filter((t) => !valid(t));
    if (bad.length > 0 || op.outputs.length !== 1) {
      problems.push(`${where}: ${bad.length ? `tensor indices ${bad} out of range` : `${op.outputs.length} outputs, expected 1`}`);
      return;
    }
    op.inputs.forEach((t, position) => {
      if (!defined.has(t)) problems.push(`${where}: input ${position} (tensor ${t} '${graph.tensors[t].name}') is used before it is computed`);
      if (CONSTANT_INPUTS[op.kind]?.includes(position) && !graph.tensors[t].data) {
        problems.push(`${where}: input ${position} (tensor ${t} '${graph.tensors[t].name}') must be a constant`);
      }
    });
    const out = op.outputs[0];
    if (defined.has(out)) problems.push(`${where}: output tensor ${out} '${graph.tensors[out].name}' is already defined`);
    defined.add(out);
    if (op.inputs.some((t) => !defined.has(t))) return;
    const inferred = inferShapes(graph, op);
    if ('error' in inferred) {
      problems.push(`${where}: ${inferred.error}`);
    } else {
      const actual = graph.tensors[out].shape;
      const expected = inferred.shapes[0];
      if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
        problems.push(`${where}: output '${graph.tensors[out].name}' has shape [${actual}], the op computes [${expected}]`);
      }
    }
  });

  for (const t of graph.outputs) {
    if (!valid(t)) problems.push(`graph output ${t} is not a tensor`);
    else if (!defined.has(t)) problems.push(`graph output ${t} '${graph.tensors[t].name}' is never computed`);
  }

  if (problems.length > 0) {
    throw modelError(`${graph.name}: the graph is not valid (${problems.length} problem${problems.length > 1 ? 's' : ''})`, problems);
  }
}
