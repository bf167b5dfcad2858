// Integer parameters of the element-wise int8 ops, derived from the IR exactly as TFLite Micro's
// Prepare functions derive them (same float32-or-double arithmetic, same rounding), so that the
// host reference and the generated C compute bit-identical results.
//
// Zero points are kept as zero points (not TFLite's negated "offsets"). Multipliers are Q0.31
// with a shift as quantizeMultiplier returns them. Where TFLite Micro would abort (a failed
// CHECK) or hit undefined behaviour, these functions throw a model error instead.

import { DTYPE_RANGE } from '../ir/dtype.ts';
import { modelError } from '../ir/errors.ts';
import type { Activation, BinaryOp, Graph, LeakyReluOp, MaxMinOp, Op, PreluOp, SoftmaxOp, SquaredDifferenceOp, UnaryOp } from '../ir/types.ts';
import { INT32_MAX, INT32_MIN, frexp, multiplyByQuantizedMultiplier, quantizeMultiplier, roundHalfAwayFromZero } from './fixedpoint.ts';
import { OpOperands } from './operands.ts';

const f32 = Math.fround;
const INT8_MIN = -128;
const INT8_MAX = 127;
const FLT_MAX = 3.4028234663852886e38;

export interface Requantize {
  multiplier: number;
  shift: number;
}

/** add and sub: both inputs are brought to a common scale with 20 bits of headroom, summed, requantized. */
export interface AddSubParams {
  leftShift: number;
  input1ZeroPoint: number;
  input2ZeroPoint: number;
  outputZeroPoint: number;
  input1: Requantize;
  input2: Requantize;
  output: Requantize;
  activationMin: number;
  activationMax: number;
}

export interface MulParams {
  input1ZeroPoint: number;
  input2ZeroPoint: number;
  outputZeroPoint: number;
  output: Requantize;
  activationMin: number;
  activationMax: number;
}

/** Output is fixed at scale 1/256, zero point -128 (int8) or 1/65536, -32768 (int16). */
export interface SoftmaxParams {
  /** Bits of the output code: 8 (int8) or 16 (int16). */
  outputBits: 8 | 16;
  /** beta * input scale as a Q5.26 multiplier; shift >= 0. */
  input: Requantize;
  /** Differences from the row maximum below this contribute exp() = 0. */
  diffMin: number;
}

/** Shared by logistic (output 1/256, -128) and tanh (output 1/128, 0): input rescaled to Q4.27. */
export interface SigmoidLikeParams {
  inputZeroPoint: number;
  /** |x - zero point| at or beyond this saturates the output. */
  inputRangeRadius: number;
  input: Requantize;
}

export interface ReluParams {
  inputZeroPoint: number;
  outputZeroPoint: number;
  output: Requantize;
  activationMin: number;
  activationMax: number;
}

/**
 * TFLite Micro's int8 RELU6 clamps in the input's quantized domain and ignores the output's
 * quantization (it assumes they are equal): output = clamp(x, zero, six).
 */
export interface Relu6Params {
  zero: number;
  six: number;
}

export interface LeakyReluParams {
  inputZeroPoint: number;
  outputZeroPoint: number;
  /** For x >= zero point: input scale / output scale. */
  identity: Requantize;
  /** For x < zero point: alpha * input scale / output scale; the multiplier is negative for negative alpha. */
  alpha: Requantize;
}

/** Hard swish works on int16 intermediates with 16-bit multipliers. */
export interface HardSwishParams {
  inputZeroPoint: number;
  outputZeroPoint: number;
  /** (input scale / 128) / output scale; exponent <= 0. */
  outputMultiplier16: number;
  outputExponent: number;
  /** (input scale / 128) / (3 / 32768): maps x in [-3, 3] onto the int16 range. */
  reluishMultiplier16: number;
  reluishExponent: number;
}

/** Per-tensor int8 quantization; the scale is the float32 value TFLite stores. */
export interface Int8Quant {
  scale: number;
  zeroPoint: number;
}

export function describeElementwiseOp(op: Op): string {
  return `${op.kind} op${op.origin ? ` (${op.origin})` : ''}`;
}

/** The per-tensor int8 (or, where allowed, int16) quantization of an op's tensor, with the scale as the float32 TFLite stores. */
function int8Quant(graph: Graph, op: Op, tensorIndex: number, role: string, int16 = false): Int8Quant {
  const where = describeElementwiseOp(op);
  const tensor = graph.tensors[tensorIndex];
  if (!tensor) throw modelError(`${where}: ${role} refers to tensor ${tensorIndex}, which does not exist`);
  const name = `${role} '${tensor.name}'`;
  if (tensor.dtype !== 'int8' && !(int16 && tensor.dtype === 'int16')) throw modelError(`${where}: ${name} is ${tensor.dtype}, expected int8${int16 ? ' or int16' : ''}`);
  const [lowest, highest] = DTYPE_RANGE[tensor.dtype]!;
  const q = tensor.quant;
  if (!q || q.scale.length === 0) throw modelError(`${where}: ${name} is ${tensor.dtype} but has no quantization parameters`);
  if (q.scale.length !== 1) throw modelError(`${where}: ${name} is quantized per channel (${q.scale.length} scales); element-wise ops need one scale`);
  const scale = f32(q.scale[0]);
  const zeroPoint = q.zeroPoint[0];
  if (!(scale > 0) || !Number.isFinite(scale)) throw modelError(`${where}: ${name} has scale ${q.scale[0]}, which is not a positive float32`);
  if (!Number.isInteger(zeroPoint) || zeroPoint < lowest || zeroPoint > highest) {
    throw modelError(`${where}: ${name} has zero point ${zeroPoint}, outside the ${tensor.dtype} range`);
  }
  return { scale, zeroPoint };
}

const inputQuant = (graph: Graph, op: Op, position: number, int16 = false) =>
  int8Quant(graph, op, op.inputs[position], op.inputs.length > 1 ? `input ${position + 1}` : 'input', int16);
const outputQuant = (graph: Graph, op: Op, int16 = false) => int8Quant(graph, op, op.outputs[0], 'output', int16);

/** quantizeMultiplier with the shift range the integer kernels can apply without overflow or undefined shifts. */
function requantize(real: number, op: Op, what: string, minShift = -31, maxShift = 30): Requantize {
  const r = quantizeMultiplier(real);
  if (r.shift < minShift || r.shift > maxShift) {
    throw modelError(
      `${describeElementwiseOp(op)}: the ${what} ratio ${real.toPrecision(6)} is outside what int8 kernels can apply (needs 2^${minShift} to 2^${maxShift}); check the quantization scales`,
    );
  }
  return r;
}

/**
 * The int8 clamp of a fused activation (TFLite's CalculateActivationRangeQuantized): the
 * activation's bounds quantized with the output's float32 scale, intersected with [-128, 127].
 */
/** The fused activation as a clamp of output codes, within `range` (int8's unless given: int16 for 16x8 kernels). */
export function quantizedActivationRange(activation: Activation, output: Int8Quant, where: string, [lowest, highest]: [number, number] = [INT8_MIN, INT8_MAX]): [number, number] {
  const quantize = (bound: number): number => {
    const q = roundHalfAwayFromZero(f32(bound / output.scale));
    if (q < INT32_MIN || q > INT32_MAX) {
      throw modelError(`${where}: fused ${activation} bound ${bound} does not fit in int32 at output scale ${output.scale}`);
    }
    return output.zeroPoint + q;
  };
  switch (activation) {
    case 'none':
      return [lowest, highest];
    case 'relu':
      return [Math.max(lowest, quantize(0)), highest];
    case 'relu6':
      return [Math.max(lowest, quantize(0)), Math.min(highest, quantize(6))];
    case 'relu_n1_to_1':
      return [Math.max(lowest, quantize(-1)), Math.min(highest, quantize(1))];
  }
}

/** The float32 clamp of a fused activation (TFLite's CalculateActivationRange for float). */
export function floatActivationRange(activation: Activation): [number, number] {
  switch (activation) {
    case 'none':
      return [-FLT_MAX, FLT_MAX];
    case 'relu':
      return [0, FLT_MAX];
    case 'relu6':
      return [0, 6];
    case 'relu_n1_to_1':
      return [-1, 1];
  }
}

/**
 * ADD and SUB. TFLite Micro's ADD computes the real multipliers in double while its SUB computes
 * them in float32 (rounding after every step); both are reproduced.
 */
/** PRELU's int8 constants, as TFLite Micro's Prepare computes them (two multipliers: x >= 0 and x * alpha). */
export interface PreluParams {
  inputOffset: number;
  alphaOffset: number;
  outputOffset: number;
  multiplier1: number;
  shift1: number;
  multiplier2: number;
  shift2: number;
}

export function preluParams(graph: Graph, op: PreluOp): PreluParams {
  const operands: OpOperands = new OpOperands(graph, op);
  const [input, alpha, output] = [operands.input(0), operands.input(1), operands.output()];
  for (const t of [input, alpha, output]) operands.expectDtype(t, 'int8');
  const [x, a, y] = [input, alpha, output].map((t) => operands.affine(t));
  const first = operands.multiplier(x.scale / y.scale, 'input-to-output scale ratio');
  const second = operands.multiplier((x.scale * a.scale) / y.scale, 'input x alpha to output scale ratio');
  return {
    // `0 - z`, not `-z`: a zero point of 0 must give +0, the integer the C code holds.
    inputOffset: 0 - x.zeroPoint,
    alphaOffset: 0 - a.zeroPoint,
    outputOffset: y.zeroPoint,
    multiplier1: first.multiplier,
    shift1: first.shift,
    multiplier2: second.multiplier,
    shift2: second.shift,
  };
}

/**
 * MAXIMUM and MINIMUM compare raw values (TFLite Micro's kernels do, in int8 too), so an int8
 * op's inputs and output must share one scale and zero point for the result to mean the same.
 */
export function maxMinDtype(graph: Graph, op: MaxMinOp): 'int8' | 'float32' {
  const operands: OpOperands = new OpOperands(graph, op);
  const output = operands.output();
  operands.expectDtype(output, 'int8', 'float32');
  const out = output.dtype === 'int8' ? operands.affine(output) : undefined;
  op.inputs.forEach((_, k) => {
    const input = operands.input(k);
    operands.expectDtype(input, output.dtype);
    if (!out) return;
    const q = operands.affine(input);
    if (q.scale !== out.scale || q.zeroPoint !== out.zeroPoint) {
      operands.fail(`${operands.describe(input)} (scale ${q.scale}, zero point ${q.zeroPoint}) must have the output's scale ${out.scale} and zero point ${out.zeroPoint}`);
    }
  });
  return output.dtype as 'int8' | 'float32';
}

export function addSubParams(graph: Graph, op: BinaryOp): AddSubParams {
  if (op.kind !== 'add' && op.kind !== 'sub') throw modelError(`${describeElementwiseOp(op)}: no int8 add/sub parameters for ${op.kind}`);
  // TFLite Micro's ADD runs int16 tensors with the same algorithm and 15 bits of headroom instead of 20.
  const int16 = op.kind === 'add' && graph.tensors[op.outputs[0]]?.dtype === 'int16';
  const in1 = inputQuant(graph, op, 0, int16);
  const in2 = inputQuant(graph, op, 1, int16);
  const out = outputQuant(graph, op, int16);
  const narrow = op.kind === 'sub' ? f32 : (v: number) => v;
  const leftShift = int16 ? 15 : 20;
  const twiceMaxInputScale = narrow(2 * Math.max(in1.scale, in2.scale));
  const smallerThanOne = (real: number, what: string): Requantize => {
    if (!(real < 1)) {
      throw modelError(
        `${describeElementwiseOp(op)}: the ${what} ratio ${real.toPrecision(6)} must be below 1; the output scale ${out.scale} is too small for the inputs' scales`,
      );
    }
    return requantize(real, op, what, -31, 0);
  };
  const [activationMin, activationMax] = quantizedActivationRange(op.attrs.activation, out, describeElementwiseOp(op), DTYPE_RANGE[int16 ? 'int16' : 'int8']);
  return {
    leftShift,
    input1ZeroPoint: in1.zeroPoint,
    input2ZeroPoint: in2.zeroPoint,
    outputZeroPoint: out.zeroPoint,
    input1: smallerThanOne(narrow(in1.scale / twiceMaxInputScale), 'input 1 rescale'),
    input2: smallerThanOne(narrow(in2.scale / twiceMaxInputScale), 'input 2 rescale'),
    output: smallerThanOne(narrow(twiceMaxInputScale / narrow(2 ** leftShift * out.scale)), 'output rescale'),
    activationMin,
    activationMax,
  };
}

/** ELU's int8 table inputs as TFLite Micro's PopulateLookupTable reads them: the inverse output scale is a float32. */
export function eluParams(graph: Graph, op: UnaryOp): { inputScale: number; inputZeroPoint: number; inverseOutputScale: number; outputZeroPoint: number } {
  const [input, output] = [inputQuant(graph, op, 0), outputQuant(graph, op)];
  return { inputScale: input.scale, inputZeroPoint: input.zeroPoint, inverseOutputScale: f32(1 / output.scale), outputZeroPoint: output.zeroPoint };
}

/**
 * RSQRT's int8 output multiplier as TFLite Micro's SetRsqrtOutputMultiplier computes it:
 * 1 / (sqrtf(input scale) * output scale), the product in float32, the quotient in double.
 */
export function rsqrtParams(graph: Graph, op: UnaryOp): { inputZeroPoint: number; outputZeroPoint: number; output: Requantize } {
  const [input, output] = [inputQuant(graph, op, 0), outputQuant(graph, op)];
  // The kernel applies it with 20 more bits of right shift (its kShift).
  const real = 1 / f32(f32(Math.sqrt(input.scale)) * output.scale);
  return { inputZeroPoint: input.zeroPoint, outputZeroPoint: output.zeroPoint, output: requantize(real, op, 'output rescale', -11, 30) };
}

/**
 * SQUARED_DIFFERENCE's int8 constants as TFLite Micro's PrepareQuantized computes them: ADD's input
 * rescaling in double with a left shift of 7, and an output multiplier (any size) for the squared
 * difference. Its tables are SUB's (addSubTables), the difference of the rescaled inputs.
 */
export function squaredDifferenceParams(graph: Graph, op: SquaredDifferenceOp): AddSubParams {
  const [in1, in2] = [inputQuant(graph, op, 0), inputQuant(graph, op, 1)];
  const out = outputQuant(graph, op);
  const leftShift = 7;
  const twiceMaxInputScale = 2 * Math.max(in1.scale, in2.scale);
  return {
    leftShift,
    input1ZeroPoint: in1.zeroPoint,
    input2ZeroPoint: in2.zeroPoint,
    outputZeroPoint: out.zeroPoint,
    input1: requantize(in1.scale / twiceMaxInputScale, op, 'input 1 rescale', -31, 0),
    input2: requantize(in2.scale / twiceMaxInputScale, op, 'input 2 rescale', -31, 0),
    output: requantize((twiceMaxInputScale * twiceMaxInputScale) / (2 ** (2 * leftShift) * out.scale), op, 'output rescale'),
    activationMin: -128,
    activationMax: 127,
  };
}

/**
 * An ADD's or SUB's rescaled inputs for every int8 value, input k's at [v + 128]: what
 * MultiplyByQuantizedMultiplier makes of (v - zero point) << leftShift. SUB's second table is
 * negated, so that both ops sum their two table entries.
 */
export function addSubTables(p: AddSubParams, kind: 'add' | 'sub'): [Int32Array, Int32Array] {
  const table = (zeroPoint: number, r: Requantize, sign: number) =>
    Int32Array.from({ length: 256 }, (_, i) => sign * multiplyByQuantizedMultiplier((i - 128 - zeroPoint) * 2 ** p.leftShift, r.multiplier, r.shift));
  return [table(p.input1ZeroPoint, p.input1, 1), table(p.input2ZeroPoint, p.input2, kind === 'add' ? 1 : -1)];
}

export function mulParams(graph: Graph, op: BinaryOp): MulParams {
  const in1 = inputQuant(graph, op, 0);
  const in2 = inputQuant(graph, op, 1);
  const out = outputQuant(graph, op);
  const [activationMin, activationMax] = quantizedActivationRange(op.attrs.activation, out, describeElementwiseOp(op));
  return {
    input1ZeroPoint: in1.zeroPoint,
    input2ZeroPoint: in2.zeroPoint,
    outputZeroPoint: out.zeroPoint,
    output: requantize((in1.scale * in2.scale) / out.scale, op, 'input 1 scale x input 2 scale / output scale'),
    activationMin,
    activationMax,
  };
}

/** Checks the fixed output quantization that TFLite's int8 softmax, logistic and tanh produce. */
function requireOutput(graph: Graph, op: Op, scale: number, zeroPoint: number): void {
  const out = outputQuant(graph, op);
  if (out.scale !== scale || out.zeroPoint !== zeroPoint) {
    throw modelError(
      `${describeElementwiseOp(op)}: int8 output must have scale 1/${1 / scale} and zero point ${zeroPoint}, got scale ${out.scale} and zero point ${out.zeroPoint}`,
    );
  }
}

/** TFLite Micro accepts an int16 softmax output whose scale is within 0.1% of 1/65536 (1/65535 is common). */
function requireInt16SoftmaxOutput(graph: Graph, op: SoftmaxOp): void {
  const q = graph.tensors[op.outputs[0]].quant;
  const scale = f32(q?.scale[0] ?? 0);
  if (!q || q.scale.length !== 1 || q.zeroPoint[0] !== -32768 || !(Math.abs(scale - 2 ** -16) <= f32(0.001 * 2 ** -16))) {
    throw modelError(`${describeElementwiseOp(op)}: int16 output must have scale 1/65536 (within 0.1%) and zero point -32768, got scale ${q?.scale[0]} and zero point ${q?.zeroPoint[0]}`);
  }
}

export function softmaxParams(graph: Graph, op: SoftmaxOp): SoftmaxParams {
  const outputBits = graph.tensors[op.outputs[0]]?.dtype === 'int16' ? 16 : 8;
  if (outputBits === 16) requireInt16SoftmaxOutput(graph, op);
  else requireOutput(graph, op, 1 / 256, -128);
  return { outputBits, ...scaledDifferences(graph, op) };
}

/** int8 LOG_SOFTMAX: softmax's input rescaling, and its inverse to map log(sum of exps) back to input steps. */
export interface LogSoftmaxParams {
  input: Requantize;
  diffMin: number;
  /** 1 / input multiplier as TFLite's PreprocessLogSoftmaxScalingExp gives it: shift <= 0. */
  reverse: Requantize;
}

/** TFLite Micro's int8 LOG_SOFTMAX: output scale 16/256 (Q4.4 below 0), zero point 127. */
export function logSoftmaxParams(graph: Graph, op: SoftmaxOp): LogSoftmaxParams {
  requireOutput(graph, op, 16 / 256, 127);
  const { input, diffMin } = scaledDifferences(graph, op);
  const real = 2 ** (31 - input.shift) / input.multiplier;
  if (!(real < 1)) throw modelError(`${describeElementwiseOp(op)}: input scale ${inputQuant(graph, op, 0).scale} is too small for int8 log_softmax`);
  return { input, diffMin, reverse: quantizeMultiplier(real) };
}

/** beta x input scale as a Q5.26 multiplier of input differences, and the smallest difference that counts. */
function scaledDifferences(graph: Graph, op: SoftmaxOp): Omit<SoftmaxParams, 'outputBits'> {
  const input = inputQuant(graph, op, 0);
  const scaledDiffIntegerBits = 5;
  const beta = f32(op.attrs.beta);
  const real = Math.min(beta * input.scale * 2 ** (31 - scaledDiffIntegerBits), 2 ** 31 - 1);
  if (!(real > 1)) {
    throw modelError(`${describeElementwiseOp(op)}: beta ${op.attrs.beta} x input scale ${input.scale} is too small for int8 softmax (needs > 2^-26)`);
  }
  const rescale = requantize(real, op, 'beta x input scale', 0, 31);
  // Largest input difference whose rescaled value still fits in Q5.26.
  const radius = Math.floor(((2 ** scaledDiffIntegerBits - 1) * 2 ** (31 - scaledDiffIntegerBits)) / 2 ** rescale.shift);
  return { input: rescale, diffMin: -radius | 0 };
}

/** LOGISTIC and TANH: input rescaled to Q4.27 with TFLite's own frexp-based multiplier (no renormalisation). */
export function sigmoidLikeParams(graph: Graph, op: UnaryOp): SigmoidLikeParams {
  if (op.kind !== 'logistic' && op.kind !== 'tanh') throw modelError(`${describeElementwiseOp(op)}: not logistic or tanh`);
  const input = inputQuant(graph, op, 0);
  if (op.kind === 'logistic') requireOutput(graph, op, 1 / 256, -128);
  else requireOutput(graph, op, 1 / 128, 0);
  const inputIntegerBits = 4;
  const { fraction, exponent } = frexp(input.scale * 2 ** (31 - inputIntegerBits));
  if (exponent < 0 || exponent > 30) {
    throw modelError(`${describeElementwiseOp(op)}: input scale ${input.scale} is outside the range int8 ${op.kind} supports (2^-28 to 8)`);
  }
  return {
    inputZeroPoint: input.zeroPoint,
    inputRangeRadius: Math.floor(((2 ** inputIntegerBits - 1) * 2 ** (31 - inputIntegerBits)) / 2 ** exponent),
    input: { multiplier: roundHalfAwayFromZero(fraction * 2 ** 31), shift: exponent },
  };
}

export function reluParams(graph: Graph, op: UnaryOp): ReluParams {
  const input = inputQuant(graph, op, 0);
  const out = outputQuant(graph, op);
  return {
    inputZeroPoint: input.zeroPoint,
    outputZeroPoint: out.zeroPoint,
    output: requantize(f32(input.scale / out.scale), op, 'input scale / output scale'),
    // Real 0 quantizes to the zero point exactly, and real +infinity to no upper clamp.
    activationMin: out.zeroPoint,
    activationMax: INT8_MAX,
  };
}

export function relu6Params(graph: Graph, op: UnaryOp): Relu6Params {
  const input = inputQuant(graph, op, 0);
  outputQuant(graph, op); // only validated: the kernel never reads it
  const six = roundHalfAwayFromZero(f32(6 / input.scale)) + input.zeroPoint;
  return { zero: input.zeroPoint, six: Math.max(INT8_MIN, Math.min(INT8_MAX, six)) };
}

export function leakyReluParams(graph: Graph, op: LeakyReluOp): LeakyReluParams {
  const input = inputQuant(graph, op, 0);
  const out = outputQuant(graph, op);
  const alpha = f32(op.attrs.alpha);
  return {
    inputZeroPoint: input.zeroPoint,
    outputZeroPoint: out.zeroPoint,
    identity: requantize(f32(input.scale / out.scale), op, 'input scale / output scale'),
    alpha: requantize(f32(f32(input.scale * alpha) / out.scale), op, 'alpha x input scale / output scale'),
  };
}

/** TFLite's DownScaleInt32ToInt16Multiplier: rounds a Q0.31 multiplier to Q0.15, saturating. */
function toInt16Multiplier(multiplier: number): number {
  if (multiplier >= 2147483647 - 32768) return 32767;
  return (multiplier + 32768) >> 16;
}

export function hardSwishParams(graph: Graph, op: UnaryOp): HardSwishParams {
  const input = inputQuant(graph, op, 0);
  const out = outputQuant(graph, op);
  const hiresInputScale = f32((1 / 128) * input.scale);
  const reluishScale = f32(3 / 32768);
  const output = requantize(f32(hiresInputScale / out.scale), op, '(input scale / 128) / output scale', -31, 0);
  const reluish = requantize(f32(hiresInputScale / reluishScale), op, 'input scale / (3 / 256)', -31, 31);
  return {
    inputZeroPoint: input.zeroPoint,
    outputZeroPoint: out.zeroPoint,
    outputMultiplier16: toInt16Multiplier(output.multiplier),
    outputExponent: output.shift,
    reluishMultiplier16: toInt16Multiplier(reluish.multiplier),
    reluishExponent: reluish.shift,
  };
}
