// AVERAGE_POOL_2D and MAX_POOL_2D parameters as TFLite Micro's PoolingPrepare computes them. The
// int8 and int16 kernels work on raw values, so input and output must share their quantization.

import { DTYPE_RANGE } from '../ir/dtype.ts';
import type { Graph, Pool2DOp } from '../ir/types.ts';
import { quantizedActivationRange } from './elementwise.ts';
import { OpOperands } from './operands.ts';
import { type FloatClamp, floatClamp } from './requant.ts';
import { type WindowGeometry, windowGeometry } from './window.ts';

export interface IntegerClamp {
  dtype: 'int8' | 'int16';
  actMin: number;
  actMax: number;
}

export type PoolParams = WindowGeometry & (IntegerClamp | FloatClamp);

export function lowerPool2D(graph: Graph, op: Pool2DOp): PoolParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const inputTensor = operands.input(0);
  const outputTensor = operands.output();
  operands.expectDtype(inputTensor, 'int8', 'int16', 'float32');
  operands.expectDtype(outputTensor, inputTensor.dtype);
  const geometry = windowGeometry(operands, { ...op.attrs, dilation: [1, 1] });
  if (geometry.outChannels !== geometry.inChannels) operands.fail(`output has ${geometry.outChannels} channels, input ${geometry.inChannels}`);
  if (inputTensor.dtype === 'float32') return { ...geometry, ...floatClamp(op.attrs.activation) };
  const input = operands.affine(inputTensor);
  const output = operands.affine(outputTensor);
  // The same tolerance as TFLite Micro, on the float32 difference of the scales.
  if (Math.abs(Math.fround(input.scale - output.scale)) > 1e-6 || input.zeroPoint !== output.zeroPoint) {
    operands.fail(
      `input (scale ${input.scale}, zero point ${input.zeroPoint}) and output (scale ${output.scale}, zero point ${output.zeroPoint}) must have the same quantization`,
    );
  }
  const dtype = inputTensor.dtype === 'int16' ? 'int16' : 'int8';
  const [actMin, actMax] = quantizedActivationRange(op.attrs.activation, output, operands.where, DTYPE_RANGE[dtype]);
  return { ...geometry, dtype, actMin, actMax };
}
