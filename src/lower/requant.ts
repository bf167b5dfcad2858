// The output stage shared by the weighted ops (conv, depthwise conv, fully connected): in int8, an
// int32 accumulator requantized per output channel and clamped to the fused activation; in
// float32, only the clamp.

import type { Activation, Tensor } from '../ir/types.ts';
import { type Requantize, floatActivationRange, quantizedActivationRange } from './elementwise.ts';
import type { OpOperands } from './operands.ts';

export interface Int8Requant {
  dtype: 'int8';
  /** Added to every input value: minus the input zero point. */
  inputOffset: number;
  /** Added after requantization: the output zero point. */
  outputOffset: number;
  /** One Q0.31 multiplier and shift (> 0 left) per output channel, or a single one for a per-tensor fully connected layer. */
  outputMultiplier: Int32Array;
  outputShift: Int32Array;
  /** The fused activation as an int8 clamp. */
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

/** The op's input, weights, optional bias and output, with their dtypes checked as TFLite Micro checks them. */
export function weightedTensors(operands: OpOperands, biasLength: number): WeightedTensors {
  const input = operands.input(0);
  const weights = operands.input(1);
  const bias = operands.optionalInput(2);
  const output = operands.output();
  const float = input.dtype === 'float32';
  operands.expectDtype(input, 'int8', 'float32');
  operands.expectDtype(weights, input.dtype);
  operands.expectDtype(output, input.dtype);
  if (!weights.data) operands.fail(`${operands.describe(weights)} (weights) must be a constant`);
  if (bias) {
    operands.expectDtype(bias, float ? 'float32' : 'int32');
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
  const [actMin, actMax] = quantizedActivationRange(activation, output, operands.where);
  return {
    dtype: 'int8',
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
