// PAD parameters: TFLite Micro fills with the output zero point in int8 (0.0 in float32) and
// copies the input values unchanged, so int8 input and output must share their quantization.

import type { Graph, PadOp } from '../ir/types.ts';
import { OpOperands } from './operands.ts';

export interface PadParams {
  dtype: 'int8' | 'float32';
  inShape: number[];
  outShape: number[];
  /** Elements added before the input along each axis. */
  before: number[];
  padValue: number;
}

export function lowerPad(graph: Graph, op: PadOp): PadParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const input = operands.input(0);
  const output = operands.output();
  operands.expectDtype(input, 'int8', 'float32');
  operands.expectDtype(output, input.dtype);
  const { paddings } = op.attrs;
  const expected = input.shape.map((d, i) => d + (paddings[i]?.[0] ?? 0) + (paddings[i]?.[1] ?? 0));
  const valid = paddings.length === input.shape.length && paddings.flat().every((p) => Number.isInteger(p) && p >= 0);
  if (!valid || expected.some((d, i) => d !== output.shape[i]) || output.shape.length !== expected.length) {
    operands.fail(`paddings ${JSON.stringify(paddings)} do not take input [${input.shape}] to output [${output.shape}]`);
  }
  const base = { inShape: [...input.shape], outShape: [...output.shape], before: paddings.map((p) => p[0]) };
  if (input.dtype === 'float32') return { ...base, dtype: 'float32', padValue: 0 };
  const inQ = operands.affine(input);
  const outQ = operands.affine(output);
  if (inQ.scale !== outQ.scale || inQ.zeroPoint !== outQ.zeroPoint) {
    operands.fail(`input (scale ${inQ.scale}, zero point ${inQ.zeroPoint}) and output (scale ${outQ.scale}, zero point ${outQ.zeroPoint}) must have the same quantization`);
  }
  return { ...base, dtype: 'int8', padValue: outQ.zeroPoint };
}
