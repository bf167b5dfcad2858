// RESHAPE and SQUEEZE on the host: the values are unchanged, only the shape differs.

import { numel } from '../ir/dtype.ts';
import type { Graph, ReshapeOp, SqueezeOp } from '../ir/types.ts';
import { OpOperands } from '../lower/operands.ts';
import type { Kernel } from './kernel.ts';

export function prepareReshape(graph: Graph, op: ReshapeOp | SqueezeOp): Kernel {
  const operands: OpOperands = new OpOperands(graph, op);
  const input = operands.input(0);
  const output = operands.output();
  operands.expectDtype(output, input.dtype);
  if (numel(input.shape) !== numel(output.shape)) operands.fail(`cannot reshape input [${input.shape}] to output [${output.shape}]`);
  return ([x]) => x.slice();
}
