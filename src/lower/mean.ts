// MEAN, SUM and REDUCE_MAX parameters as TFLite Micro's reduce kernels compute them. SUM is
// MEAN without the division: the same requantization of sum - zeroPoint * count, with no count
// folded in. REDUCE_MAX compares raw values: int8 input and output share their quantization.
// MEAN's parameters: In int8 the division by the
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
  /** Whether float32 outputs divide the sum by `count`. */
  average: boolean;
}

export interface Int8MeanRequant {
  dtype: 'int8';
  inputZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
}

export type MeanParams = MeanShape & (Int8MeanRequant | { dtype: 'float32' });

function reductionShape(operands: OpOperands, op: MeanOp): MeanShape {
  const inputTensor = operands.input(0);
  const outputTensor = operands.output();
  operands.expectDtype(inputTensor, 'int8', 'float32');
  operands.expectDtype(outputTensor, inputTensor.dtype);
  const inShape = inputTensor.shape;
  const axes = [...new Set(op.attrs.axes)].sort((a, b) => a - b);
  if (axes.some((a) => !Number.isInteger(a) || a < 0 || a >= inShape.length)) operands.fail(`axes [${op.attrs.axes}] are outside a ${inShape.length}-D input`);
  const count = numel(axes.map((a) => inShape[a]));
  if (count === 0 || numel(inShape) === 0) operands.fail(`input [${inShape}] is empty`);
  if (count > 2 ** 31) operands.fail(`reducing ${count} elements per output is more than the int32 kernels can sum`);
  if (numel(outputTensor.shape) * count !== numel(inShape)) operands.fail(`output [${outputTensor.shape}] does not match reducing [${inShape}] over axes [${axes}]`);
  return { inShape: [...inShape], axes, count, average: op.kind === 'mean' };
}

/** REDUCE_MAX: the walk only; TFLite Micro refuses int8 whose output quantization differs from the input's. */
export function lowerReduceMax(graph: Graph, op: MeanOp): MeanShape & { dtype: 'int8' | 'float32' } {
  const operands: OpOperands = new OpOperands(graph, op);
  const shape = reductionShape(operands, op);
  const [input, output] = [operands.input(0), operands.output()];
  if (input.dtype === 'int8') {
    const [a, b] = [operands.affine(input), operands.affine(output)];
    if (a.scale !== b.scale || a.zeroPoint !== b.zeroPoint) {
      operands.fail(`input (scale ${a.scale}, zero point ${a.zeroPoint}) and output (scale ${b.scale}, zero point ${b.zeroPoint}) must have the same quantization`);
    }
  }
  return { ...shape, dtype: input.dtype as 'int8' | 'float32' };
}

/** MEAN and SUM. */
export function lowerMean(graph: Graph, op: MeanOp): MeanParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const shape = reductionShape(operands, op);
  const [inputTensor, outputTensor] = [operands.input(0), operands.output()];
  if (inputTensor.dtype === 'float32') return { ...shape, dtype: 'float32' };

  const input = operands.affine(inputTensor);
  const output = operands.affine(outputTensor);
  const m = operands.multiplier(input.scale / output.scale, 'input-to-output scale ratio');
  const fold = shape.average ? Math.min(31 - Math.clz32(shape.count), 32, 31 + m.shift) : 0;
  // multiplier * 2^fold can need 63 bits: exact integer division in BigInt, once per op.
  const multiplier = shape.average ? Number((BigInt(m.multiplier) << BigInt(fold)) / BigInt(shape.count)) : m.multiplier;
  return { ...shape, dtype: 'int8', inputZeroPoint: input.zeroPoint, outputZeroPoint: output.zeroPoint, multiplier, shift: m.shift - fold };
}
