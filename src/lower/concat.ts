// CONCATENATION parameters. TFLite Micro's int8 kernel copies raw values, so it requires every
// input to share the output's scale and zero point, and it rejects fused activations.

import { numel } from '../ir/dtype.ts';
import type { ConcatenationOp, Graph } from '../ir/types.ts';
import { OpOperands } from './operands.ts';

export interface ConcatParams {
  dtype: 'int8' | 'float32';
  /** Product of the axes before the concatenation axis. */
  outer: number;
  /** Elements each input contributes per outer index (its axis length times the inner size). */
  chunks: number[];
}

export function lowerConcatenation(graph: Graph, op: ConcatenationOp): ConcatParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const output = operands.output();
  operands.expectDtype(output, 'int8', 'float32');
  if (op.attrs.activation !== 'none') operands.fail(`a fused ${op.attrs.activation} activation is not supported on concatenation`);
  const { axis } = op.attrs;
  const shape = output.shape;
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) operands.fail(`axis ${axis} is outside the ${shape.length}-D output`);
  const outQ = output.dtype === 'int8' ? operands.affine(output) : undefined;
  const inner = numel(shape.slice(axis + 1));
  let total = 0;
  const chunks = op.inputs.map((_, position) => {
    const input = operands.input(position);
    operands.expectDtype(input, output.dtype);
    if (input.shape.length !== shape.length || input.shape.some((d, k) => k !== axis && d !== shape[k])) {
      operands.fail(`${operands.describe(input)} [${input.shape}] does not match output [${shape}] outside axis ${axis}`);
    }
    if (outQ) {
      const q = operands.affine(input);
      if (q.scale !== outQ.scale || q.zeroPoint !== outQ.zeroPoint) {
        operands.fail(`${operands.describe(input)} (scale ${q.scale}, zero point ${q.zeroPoint}) must have the output's scale ${outQ.scale} and zero point ${outQ.zeroPoint}`);
      }
    }
    total += input.shape[axis];
    return input.shape[axis] * inner;
  });
  if (total !== shape[axis]) operands.fail(`inputs add up to ${total} along axis ${axis}, output has ${shape[axis]}`);
  return { dtype: outQ ? 'int8' : 'float32', outer: numel(shape.slice(0, axis)), chunks };
}
