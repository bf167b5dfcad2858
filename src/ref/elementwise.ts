// Host reference of the element-wise ops: int8 bit-exact with TensorFlow Lite Micro's reference
// kernels, float32 computed the way those kernels compute it (every float operation rounded to
// float32 with Math.fround).
//
// Float caveat: where TFLite Micro calls expf or tanhf, this uses Math.exp / Math.tanh in double
// and rounds to float32. That is the correctly rounded float32 result in all but rare cases; a C
// library's expf/tanhf may differ from it by 1 ulp on some inputs.

import { allocate, dtypeOf, numel } from '../ir/dtype.ts';
import { dataError, modelError } from '../ir/errors.ts';
import { broadcastShapes } from '../ir/shape.ts';
import type { Activation, BinaryOp, Graph, LeakyReluOp, MaxMinOp, Op, PreluOp, SoftmaxOp, SquaredDifferenceOp, TensorData, UnaryOp } from '../ir/types.ts';
import {
  type HardSwishParams,
  addSubParams,
  addSubTables,
  squaredDifferenceParams,
  rsqrtParams,
  eluParams,
  describeElementwiseOp,
  maxMinDtype,
  preluParams,
  floatActivationRange,
  hardSwishParams,
  leakyReluParams,
  mulParams,
  relu6Params,
  reluParams,
  sigmoidLikeParams,
  softmaxParams,
  logSoftmaxParams,
  type SoftmaxParams,
} from '../lower/elementwise.ts';
import {
  multiplyByQuantizedMultiplier as mbqm,
  roundHalfAwayFromZero,
  roundingDivideByPOT,
  roundingDivideByPOT16,
  saturatingDoublingHighMul16,
  saturatingLeftShift16,
  saturatingRoundingDoublingHighMul,
  saturatingRoundingDoublingHighMul16,
} from '../lower/fixedpoint.ts';
import { expOnNegativeValues, invSqrtQuantizedMultiplierExp, logXForXGreaterThanOrEqualTo1, logistic, oneOverOnePlusXForXIn01, rescale, tanh } from '../lower/fixedpoint-math.ts';

const f32 = Math.fround;
const clampInt8 = (v: number) => (v < -128 ? -128 : v > 127 ? 127 : v);

/** Evaluates one element-wise op (add, sub, mul, maximum, minimum, prelu, softmax, logistic, tanh, relu, relu6, leaky_relu, hard_swish). */
export function evalElementwise(graph: Graph, op: Op, inputs: TensorData[]): TensorData {
  const where = describeElementwiseOp(op);
  const output = graph.tensors[op.outputs[0]];
  if (!output) throw modelError(`${where}: output tensor ${op.outputs[0]} does not exist`);
  // An int8 softmax may write int16 probabilities; every other op computes in its output's type
  // (int16 for ADD, which TFLite Micro also runs on int16 tensors).
  const dtype = op.kind === 'softmax' && output.dtype === 'int16' ? 'int8' : output.dtype;
  if (dtype !== 'int8' && dtype !== 'float32' && !(dtype === 'int16' && op.kind === 'add')) {
    throw modelError(`${where}: ${output.dtype} output '${output.name}' is not supported (int8 and float32 only)`);
  }
  op.inputs.forEach((index, position) => {
    const tensor = graph.tensors[index];
    const data = inputs[position];
    if (!tensor) throw modelError(`${where}: input tensor ${index} does not exist`);
    if (tensor.dtype !== dtype) {
      throw modelError(`${where}: input '${tensor.name}' is ${tensor.dtype} but output '${output.name}' is ${output.dtype}`);
    }
    if (!data) throw dataError(`${where}: no data given for input '${tensor.name}'`);
    if (dtypeOf(data) !== tensor.dtype || data.length !== numel(tensor.shape)) {
      throw dataError(
        `${where}: input '${tensor.name}' needs ${numel(tensor.shape)} ${tensor.dtype} values for shape [${tensor.shape}], got ${data.length} ${dtypeOf(data)}`,
      );
    }
  });
  if (op.kind !== 'add' && op.kind !== 'sub' && op.kind !== 'mul' && op.kind !== 'div' && op.kind !== 'maximum' && op.kind !== 'minimum' && op.kind !== 'prelu' && op.kind !== 'squared_difference') {
    const input = graph.tensors[op.inputs[0]];
    if (input.shape.length !== output.shape.length || input.shape.some((d, i) => d !== output.shape[i])) {
      throw modelError(`${where}: output '${output.name}' has shape [${output.shape}], not the input's [${input.shape}]`);
    }
  }
  const result = allocate(output.dtype, numel(output.shape));
  const int8 = dtype === 'int8' || dtype === 'int16';
  switch (op.kind) {
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
      binary(graph, op, inputs[0], inputs[1], result, int8 ? int8BinaryFunction(graph, op) : floatBinaryFunction(op));
      break;
    case 'maximum':
    case 'minimum':
      maxMinDtype(graph, op);
      binary(graph, op, inputs[0], inputs[1], result, op.kind === 'maximum' ? larger : smaller);
      break;
    case 'prelu':
      binary(graph, op, inputs[0], inputs[1], result, int8 ? int8Prelu(preluParams(graph, op)) : floatPrelu);
      break;
    case 'squared_difference':
      binary(graph, op, inputs[0], inputs[1], result, int8 ? int8SquaredDifference(graph, op) : floatSquaredDifference);
      break;
    case 'log_softmax':
      if (int8) logSoftmaxInt8(graph, op, inputs[0] as Int8Array, result as Int8Array);
      else logSoftmaxFloat(inputs[0] as Float32Array, result as Float32Array, lastAxis(graph, op));
      break;
    case 'softmax':
      if (int8) softmaxInt8(graph, op, inputs[0] as Int8Array, result as Int8Array | Int16Array);
      else softmaxFloat(op, inputs[0] as Float32Array, result as Float32Array, lastAxis(graph, op));
      break;
    case 'logistic':
    case 'tanh':
    case 'relu':
    case 'relu6':
    case 'leaky_relu':
    case 'hard_swish':
    case 'rsqrt':
    case 'exp':
    case 'elu':
      if (int8) mapThroughTable(inputs[0] as Int8Array, result as Int8Array, int8UnaryFunction(graph, op));
      else mapFloat(inputs[0] as Float32Array, result as Float32Array, floatUnaryFunction(op));
      break;
    default:
      throw modelError(`${where}: ${op.kind} is not an element-wise op`);
  }
  return result;
}

// ---------------------------------------------------------------- broadcasting binary ops

type BinaryFunction = (a: number, b: number) => number;

/** For each element of `outShape`, the flat index of the element of `shape` it reads (numpy broadcasting). */
function broadcastSource(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1) strides[rank - shape.length + d] = stride;
    stride *= shape[d];
  }
  const total = numel(outShape);
  const source = new Int32Array(total);
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let i = 0; i < total; i++) {
    source[i] = offset;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      offset += strides[d];
      if (counter[d] < outShape[d]) break;
      offset -= strides[d] * counter[d];
      counter[d] = 0;
    }
  }
  return source;
}

/** TFLite's comparisons, raw on int8 values; with a NaN they return the second operand. */
const larger: BinaryFunction = (a, b) => (a > b ? a : b);
const smaller: BinaryFunction = (a, b) => (a < b ? a : b);

function int8Prelu(p: ReturnType<typeof preluParams>): BinaryFunction {
  return (x, alpha) => {
    const v = x + p.inputOffset;
    const scaled = v >= 0 ? mbqm(v, p.multiplier1, p.shift1) : mbqm(v * (alpha + p.alphaOffset), p.multiplier2, p.shift2);
    return clampInt8(scaled + p.outputOffset);
  };
}

/** The difference of the rescaled inputs (SUB's tables), squared in int32 and requantized. */
function int8SquaredDifference(graph: Graph, op: SquaredDifferenceOp): BinaryFunction {
  const p = squaredDifferenceParams(graph, op);
  const [t1, t2] = addSubTables(p, 'sub');
  return (a, b) => {
    const difference = t1[a + 128] + t2[b + 128];
    return clampInt8(mbqm(Math.imul(difference, difference), p.output.multiplier, p.output.shift) + p.outputZeroPoint);
  };
}

const floatSquaredDifference: BinaryFunction = (a, b) => {
  const difference = f32(a - b);
  return f32(difference * difference);
};

const floatPrelu: BinaryFunction = (x, alpha) => (x >= 0 ? x : f32(x * alpha));

function binary(graph: Graph, op: BinaryOp | MaxMinOp | PreluOp | SquaredDifferenceOp, a: TensorData, b: TensorData, out: TensorData, f: BinaryFunction): void {
  const [shapeA, shapeB] = op.inputs.map((i) => graph.tensors[i].shape);
  const outShape = graph.tensors[op.outputs[0]].shape;
  const broadcast = broadcastShapes(shapeA, shapeB);
  if (!broadcast || broadcast.length !== outShape.length || broadcast.some((d, i) => d !== outShape[i])) {
    throw modelError(`${describeElementwiseOp(op)}: inputs [${shapeA}] and [${shapeB}] do not broadcast to the output shape [${outShape}]`);
  }
  const fromA = broadcastSource(shapeA, outShape);
  const fromB = broadcastSource(shapeB, outShape);
  for (let i = 0; i < out.length; i++) out[i] = f(a[fromA[i]] as number, b[fromB[i]] as number);
}

function int8BinaryFunction(graph: Graph, op: BinaryOp): BinaryFunction {
  if (op.kind === 'div') throw modelError(`${describeElementwiseOp(op)}: div runs in float32 only`);
  if (op.kind === 'mul') {
    const p = mulParams(graph, op);
    return (a, b) => {
      const product = (a - p.input1ZeroPoint) * (b - p.input2ZeroPoint);
      const v = p.outputZeroPoint + mbqm(product, p.output.multiplier, p.output.shift);
      return Math.min(p.activationMax, Math.max(p.activationMin, v));
    };
  }
  const p = addSubParams(graph, op);
  const sign = op.kind === 'add' ? 1 : -1;
  const headroom = 2 ** p.leftShift;
  return (a, b) => {
    const scaledA = mbqm((a - p.input1ZeroPoint) * headroom, p.input1.multiplier, p.input1.shift);
    const scaledB = mbqm((b - p.input2ZeroPoint) * headroom, p.input2.multiplier, p.input2.shift);
    const v = mbqm(scaledA + sign * scaledB, p.output.multiplier, p.output.shift) + p.outputZeroPoint;
    return Math.min(p.activationMax, Math.max(p.activationMin, v));
  };
}

/** TFLite's ActivationFunctionWithMinMax on floats: std::min(std::max(x, lo), hi), so NaN passes and ±inf clamp. */
function floatClamp(activation: Activation): (x: number) => number {
  const [lo, hi] = floatActivationRange(activation);
  return (x) => {
    const low = x < lo ? lo : x;
    return hi < low ? hi : low;
  };
}

function floatBinaryFunction(op: BinaryOp): BinaryFunction {
  const clamp = floatClamp(op.attrs.activation);
  switch (op.kind) {
    case 'add':
      return (a, b) => clamp(f32(a + b));
    case 'sub':
      return (a, b) => clamp(f32(a - b));
    case 'mul':
      return (a, b) => clamp(f32(a * b));
    case 'div':
      return (a, b) => clamp(f32(a / b));
  }
}

// ---------------------------------------------------------------- unary ops

type UnaryKernelOp = UnaryOp | LeakyReluOp;

/** An int8 unary op is a function of 256 possible inputs: tabulate it once, then look up. */
function mapThroughTable(input: Int8Array, out: Int8Array, f: (x: number) => number): void {
  const table = new Int8Array(256);
  for (let x = -128; x <= 127; x++) table[x + 128] = f(x);
  for (let i = 0; i < input.length; i++) out[i] = table[input[i] + 128];
}

function int8UnaryFunction(graph: Graph, op: UnaryKernelOp): (x: number) => number {
  switch (op.kind) {
    case 'logistic':
    case 'tanh': {
      const p = sigmoidLikeParams(graph, op);
      // logistic's Q0.31 result becomes Q0.8 offset by -128; tanh's becomes Q0.7.
      const [f, outputShift, outputZeroPoint]: [typeof logistic, number, number] =
        op.kind === 'logistic' ? [logistic, 23, -128] : [tanh, 24, 0];
      return (x) => {
        const centred = x - p.inputZeroPoint;
        if (centred <= -p.inputRangeRadius) return -128;
        if (centred >= p.inputRangeRadius) return 127;
        const inQ4 = mbqm(centred, p.input.multiplier, p.input.shift);
        return clampInt8(roundingDivideByPOT(f(inQ4, 4), outputShift) + outputZeroPoint);
      };
    }
    case 'relu': {
      const p = reluParams(graph, op);
      return (x) => {
        const v = p.outputZeroPoint + mbqm(x - p.inputZeroPoint, p.output.multiplier, p.output.shift);
        return Math.min(p.activationMax, Math.max(p.activationMin, v));
      };
    }
    case 'rsqrt': {
      // TFLite Micro's RsqrtEvalQuantized (it refuses inputs below the zero point at run time).
      const p = rsqrtParams(graph, op);
      const shift = 20;
      return (x) => {
        const value = x - p.inputZeroPoint;
        if (value === 0) return 127;
        const inverse = invSqrtQuantizedMultiplierExp(value, -1);
        const data = mbqm(1, inverse.multiplier, inverse.shift + shift);
        return clampInt8(mbqm(data, p.output.multiplier, p.output.shift - shift) + p.outputZeroPoint);
      };
    }
    case 'elu': {
      // TFLite Micro's table, every step in float32: dequantize, exp(x) - 1 below zero, rescale,
      // round half away from zero, add the zero point.
      const p = eluParams(graph, op);
      return (x) => {
        const dequantized = f32(p.inputScale * (x - p.inputZeroPoint));
        const transformed = dequantized < 0 ? f32(expf(dequantized) - 1) : dequantized;
        return clampInt8(roundHalfAwayFromZero(f32(transformed * p.inverseOutputScale)) + p.outputZeroPoint);
      };
    }
    case 'relu6': {
      const { zero, six } = relu6Params(graph, op);
      return (x) => (x > six ? six : x < zero ? zero : x);
    }
    case 'leaky_relu': {
      const p = leakyReluParams(graph, op);
      const negativeAlpha = p.alpha.multiplier < 0;
      const alphaMagnitude = Math.abs(p.alpha.multiplier);
      return (x) => {
        const centred = x - p.inputZeroPoint;
        if (centred >= 0) return clampInt8(p.outputZeroPoint + mbqm(centred, p.identity.multiplier, p.identity.shift));
        const scaled = mbqm(centred, alphaMagnitude, p.alpha.shift);
        return clampInt8(p.outputZeroPoint + (negativeAlpha ? -scaled : scaled));
      };
    }
    case 'hard_swish':
      return hardSwishInt8(hardSwishParams(graph, op));
    default:
      throw modelError(`${describeElementwiseOp(op)}: no int8 kernel for ${op.kind}`);
  }
}

/** hard_swish(x) = x * relu6(x + 3) / 6 on int16 intermediates, as TFLite's reference kernel does it. */
function hardSwishInt8(p: HardSwishParams): (x: number) => number {
  return (x) => {
    // x - zero point fits in 9 bits; 7 more put it at the top of an int16.
    const hires = (x - p.inputZeroPoint) * 128;
    const preshiftOutput = saturatingRoundingDoublingHighMul16(hires, p.outputMultiplier16);
    // Rescale onto [-3, 3] -> int16 range. A left shift is split so that only its last bit can
    // saturate: saturation in the first part would be overwritten by the last one anyway.
    let reluish = hires;
    if (p.reluishExponent > 0) reluish = saturatingLeftShift16(reluish, p.reluishExponent - 1);
    reluish = saturatingRoundingDoublingHighMul16(reluish, p.reluishMultiplier16);
    if (p.reluishExponent > 0) reluish = saturatingLeftShift16(reluish, 1);
    if (p.reluishExponent < 0) reluish = roundingDivideByPOT16(reluish, -p.reluishExponent);
    // From [-1, 1] to [0, 1] in Q0.15.
    reluish = (reluish + 32768) >> 1;
    const preshift = saturatingDoublingHighMul16(reluish, preshiftOutput);
    const shifted = roundingDivideByPOT16(preshift, -p.outputExponent);
    // The C code adds the zero point in int16, which wraps before the clamp.
    return clampInt8((((shifted + p.outputZeroPoint) << 16) >> 16));
  };
}

const expf = (x: number) => f32(Math.exp(x));

// TFLite's float logistic saturates above this bound and uses exp(x) below -9.
const LOGISTIC_UPPER = f32(16.619047164916992);
export const logisticFloat = (x: number) => (x > LOGISTIC_UPPER ? 1 : x < -9 ? expf(x) : f32(1 / f32(1 + expf(-x))));
export const tanhFloat = (x: number) => f32(Math.tanh(x));

function floatUnaryFunction(op: UnaryKernelOp): (x: number) => number {
  switch (op.kind) {
    case 'logistic':
      return logisticFloat;
    case 'tanh':
      return tanhFloat;
    case 'relu':
      return (x) => (x < 0 ? 0 : x);
    case 'relu6':
      return (x) => (x > 6 ? 6 : x < 0 ? 0 : x);
    case 'leaky_relu': {
      const alpha = f32(op.attrs.alpha);
      return (x) => (x > 0 ? x : f32(x * alpha));
    }
    case 'rsqrt':
      return (x) => f32(1 / f32(Math.sqrt(x)));
    case 'exp':
      return expf;
    case 'elu':
      return (x) => (x < 0 ? f32(Math.expm1(x)) : x);
    case 'hard_swish':
      return (x) => {
        const shifted = f32(x + 3);
        const positive = 0 < shifted ? shifted : 0;
        const relu6 = positive < 6 ? positive : 6;
        return f32(f32(x * relu6) / 6);
      };
    default:
      throw modelError(`${describeElementwiseOp(op)}: no float kernel for ${op.kind}`);
  }
}

function mapFloat(input: Float32Array, out: Float32Array, f: (x: number) => number): void {
  for (let i = 0; i < input.length; i++) out[i] = f(input[i]);
}

// ---------------------------------------------------------------- softmax over the last axis

function lastAxis(graph: Graph, op: SoftmaxOp): number {
  const shape = graph.tensors[op.inputs[0]].shape;
  if (shape.length === 0) throw modelError(`${describeElementwiseOp(op)}: softmax needs an input with at least one axis`);
  return shape[shape.length - 1];
}

const ACCUMULATOR_INTEGER_BITS = 12;
const DIFF_INTEGER_BITS = 5;

/** An input difference from the row maximum in Q5.26. */
const scaledDiff = (p: Pick<SoftmaxParams, 'input'>, diff: number) => mbqm(diff, p.input.multiplier, p.input.shift);

/** A row's maximum and its sum of exps in Q12.19, as both int8 softmaxes compute them. */
function rowExps(p: Omit<SoftmaxParams, 'outputBits'>, input: Int8Array, row: number, depth: number): { max: number; sum: number } {
  let max = -128;
  for (let c = 0; c < depth; c++) max = Math.max(max, input[row + c]);
  let sum = 0;
  for (let c = 0; c < depth; c++) {
    const diff = input[row + c] - max;
    // TFLite adds in plain int32: more than 4096 maximal terms would wrap, as they do there.
    if (diff >= p.diffMin) sum = (sum + rescale(expOnNegativeValues(scaledDiff(p, diff), DIFF_INTEGER_BITS), 0, ACCUMULATOR_INTEGER_BITS)) | 0;
  }
  return { max, sum };
}

/** int8 input; int8 or int16 output (TFLite's template of one algorithm over the output width). */
function softmaxInt8(graph: Graph, op: SoftmaxOp, input: Int8Array, out: Int8Array | Int16Array): void {
  const depth = lastAxis(graph, op);
  const p = softmaxParams(graph, op);
  for (let row = 0; row < input.length; row += depth) {
    const { max, sum } = rowExps(p, input, row, depth);
    // 1 / sum: normalise sum into [1, 2), take 1 / (1 + x) and remember the shift.
    const headroom = Math.clz32(sum);
    const bitsOverUnit = ACCUMULATOR_INTEGER_BITS - headroom;
    const reciprocal = oneOverOnePlusXForXIn01(((sum << headroom) & 0x7fffffff) | 0);
    const exponent = bitsOverUnit + 31 - p.outputBits;
    // A sum of 512 or more makes every probability smaller than half a step of 1/256: each int8
    // output rounds to the lowest code. TFLite Micro stops on a check here; a shift past 31 would be garbage.
    const scaled = (e: number) => (exponent > 31 ? 0 : roundingDivideByPOT(saturatingRoundingDoublingHighMul(reciprocal, e), exponent));
    const [lowest, highest] = p.outputBits === 8 ? [-128, 127] : [-32768, 32767];
    for (let c = 0; c < depth; c++) {
      const diff = input[row + c] - max;
      const v = diff >= p.diffMin ? scaled(expOnNegativeValues(scaledDiff(p, diff), DIFF_INTEGER_BITS)) + lowest : lowest;
      out[row + c] = v > highest ? highest : v;
    }
  }
}

/**
 * TFLite's int8 LogSoftmax: (x - max) in Q5.26 less log(sum of exps) in Q5.26, rounded to the
 * output's Q4.4 steps below 127; differences too far below the log sum give -128.
 */
function logSoftmaxInt8(graph: Graph, op: SoftmaxOp, input: Int8Array, out: Int8Array): void {
  const depth = lastAxis(graph, op);
  const p = logSoftmaxParams(graph, op);
  const outputIntegerBits = 4;
  for (let row = 0; row < input.length; row += depth) {
    const { max, sum } = rowExps(p, input, row, depth);
    const logSum = logXForXGreaterThanOrEqualTo1(sum, ACCUMULATOR_INTEGER_BITS, DIFF_INTEGER_BITS);
    const lowest = Math.max(p.diffMin - 1, mbqm((logSum - 2 ** 31) | 0, p.reverse.multiplier, p.reverse.shift));
    for (let c = 0; c < depth; c++) {
      const diff = input[row + c] - max;
      out[row + c] = diff > lowest ? clampInt8(roundingDivideByPOT((scaledDiff(p, diff) - logSum) | 0, 31 - DIFF_INTEGER_BITS - outputIntegerBits) + 127) : -128;
    }
  }
}

/** TFLite's float LogSoftmax: x - max - log(sum of exp(x - max)), NaNs skipped by the max. */
function logSoftmaxFloat(input: Float32Array, out: Float32Array, depth: number): void {
  for (let row = 0; row < input.length; row += depth) {
    let max = -3.4028234663852886e38;
    for (let c = 0; c < depth; c++) max = max < input[row + c] ? input[row + c] : max;
    let sum = 0;
    for (let c = 0; c < depth; c++) sum = f32(sum + expf(f32(input[row + c] - max)));
    const logSum = f32(Math.log(sum));
    for (let c = 0; c < depth; c++) out[row + c] = f32(f32(input[row + c] - max) - logSum);
  }
}

function softmaxFloat(op: SoftmaxOp, input: Float32Array, out: Float32Array, depth: number): void {
  const beta = f32(op.attrs.beta);
  for (let row = 0; row < input.length; row += depth) {
    let max = -3.4028234663852886e38;
    for (let c = 0; c < depth; c++) max = max < input[row + c] ? input[row + c] : max;
    let sum = 0;
    for (let c = 0; c < depth; c++) {
      const e = expf(f32(f32(input[row + c] - max) * beta));
      out[row + c] = e;
      sum = f32(sum + e);
    }
    for (let c = 0; c < depth; c++) out[row + c] = f32(out[row + c] / sum);
  }
}
