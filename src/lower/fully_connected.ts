// FULLY_CONNECTED parameters as TFLite Micro's CalculateOpDataFullyConnected computes them.
// Per-tensor weights keep a single multiplier whose real value is the float32 product of the
// input and weight scales divided (in double) by the output scale; per-channel weights get one
// multiplier per unit with every product in double.

import { numel } from '../ir/dtype.ts';
import type { FullyConnectedOp, Graph } from '../ir/types.ts';
import { OpOperands } from './operands.ts';
import { type FloatClamp, type Int8Requant, type WeightedTensors, channelMultipliers, floatClamp, int8Requant, weightedTensors } from './requant.ts';

export interface MatrixShape {
  /** Input rows of `depth` values each (all leading input axes flattened). */
  rows: number;
  depth: number;
  units: number;
}

export type FullyConnectedParams = MatrixShape & ((Int8Requant & { perChannel: boolean }) | FloatClamp);

/** Weights [units, depth], row-major. */
export function lowerFullyConnected(graph: Graph, op: FullyConnectedOp): FullyConnectedParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const weights = operands.input(1).shape;
  if (weights.length !== 2) operands.fail(`weights must be 2-D [units, depth], got [${weights}]`);
  const [units, depth] = weights;
  const inputCount = numel(operands.input(0).shape);
  const output = operands.output().shape;
  if (depth === 0 || inputCount % depth !== 0) operands.fail(`input [${operands.input(0).shape}] is not a whole number of rows of ${depth}`);
  const rows = inputCount / depth;
  if (output[output.length - 1] !== units || numel(output) !== rows * units) {
    operands.fail(`output [${output}] must hold ${rows} rows of ${units} units`);
  }
  const shape = { rows, depth, units };
  const tensors = weightedTensors(operands, units);
  const activation = op.attrs.activation;
  if (tensors.input.dtype === 'float32') return { ...shape, ...floatClamp(activation) };
  const perChannel = (tensors.weights.quant?.scale.length ?? 0) > 1;
  const multipliers = perChannel ? channelMultipliers(operands, tensors, 0, units) : [perTensorMultiplier(operands, tensors)];
  return { ...shape, ...int8Requant(operands, tensors, activation, multipliers), perChannel };
}

function perTensorMultiplier(operands: OpOperands, tensors: WeightedTensors) {
  const input = operands.affine(tensors.input);
  const output = operands.affine(tensors.output);
  const [weightScale] = operands.weightScales(tensors.weights, 0, 1);
  if (tensors.bias) {
    // TFLite rejects a bias whose scale strays from input scale * weight scale by more than 2% of an output step.
    const biasScale = Math.fround(tensors.bias.quant?.scale[0] ?? 0);
    if (Math.abs(input.scale * weightScale - biasScale) / output.scale > 0.02) {
      operands.fail(
        `${operands.describe(tensors.bias)} has scale ${biasScale}, but input scale x weight scale is ${input.scale * weightScale}; the bias must be quantized with their product`,
      );
    }
  }
  return operands.multiplier(Math.fround(input.scale * weightScale) / output.scale, 'effective output scale');
}
