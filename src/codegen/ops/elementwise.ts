// Kernel calls for the element-wise ops (add, sub, mul, div, maximum, minimum, prelu, softmax and the activations), int8 and
// float32. Every int8 constant comes from src/lower, the same functions the host reference uses.

import { numel } from '../../ir/dtype.ts';
import { modelError } from '../../ir/errors.ts';
import type { BinaryOp, DType, Graph, MaxMinOp, Op, PreluOp, SoftmaxOp, SquaredDifferenceOp } from '../../ir/types.ts';
import { describeOp } from '../../ir/verify.ts';
import { type AddSubParams, addSubParams, addSubTables, floatActivationRange, maxMinDtype, mulParams, preluParams, softmaxParams, logSoftmaxParams, type SoftmaxParams, squaredDifferenceParams } from '../../lower/elementwise.ts';
import { multiplyByQuantizedMultiplier } from '../../lower/fixedpoint.ts';
import { expOnNegativeValues } from '../../lower/fixedpoint-math.ts';
import { cFloat, cInt } from '../c-syntax.ts';
import type { EmitContext, OpCode, OpEmitter } from '../emitter.ts';
import { cStruct } from './c-struct.ts';
import { emitLookup } from './lookup.ts';
import { broadcastStrides, walkFields } from './walk.ts';

/** The one dtype an element-wise op computes in: every input's and the output's. */
function opDtype(graph: Graph, op: Op): DType {
  const output = graph.tensors[op.outputs[0]].dtype;
  // An int8 softmax may write int16 probabilities; ADD also runs on int16 tensors.
  const dtype = op.kind === 'softmax' && output === 'int16' ? 'int8' : output;
  const where = describeOp(op, graph.ops.indexOf(op));
  if (dtype !== 'int8' && dtype !== 'float32' && !(dtype === 'int16' && op.kind === 'add')) throw modelError(`${where}: no ${op.kind} kernel for ${dtype} (int8 and float32 only)`);
  for (const t of op.inputs) {
    const tensor = graph.tensors[t];
    if (tensor.dtype !== dtype) throw modelError(`${where}: input '${tensor.name}' is ${tensor.dtype} but the output is ${dtype}`);
  }
  return dtype;
}

/** The walk of a broadcasting binary op: stride_a through input 1, stride_b through input 2. */
function binaryWalk(ctx: EmitContext, op: BinaryOp | MaxMinOp | PreluOp | SquaredDifferenceOp) {
  const { graph } = ctx;
  const [shape1, shape2] = op.inputs.map((t) => graph.tensors[t].shape);
  const outShape = graph.tensors[op.outputs[0]].shape;
  const strides1 = broadcastStrides(shape1, outShape);
  const strides2 = broadcastStrides(shape2, outShape);
  return walkFields(
    outShape.map((size, d) => ({ size, a: strides1[d], b: strides2[d] })),
    describeOp(op, graph.ops.indexOf(op)),
  );
}

/** A call of a broadcasting binary kernel: its parameters (`<opName>_params`) if it has any, then its walk and tensors. */
function walkCall(ctx: EmitContext, op: MaxMinOp | PreluOp | SquaredDifferenceOp, kernel: string, params?: string): OpCode {
  const { opName } = ctx;
  const walk = cStruct('ec_walk', `${opName}_walk`, binaryWalk(ctx, op));
  const args = [...(params ? [`&${opName}_params`] : []), `&${opName}_walk`, ...[...op.inputs, op.outputs[0]].map((t) => ctx.pointer(t))];
  return { declarations: params ? [params, walk] : [walk], statements: [`${kernel}(${args.join(', ')});`], kernel };
}

function maxMin(ctx: EmitContext, op: MaxMinOp): OpCode {
  return walkCall(ctx, op, `ec_${op.kind}_${maxMinDtype(ctx.graph, op) === 'int8' ? 's8' : 'f32'}`);
}

function prelu(ctx: EmitContext, op: PreluOp, int8: boolean): OpCode {
  if (!int8) return walkCall(ctx, op, 'ec_prelu_f32');
  const p = preluParams(ctx.graph, op);
  const params = cStruct('ec_prelu_s8_params', `${ctx.opName}_params`, {
    input_offset: cInt(p.inputOffset),
    alpha_offset: cInt(p.alphaOffset),
    output_offset: cInt(p.outputOffset),
    multiplier1: cInt(p.multiplier1),
    shift1: cInt(p.shift1),
    multiplier2: cInt(p.multiplier2),
    shift2: cInt(p.shift2),
  });
  return walkCall(ctx, op, 'ec_prelu_s8', params);
}

/** int16 ADD: the rescaling constants of the int8 one, applied per element. */
function addS16(ctx: EmitContext, op: BinaryOp): OpCode {
  const p = addSubParams(ctx.graph, op);
  const params = cStruct('ec_add_s16_params', `${ctx.opName}_params`, {
    input1_zero_point: cInt(p.input1ZeroPoint),
    input2_zero_point: cInt(p.input2ZeroPoint),
    output_zero_point: cInt(p.outputZeroPoint),
    input1_multiplier: cInt(p.input1.multiplier),
    input1_shift: cInt(p.input1.shift),
    input2_multiplier: cInt(p.input2.multiplier),
    input2_shift: cInt(p.input2.shift),
    output_multiplier: cInt(p.output.multiplier),
    output_shift: cInt(p.output.shift),
    activation_min: cInt(p.activationMin),
    activation_max: cInt(p.activationMax),
  });
  const args = [`&${ctx.opName}_params`, `&${ctx.opName}_walk`, ctx.pointer(op.inputs[0]), ctx.pointer(op.inputs[1]), ctx.pointer(op.outputs[0])];
  return { declarations: [params, cStruct('ec_walk', `${ctx.opName}_walk`, binaryWalk(ctx, op))], statements: [`ec_add_s16(${args.join(', ')});`], kernel: 'ec_add_s16' };
}

/** int8: SUB's tables of the rescaled inputs (the second negated), their sum squared and requantized. */
function squaredDifference(ctx: EmitContext, op: SquaredDifferenceOp, int8: boolean): OpCode {
  if (!int8) return walkCall(ctx, op, 'ec_squared_difference_f32');
  const p = squaredDifferenceParams(ctx.graph, op);
  const [t1, t2] = addSubTables(p, 'sub');
  const what = (k: number) => `input ${k} rescaled to the common scale${k === 2 ? ', negated' : ''}, for int8 values -128..127`;
  const params = cStruct('ec_squared_difference_s8_params', `${ctx.opName}_params`, {
    input1_table: ctx.constant('input1', 'int32_t', t1, what(1)),
    input2_table: ctx.constant('input2', 'int32_t', t2, what(2)),
    output_zero_point: cInt(p.outputZeroPoint),
    output_multiplier: cInt(p.output.multiplier),
    output_shift: cInt(p.output.shift),
  });
  return walkCall(ctx, op, 'ec_squared_difference_s8', params);
}

function binary(ctx: EmitContext, op: BinaryOp, int8: boolean): OpCode {
  const { graph, opName } = ctx;
  if (graph.tensors[op.outputs[0]].dtype === 'int16') return addS16(ctx, op);
  const walk = binaryWalk(ctx, op);
  // int8 sub runs the add kernel with its second table negated.
  const kernel = int8 && op.kind === 'sub' ? 'ec_add_s8' : `ec_${op.kind}_${int8 ? 's8' : 'f32'}`;
  let params: string;
  if (!int8) {
    const [min, max] = floatActivationRange(op.attrs.activation);
    params = cStruct('ec_binary_f32_params', `${opName}_params`, { activation_min: cFloat(min), activation_max: cFloat(max) });
  } else if (op.kind === 'mul') {
    const p = mulParams(graph, op);
    params = cStruct('ec_mul_s8_params', `${opName}_params`, {
      input1_zero_point: cInt(p.input1ZeroPoint),
      input2_zero_point: cInt(p.input2ZeroPoint),
      output_zero_point: cInt(p.outputZeroPoint),
      output_multiplier: cInt(p.output.multiplier),
      output_shift: cInt(p.output.shift),
      activation_min: cInt(p.activationMin),
      activation_max: cInt(p.activationMax),
    });
  } else if (op.kind === 'div') {
    throw modelError(`${describeOp(op, graph.ops.indexOf(op))}: div runs in float32 only`);
  } else {
    const p = addSubParams(graph, op);
    const index = graph.ops.indexOf(op);
    const tables = addSubTables(p, op.kind);
    const fast = addFastPath(p, tables);
    const what = (k: number, negated: boolean) =>
      `op ${index} ${op.kind}: input ${k} rescaled to the common scale${negated ? ', negated' : ''}${fast ? ', doubled' : ''}, for int8 values -128..127, computed with the reference fixed-point arithmetic`;
    const stored = tables.map((t) => (fast ? t.map((v) => 2 * v) : t));
    params = cStruct('ec_add_s8_params', `${opName}_params`, {
      input1_table: ctx.constant('input1', 'int32_t', stored[0], what(1, false)),
      input2_table: ctx.constant('input2', 'int32_t', stored[1], what(2, op.kind === 'sub')),
      fast: cInt(fast ? 1 : 0),
      fix: cInt(fast && p.activationMin < p.outputZeroPoint ? 1 : 0),
      requant: `{${(fast ?? [0, 0, 0]).map(cInt).join(', ')}}`,
      output_zero_point: cInt(p.outputZeroPoint),
      output_multiplier: cInt(p.output.multiplier),
      output_shift: cInt(p.output.shift),
      activation_min: cInt(p.activationMin),
      activation_max: cInt(p.activationMax),
    });
  }
  return {
    declarations: [params, cStruct('ec_walk', `${opName}_walk`, walk)],
    statements: [
      `${kernel}(&${opName}_params, &${opName}_walk, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.inputs[1])}, ${ctx.pointer(op.outputs[0])});`,
    ],
    kernel,
  };
}

/**
 * ec_requantize2's words {multiplier, (2z + 1) << (r - 1), r} for an add's output, or undefined
 * where its conditions fail: a right shift r in [1, 21], a non-negative multiplier, and every sum
 * of two table entries inside (-2^30, 2^30).
 */
function addFastPath(p: AddSubParams, [t1, t2]: [Int32Array, Int32Array]): [number, number, number] | undefined {
  const largest = (t: Int32Array) => t.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const r = -p.output.shift;
  if (!(r >= 1 && r <= 21) || p.output.multiplier < 0 || largest(t1) + largest(t2) >= 2 ** 30) return undefined;
  return [p.output.multiplier, (2 * p.outputZeroPoint + 1) * 2 ** (r - 1), r];
}

/** Above this row length the int8 sum of exps (12 integer bits) can overflow, in TFLite as here. */
const SOFTMAX_MAX_DEPTH = 4095;

function softmax(ctx: EmitContext, op: SoftmaxOp, int8: boolean): OpCode {
  const { graph, opName } = ctx;
  const shape = graph.tensors[op.inputs[0]].shape;
  const where = describeOp(op, graph.ops.indexOf(op));
  if (shape.length === 0) throw modelError(`${where}: softmax needs an input with at least one axis`);
  const depth = shape[shape.length - 1];
  const rows = depth === 0 ? 0 : numel(shape) / depth;
  const call = `(&${opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])});`;
  if (op.kind === 'log_softmax' && !int8) {
    return { declarations: [], statements: [`ec_log_softmax_f32(${rows}, ${depth}, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])});`], kernel: 'ec_log_softmax_f32' };
  }
  if (!int8) {
    const params = cStruct('ec_softmax_f32_params', `${opName}_params`, {
      rows: cInt(rows),
      depth: cInt(depth),
      beta: cFloat(op.attrs.beta),
    });
    return { declarations: [params], statements: [`ec_softmax_f32${call}`], kernel: 'ec_softmax_f32' };
  }
  if (depth > SOFTMAX_MAX_DEPTH) {
    throw modelError(`${where}: int8 softmax over ${depth} classes can overflow its fixed-point sum (at most ${SOFTMAX_MAX_DEPTH})`);
  }
  if (op.kind === 'log_softmax') return logSoftmaxS8(ctx, op, rows, depth);
  const p = softmaxParams(graph, op);
  const count = Math.min(256, 1 - p.diffMin);
  const params = cStruct('ec_softmax_s8_params', `${opName}_params`, {
    rows: cInt(rows),
    depth: cInt(depth),
    exp_count: cInt(count),
    exp_table: expTable(ctx, op, p, count),
  });
  const kernel = p.outputBits === 16 ? 'ec_softmax_s8_s16' : 'ec_softmax_s8';
  return { declarations: [params], statements: [`${kernel}${call}`], kernel };
}

/** A difference d = max - x from the row maximum, rescaled to Q5.26 as the reference does. */
const scaledDiff = (p: Pick<SoftmaxParams, 'input'>, d: number) => multiplyByQuantizedMultiplier(-d, p.input.multiplier, p.input.shift);

/**
 * exp() of a Q5.26 input difference, exactly as the reference computes it, for each of the first
 * `count` differences from the row maximum (those below diffMin contribute 0).
 */
function expTable(ctx: EmitContext, op: SoftmaxOp, p: Pick<SoftmaxParams, 'input'>, count: number): string {
  const scaledDiffIntegerBits = 5;
  const exps = Array.from({ length: count }, (_, d) => expOnNegativeValues(scaledDiff(p, d), scaledDiffIntegerBits));
  return ctx.constant(
    'exp',
    'int32_t',
    exps,
    `op ${ctx.graph.ops.indexOf(op)} ${op.kind}: exp(beta * input scale * -d) in Q0.31 for d = max - x = 0..${count - 1}, computed with the reference fixed-point arithmetic`,
  );
}

function logSoftmaxS8(ctx: EmitContext, op: SoftmaxOp, rows: number, depth: number): OpCode {
  const p = logSoftmaxParams(ctx.graph, op);
  const count = Math.min(256, 1 - p.diffMin);
  const diffs = Array.from({ length: count }, (_, d) => scaledDiff(p, d));
  const params = cStruct('ec_log_softmax_s8_params', `${ctx.opName}_params`, {
    rows: cInt(rows),
    depth: cInt(depth),
    count: cInt(count),
    exp_table: expTable(ctx, op, p, count),
    diff_table: ctx.constant('diff', 'int32_t', diffs, `op ${ctx.graph.ops.indexOf(op)} log_softmax: input scale * -d in Q5.26 for d = max - x = 0..${count - 1}`),
    diff_min: cInt(p.diffMin),
    reverse_multiplier: cInt(p.reverse.multiplier),
    reverse_shift: cInt(p.reverse.shift),
  });
  return { declarations: [params], statements: [`ec_log_softmax_s8(&${ctx.opName}_params, ${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])});`], kernel: 'ec_log_softmax_s8' };
}

function floatUnary(ctx: EmitContext, op: Op): OpCode {
  const kernel = `ec_${op.kind}_f32`;
  const alpha = op.kind === 'leaky_relu' ? `${cFloat(op.attrs.alpha)}, ` : '';
  const count = numel(ctx.graph.tensors[op.outputs[0]].shape);
  return {
    declarations: [],
    statements: [`${kernel}(${alpha}${ctx.pointer(op.inputs[0])}, ${ctx.pointer(op.outputs[0])}, ${count});`],
    kernel,
  };
}

export const elementwiseEmitter: OpEmitter = {
  emit(ctx: EmitContext, op: Op): OpCode {
    const int8 = opDtype(ctx.graph, op) === 'int8';
    switch (op.kind) {
      case 'add':
      case 'sub':
      case 'mul':
      case 'div':
        return binary(ctx, op, int8);
      case 'maximum':
      case 'minimum':
        return maxMin(ctx, op);
      case 'prelu':
        return prelu(ctx, op, int8);
      case 'squared_difference':
        return squaredDifference(ctx, op, int8);
      case 'softmax':
      case 'log_softmax':
        return softmax(ctx, op, int8);
      case 'logistic':
      case 'tanh':
      case 'relu':
      case 'relu6':
      case 'leaky_relu':
      case 'hard_swish':
      case 'rsqrt':
      case 'exp':
      case 'elu':
        return int8 ? emitLookup(ctx, op) : floatUnary(ctx, op);
      default:
        throw modelError(`${describeOp(op, ctx.graph.ops.indexOf(op))}: ${op.kind} is not an element-wise op`);
    }
  },
  scratchBytes: () => 0,
};
