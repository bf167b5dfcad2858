// QUANTIZE and DEQUANTIZE parameters as TFLite Micro's PrepareQuantizeReference and
// DequantizePrepare compute them.

import { DTYPE_RANGE } from '../ir/dtype.ts';
import type { DType, Graph, UnaryOp } from '../ir/types.ts';
import { OpOperands } from './operands.ts';

/** float32 -> integer: q = clamp(round(x / scale) + zeroPoint), the division in float32, round() half away from zero. */
export interface AffineQuantizeParams {
  mode: 'affine';
  scale: number;
  zeroPoint: number;
  min: number;
  max: number;
}

/** integer -> integer: q = clamp(multiplyByQuantizedMultiplier(x - inputZeroPoint) + outputZeroPoint). */
export interface RequantizeParams {
  mode: 'requantize';
  inputZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
  min: number;
  max: number;
}

export type QuantizeParams = AffineQuantizeParams | RequantizeParams;

/** integer -> float32: x = float32(scale * (q - zeroPoint)), the product in double. */
export interface DequantizeParams {
  scale: number;
  zeroPoint: number;
}

// The integer conversions TFLite Micro's QUANTIZE implements, input dtype -> output dtypes.
const REQUANTIZE_PAIRS: Partial<Record<DType, DType[]>> = {
  int8: ['int8', 'uint8', 'int16', 'int32'],
  uint8: ['int8'],
  int16: ['int8', 'int16', 'int32'],
  int32: ['int8', 'int16'],
};

export function lowerQuantize(graph: Graph, op: UnaryOp): QuantizeParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const inputTensor = operands.input(0);
  const outputTensor = operands.output();
  const output = operands.affine(outputTensor);
  const [min, max] = DTYPE_RANGE[outputTensor.dtype] ?? [0, 0];
  if (inputTensor.dtype === 'float32') {
    operands.expectDtype(outputTensor, 'int8', 'int16');
    return { mode: 'affine', scale: output.scale, zeroPoint: output.zeroPoint, min, max };
  }
  const targets = REQUANTIZE_PAIRS[inputTensor.dtype];
  if (!targets) operands.fail(`cannot quantize ${operands.describe(inputTensor)} of type ${inputTensor.dtype}`);
  operands.expectDtype(outputTensor, ...targets);
  const input = operands.affine(inputTensor);
  const { multiplier, shift } = operands.multiplier(input.scale / output.scale, 'input-to-output scale ratio');
  return { mode: 'requantize', inputZeroPoint: input.zeroPoint, outputZeroPoint: output.zeroPoint, multiplier, shift, min, max };
}

export function lowerDequantize(graph: Graph, op: UnaryOp): DequantizeParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const inputTensor = operands.input(0);
  operands.expectDtype(inputTensor, 'int8', 'int16', 'uint8');
  operands.expectDtype(operands.output(), 'float32');
  return operands.affine(inputTensor);
}
