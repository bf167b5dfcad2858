// MEAN parameters as TFLite Micro's reduce kernels compute them. In int8 the division by the
// element count is folded into the requantization multiplier the way QuantizedMeanOrSum folds it
// at run time (count known here, so the constants are final):
//   fold = min(floor(log2(count)), 32, 31 + shift)
//   multiplier' = floor(multiplier * 2^fold / count), shift' = shift - fold
// and each output is multiplyByQuantizedMultiplier(sum - zeroPoint * count) + output zero point.

import { numel } from '../ir/dtype.ts';
import type { Graph, MeanOp } from '../ir/types.ts';
import { OpOperands } from './operands.ts';

export interface MeanShape {
  inShape: number[];
  /** Reduced axes, sorted, without duplicates. */
  axes: number[];
  /** Input elements summed into each output element. */
  count: number;
}

export interface Int8MeanRequant {
  dtype: 'int8';
  inputZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
}

export type MeanParams = MeanShape & (Int8MeanRequant | { dtype: 'float32' });

export function lowerMean(graph: Graph, op: MeanOp): MeanParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const inputTensor = operands.input(0);
  const outputTensor = operands.output();
  operands.expectDtype(inputTensor, 'int8', 'float32');
  operands.expectDtype(outputTensor, inputTensor.dtype);
  const inShape = inputTensor.shape;
  const axes = [...new Set(op.attrs.axes)].sort((a, b) => a - b);
  if (axes.some((a) => !Number.isInteger(a) || a < 0 || a >= inShape.length)) operands.fail(`axes [${op.attrs.axes}] are outside a ${inShape.length}-D input`);
  const count = numel(axes.map((a) => inShape[a]));
  if (count === 0 || numel(inShape) === 0) operands.fail(`input [${inShape}] is empty`);
  if (count > 2 ** 31) operands.fail(`averaging ${count} elements per output is more than the int32 kernels can sum`);
  if (numel(outputTensor.shape) * count !== numel(inShape)) operands.fail(`output [${outputTensor.shape}] does not match reducing [${inShape}] over axes [${axes}]`);
  const shape = { inShape: [...inShape], axes, count };
  if (inputTensor.dtype === 'float32') return { ...shape, dtype: 'float32' };

  const input = operands.affine(inputTensor);
  const output = operands.affine(outputTensor);
  const m = operands.multiplier(input.scale / output.scale, 'input-to-output scale ratio');
  const fold = Math.min(31 - Math.clz32(count), 32, 31 + m.shift);
  // multiplier * 2^fold can need 63 bits: exact integer division in BigInt, once per op.
  const multiplier = Number((BigInt(m.multiplier) << BigInt(fold)) / BigInt(count));
  return { ...shape, dtype: 'int8', inputZeroPoint: input.zeroPoint, outputZeroPoint: output.zeroPoint, multiplier, shift: m.shift - fold };
}
