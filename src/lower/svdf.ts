// SVDF's Prepare-time constants as TFLite Micro's PrepareSvdf computes them (int8 input and
// output, int8 feature weights, int16 or int8 time weights and state, int32 bias).

import { DTYPE_RANGE } from '../ir/dtype.ts';
import type { Graph, SvdfOp } from '../ir/types.ts';
import type { Requantize } from './elementwise.ts';
import { OpOperands } from './operands.ts';

export interface SvdfParams {
  batch: number;
  inputSize: number;
  /** Filters F = units x rank; each keeps `memory` state values per sequence. */
  filters: number;
  memory: number;
  rank: number;
  units: number;
  stateDtype: 'int16' | 'int8';
  inputZeroPoint: number;
  stateZeroPoint: number;
  outputZeroPoint: number;
  /** Feature product to the state: input scale x feature weight scale / state scale. */
  feature: Requantize;
  /** Time product plus bias to the output: state scale x time weight scale / output scale. */
  output: Requantize;
  /** The state type's range, where the feature product is clamped before the zero point is added. */
  stateMin: number;
  stateMax: number;
}

const f32 = Math.fround;

export function lowerSvdf(graph: Graph, op: SvdfOp): SvdfParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const [input, feature, time] = [0, 1, 2].map((i) => operands.input(i));
  const bias = operands.optionalInput(3);
  const output = operands.output();
  operands.expectDtype(input, 'int8');
  operands.expectDtype(feature, 'int8');
  operands.expectDtype(time, op.attrs.state.dtype);
  operands.expectDtype(output, 'int8');
  if (!bias) operands.fail("TFLite Micro's int8 SVDF needs its bias");
  operands.expectDtype(bias, 'int32');
  const x = operands.affine(input);
  const y = operands.affine(output);
  const [wf] = operands.weightScales(feature, 0, 1);
  const [wt] = operands.weightScales(time, 0, 1);
  const state = { scale: f32(op.attrs.state.scale), zeroPoint: op.attrs.state.zeroPoint };
  // TFLite Micro checks the bias scale against state x time weight scale (to 1e-5, absolute).
  const [biasScale] = operands.weightScales(bias, 0, 1);
  if (!(Math.abs(biasScale - f32(state.scale * wt)) < 1e-5)) {
    operands.fail(`bias scale ${biasScale} must equal the state scale x time weight scale (${f32(state.scale * wt)})`);
  }
  const [filters, memory] = time.shape;
  if (!(memory >= 1)) operands.fail(`time weights [${time.shape}] keep no memory`);
  const [stateMin, stateMax] = DTYPE_RANGE[op.attrs.state.dtype]!;
  return {
    batch: input.shape[0],
    inputSize: input.shape[1],
    filters,
    memory,
    rank: op.attrs.rank,
    units: filters / op.attrs.rank,
    stateDtype: op.attrs.state.dtype,
    inputZeroPoint: x.zeroPoint,
    stateZeroPoint: state.zeroPoint,
    outputZeroPoint: y.zeroPoint,
    // Both ratios are float32 arithmetic in TFLite Micro, widened to double only for QuantizeMultiplier.
    feature: operands.multiplier(f32(f32(x.scale * wf) / state.scale), 'input x feature weight / state scale ratio'),
    output: operands.multiplier(f32(f32(state.scale * wt) / y.scale), 'state x time weight / output scale ratio'),
    stateMin,
    stateMax,
  };
}
