// The output stage shared by the weighted ops (conv, depthwise conv, fully connected): in int8, an
// int32 accumulator requantized per output channel and clamped to the fused activation; in 16x8
// (int16 activations, int8 weights, zero points 0) the same from an int64 accumulator (int32 when
// the bias is int32), as TFLite Micro's reference kernels choose; in float32, only the clamp.

import { DTYPE_RANGE } from '../ir/dtype.ts';
import type { Activation, Tensor } from '../ir/types.ts';
import { type Requantize, floatActivationRange, quantizedActivationRange } from './elementwise.ts';
import type { OpOperands } from './operands.ts';

export interface Int8Requant {
  /** The activations' type: int8, or int16 (16x8, with int8 weights). */
  dtype: 'int8' | 'int16';
  /** 16x8 with an int64 bias or none: the sum is int64 and requantized by TFLite's 64-bit MultiplyByQuantizedMultiplier. */
  wideAccumulator: boolean;
  /** Added to every input value: minus the input zero point. */
  inputOffset: number;
  /** Added after requantization: the output zero point. */
  outputOffset: number;
  /** One Q0.31 multiplier and shift (> 0 left) per output channel, or a single one for a per-tensor fully connected layer. */
  outputMultiplier: Int32Array;
  outputShift: Int32Array;
  /** The fused activation as a clamp of output codes. */
  actMin: number;
  actMax: number;
}

export interface FloatClamp {
  dtype: 'float32';
  /** The fused activation's bounds; without one, +-FLT_MAX (so infinities are clamped too, as in TFLite). */
  actMin: number;
  actMax: number;
}

export interface WeightedTensors {
  input: Tensor;
  weights: Tensor;
  bias: Tensor | undefined;
  output: Tensor;
}

/**
 * The op's input, weights, optional bias and output, with their dtypes checked as TFLite Micro
 * checks them. 16x8 takes an int64 bias, or an int32 one where `int32Bias16x8` (TFLite Micro's
 * depthwise kernel reads only int64).
 */
export function weightedTensors(operands: OpOperands, biasLength: number, int32Bias16x8 = true): WeightedTensors {
  const input = operands.input(0);
  const weights = operands.input(1);
  const bias = operands.optionalInput(2);
  const output = operands.output();
  const float = input.dtype === 'float32';
  operands.expectDtype(input, 'int8', 'int16', 'float32');
  operands.expectDtype(weights, input.dtype === 'int16' ? 'int8' : input.dtype);
  operands.expectDtype(output, input.dtype);
  if (input.dtype === 'int16') {
    // TFLite's 16x8 scheme: symmetric int16 activations (the kernels ignore the zero points).
    for (const t of [input, output]) if ((t.quant?.zeroPoint[0] ?? 0) !== 0) operands.fail(`${operands.describe(t)} is int16 with zero point ${t.quant?.zeroPoint[0]}; 16x8 needs 0`);
  }
  if (!weights.data) operands.fail(`${operands.describe(weights)} (weights) must be a constant`);
  if (bias) {
    if (input.dtype === 'int16') operands.expectDtype(bias, ...(int32Bias16x8 ? (['int64', 'int32'] as const) : (['int64'] as const)));
    else operands.expectDtype(bias, float ? 'float32' : 'int32');
    if (!bias.data) operands.fail(`${operands.describe(bias)} (bias) must be a constant`);
    if (bias.data.length !== biasLength) operands.fail(`${operands.describe(bias)} has ${bias.data.length} values, expected ${biasLength}`);
  }
  return { input, weights, bias, output };
}

export function floatClamp(activation: Activation): FloatClamp {
  const [actMin, actMax] = floatActivationRange(activation);
  return { dtype: 'float32', actMin, actMax };
}

export function int8Requant(operands: OpOperands, tensors: WeightedTensors, activation: Activation, multipliers: Requantize[]): Int8Requant {
  const input = operands.affine(tensors.input);
  const output = operands.affine(tensors.output);
  const dtype = tensors.input.dtype === 'int16' ? 'int16' : 'int8';
  const [actMin, actMax] = quantizedActivationRange(activation, output, operands.where, DTYPE_RANGE[dtype]);
  return {
    dtype,
    wideAccumulator: dtype === 'int16' && tensors.bias?.dtype !== 'int32',
    inputOffset: 0 - input.zeroPoint, // not -zeroPoint, which is -0 for 0
    outputOffset: output.zeroPoint,
    outputMultiplier: Int32Array.from(multipliers, (m) => m.multiplier),
    outputShift: Int32Array.from(multipliers, (m) => m.shift),
    actMin,
    actMax,
  };
}

/**
 * Per-channel multipliers input scale * weight scale / output scale, every product in double as
 * TFLite's PopulateConvolutionQuantizationParams computes them.
 */
export function channelMultipliers(operands: OpOperands, tensors: WeightedTensors, axis: number, channels: number): Requantize[] {
  const input = operands.affine(tensors.input);
  const output = operands.affine(tensors.output);
  return operands
    .weightScales(tensors.weights, axis, channels)
    .map((w, c) => operands.multiplier((input.scale * w) / output.scale, `effective scale of output channel ${c}`));
}
