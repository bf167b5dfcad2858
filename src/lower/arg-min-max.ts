// ARG_MAX and ARG_MIN as TensorFlow Lite Micro's ArgMinMax walks them: outer x axis x inner, the
// output holding one index per (outer, inner) pair.

import type { ArgMinMaxOp, Graph } from '../ir/types.ts';
import { OpOperands } from './operands.ts';

export interface ArgMinMaxParams {
  dtype: 'int8' | 'float32';
  /** Products of the axes before and after the reduced one. */
  outer: number;
  axisSize: number;
  inner: number;
}

export function lowerArgMinMax(graph: Graph, op: ArgMinMaxOp): ArgMinMaxParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const input = operands.input(0);
  operands.expectDtype(input, 'int8', 'float32');
  operands.expectDtype(operands.output(), 'int32');
  const { shape } = input;
  const { axis } = op.attrs;
  const product = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
  return { dtype: input.dtype as 'int8' | 'float32', outer: product(shape.slice(0, axis)), axisSize: shape[axis], inner: product(shape.slice(axis + 1)) };
}
