// SVDF: one call of ec_svdf_s8 per inference with the Prepare-time constants of src/lower/svdf.ts.
// The activation state is a static int16 array of the model source, outside the arena, so it
// persists from one invoke to the next; an int8 state is kept widened (the kernel wraps each new
// entry to int8) and its time weights are widened with it.

import type { Graph, Op, SvdfOp } from '../../ir/types.ts';
import { lowerSvdf } from '../../lower/svdf.ts';
import { cInitializer, cInt } from '../c-syntax.ts';
import type { EmitContext, OpCode, OpEmitter } from '../emitter.ts';
import { cStruct } from './c-struct.ts';

export const svdfEmitter: OpEmitter = {
  emit: (ctx, op) => emitSvdf(ctx, op as SvdfOp),
  scratchBytes: (_graph: Graph, _op: Op) => 0,
};

/** Sum of each row of `rows` x `depth` values. */
const rowSums = (values: ArrayLike<number>, rows: number, depth: number) =>
  Array.from({ length: rows }, (_, r) => {
    let sum = 0;
    for (let k = 0; k < depth; k++) sum += values[r * depth + k];
    return sum;
  });

function emitSvdf(ctx: EmitContext, op: SvdfOp): OpCode {
  const { graph, opName: name } = ctx;
  const p = lowerSvdf(graph, op);
  const index = graph.ops.indexOf(op);
  const feature = graph.tensors[op.inputs[1]].data as Int8Array;
  const time = graph.tensors[op.inputs[2]].data as Int16Array | Int8Array;
  const bias = graph.tensors[op.inputs[3]].data as Int32Array;
  const size = p.batch * p.filters * p.memory;
  const wraps = p.stateDtype === 'int8';
  // TFLite Micro's Reset() writes an int8 state's zero point and an int16 state's 0.
  const resetValue = wraps ? p.stateZeroPoint : 0;
  const init = resetValue !== 0 ? ` = {\n${cInitializer(new Array<number>(size).fill(resetValue), 'int16_t')}\n}` : '';
  const state = [
    `/* op ${index}: the SVDF's activation state, ${p.batch * p.filters} rows of ${p.memory}, carried from one invoke to the next (outside the arena). */`,
    `static int16_t ${name}_state[${size}]${init};`,
  ];
  const reset =
    resetValue !== 0
      ? [`for (int32_t i = 0; i < ${size}; i++) ${name}_state[i] = ${cInt(resetValue)};`]
      : [`memset(${name}_state, 0, sizeof ${name}_state);`];
  const timeSums = rowSums(time, p.filters, p.memory);
  const unitBias = Array.from(bias, (b, u) => {
    let sum = 0;
    for (let r = 0; r < p.rank; r++) sum += timeSums[u * p.rank + r];
    return (b - p.stateZeroPoint * sum) | 0;
  });
  const featureBias = rowSums(feature, p.filters, p.inputSize).map((s) => (-p.inputZeroPoint * s) | 0);
  const params = cStruct('ec_svdf_s8_params', `${name}_params`, {
    batch: cInt(p.batch),
    input_size: cInt(p.inputSize),
    filters: cInt(p.filters),
    memory: cInt(p.memory),
    rank: cInt(p.rank),
    feature_weights: ctx.pointer(op.inputs[1]),
    time_weights: wraps ? ctx.constant('time_weights', 'int16_t', time, `op ${index} svdf: the int8 time weights widened to int16`) : ctx.pointer(op.inputs[2]),
    feature_bias: ctx.constant('feature_bias', 'int32_t', featureBias, `op ${index} svdf: -input zero point x each feature weight row's sum`),
    bias: ctx.constant('bias', 'int32_t', unitBias, `op ${index} svdf: bias with the state zero point folded in`),
    feature_multiplier: cInt(p.feature.multiplier),
    feature_shift: cInt(p.feature.shift),
    state_min: cInt(p.stateMin),
    state_max: cInt(p.stateMax),
    state_zero_point: cInt(p.stateZeroPoint),
    state_wraps_s8: wraps ? '1' : '0',
    output_multiplier: cInt(p.output.multiplier),
    output_shift: cInt(p.output.shift),
    output_zero_point: cInt(p.outputZeroPoint),
  });
  const args = [`&${name}_params`, ctx.pointer(op.inputs[0]), ctx.pointer(op.outputs[0]), `${name}_state`];
  return { declarations: [...state, params], statements: [`ec_svdf_s8(${args.join(', ')});`], kernel: 'ec_svdf_s8', reset };
}
