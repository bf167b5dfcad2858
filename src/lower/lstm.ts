// UNIDIRECTIONAL_SEQUENCE_LSTM parameters as TFLite Micro's Prepare computes them
// (unidirectional_sequence_lstm.cc with lstm_eval_common.cc), and the int16 sigmoid and tanh its
// integer LSTM applies to the gates and the cell state, shared by the host reference and codegen.
//
// The integer LSTM: int8 input and hidden state, int8 weights with one scale per matrix, int32
// biases, int16 gates and cell state. Each gate is two int8 x int8 -> int16 matrix products (input
// and recurrent, each requantized to Q3.12 and saturated to int16), their saturating sum, then a
// sigmoid (or tanh for the cell gate) whose output is Q0.15. The cell state's scale is a power of
// two; its tanh feeds the hidden state, requantized to int8. The 16x8 LSTM is the same with int16
// input and hidden state (zero points 0) and int64 biases: its products sum in 64 bits and are
// requantized by TFLite's 64-bit rule.

import { numel } from '../ir/dtype.ts';
import type { Graph, LstmOp } from '../ir/types.ts';
import type { Requantize } from './elementwise.ts';
import { roundHalfAwayFromZero } from './fixedpoint.ts';
import { OpOperands } from './operands.ts';

/** Gate order of the weights and biases in the op's inputs (TFLite's). */
export const LSTM_GATES = ['input', 'forget', 'cell', 'output'] as const;

/** Q3.12: the scale TFLite Micro gives every gate's pre-activation. */
const GATE_INPUT_SCALE = 2 ** -12;
/** Q0.15: the scale of every gate's sigmoid or tanh output. */
const GATE_OUTPUT_SCALE = 2 ** -15;

export interface LstmShape {
  /** Sequences, and steps per sequence. */
  batch: number;
  steps: number;
  inputSize: number;
  units: number;
  /** Input [steps, batch, features] rather than [batch, steps, features]. */
  timeMajor: boolean;
}

export interface LstmGateQuantized {
  /** Input x weights and hidden state x recurrent weights, to Q3.12. */
  inputRequant: Requantize;
  recurrentRequant: Requantize;
  /**
   * int8: the zero points folded into the biases at compile time: bias[u] - input zero point x
   * sum(weights row u), and - hidden zero point x sum(recurrent row u) (TFLite adds them per MAC).
   * int16: the int64 bias as it is (every value an exact integer), and no recurrent bias.
   */
  inputBias: Int32Array | Float64Array;
  recurrentBias?: Int32Array;
}

export interface LstmQuantizedParams extends LstmShape {
  /** The input, hidden state and output type; gates and cell state are int16 either way. */
  dtype: 'int8' | 'int16';
  gates: LstmGateQuantized[];
  /** forget gate x cell state -> cell state; input gate x cell gate -> cell state. */
  forgetMul: Requantize;
  inputMul: Requantize;
  /** output gate x tanh(cell state) -> hidden state, plus its zero point, clamped to the hidden state's type. */
  hiddenMul: Requantize;
  hiddenZeroPoint: number;
  /** Cell state clamp in int16 steps; 0 for none. */
  cellClip: number;
  /** The int16 tanh's input multiplier and left shift for the cell state (from its power-of-two scale). */
  cellTanh: Int16TanhInput;
}

export interface LstmFloatParams extends LstmShape {
  dtype: 'float32';
  cellClip: number;
}

export type LstmParams = LstmQuantizedParams | LstmFloatParams;

export function lstmShape(graph: Graph, op: LstmOp): LstmShape {
  const input = graph.tensors[op.inputs[0]].shape;
  const [units, inputSize] = graph.tensors[op.inputs[1]].shape;
  const timeMajor = op.attrs.timeMajor;
  return { batch: timeMajor ? input[1] : input[0], steps: timeMajor ? input[0] : input[1], inputSize, units, timeMajor };
}

export function lowerLstm(graph: Graph, op: LstmOp): LstmParams {
  const operands = new OpOperands(graph, op);
  const shape = lstmShape(graph, op);
  const input = operands.input(0);
  const float = input.dtype === 'float32';
  const int16 = input.dtype === 'int16';
  operands.expectDtype(input, 'int8', 'int16', 'float32');
  operands.expectDtype(operands.output(), input.dtype);
  for (let i = 1; i <= 12; i++) {
    const t = operands.input(i);
    operands.expectDtype(t, float ? 'float32' : i <= 8 ? 'int8' : int16 ? 'int64' : 'int32');
    if (!t.data) operands.fail(`${operands.describe(t)} must be a constant`);
  }
  const cellClip = Math.fround(op.attrs.cellClip);
  if (float) return { dtype: 'float32', ...shape, cellClip };

  const state = op.attrs.state;
  if (state === undefined) return operands.fail(`an ${input.dtype} LSTM needs the quantization of its hidden and cell states`);
  const hidden = { scale: Math.fround(state.hiddenScale), zeroPoint: state.hiddenZeroPoint };
  const cellScale = Math.fround(state.cellScale);
  if (int16 && hidden.zeroPoint !== 0) operands.fail(`hidden state zero point ${hidden.zeroPoint}: a 16x8 LSTM's is 0`);
  if (!Number.isInteger(hidden.zeroPoint) || hidden.zeroPoint < -128 || hidden.zeroPoint > 127) operands.fail(`hidden state zero point ${hidden.zeroPoint} is outside int8`);
  if (!(hidden.scale > 0) || !(cellScale > 0)) operands.fail('the hidden and cell state scales must be positive');
  const x = operands.affine(input);
  if (int16 && x.zeroPoint !== 0) operands.fail(`input zero point ${x.zeroPoint}: a 16x8 LSTM's is 0`);

  const gates = LSTM_GATES.map((gate, g): LstmGateQuantized => {
    const weights = operands.input(1 + g);
    const recurrent = operands.input(5 + g);
    const bias = operands.input(9 + g).data;
    const [w] = operands.weightScales(weights, 0, 1);
    const [r] = operands.weightScales(recurrent, 0, 1);
    const requants = {
      inputRequant: operands.multiplier(Math.fround(x.scale * w) / GATE_INPUT_SCALE, `${gate} gate input scale`),
      recurrentRequant: operands.multiplier(Math.fround(hidden.scale * r) / GATE_INPUT_SCALE, `${gate} gate recurrent scale`),
    };
    if (int16) return { ...requants, inputBias: Float64Array.from(bias as BigInt64Array, Number) };
    return {
      ...requants,
      inputBias: foldZeroPoint(weights.data as Int8Array, shape.units, shape.inputSize, x.zeroPoint, bias as Int32Array),
      recurrentBias: foldZeroPoint(recurrent.data as Int8Array, shape.units, shape.units, hidden.zeroPoint),
    };
  });
  // Products of two scales in double, as CreateInterGateMulParams computes them.
  const mul = (a: number, b: number, out: number, what: string) => operands.multiplier((a * b) / out, what);
  return {
    dtype: int16 ? 'int16' : 'int8',
    ...shape,
    gates,
    forgetMul: mul(GATE_OUTPUT_SCALE, cellScale, cellScale, 'forget x cell scale'),
    inputMul: mul(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, cellScale, 'input x cell gate scale'),
    hiddenMul: mul(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, hidden.scale, 'hidden state scale'),
    hiddenZeroPoint: hidden.zeroPoint,
    // cell_clip / scale in double, clamped to int16 and truncated as static_cast<int16_t> does.
    cellClip: cellClip > 0 ? Math.trunc(Math.min(Math.max(cellClip / cellScale, -32768), 32767)) : 0,
    cellTanh: int16TanhInput(cellScalePower(cellScale)),
  };
}

/** bias[u] - zeroPoint * sum of row u, in int32 (wrapping as the device's adds would). */
function foldZeroPoint(matrix: Int8Array, rows: number, depth: number, zeroPoint: number, bias?: Int32Array): Int32Array {
  const out = new Int32Array(rows);
  for (let u = 0; u < rows; u++) {
    let sum = 0;
    for (let d = 0; d < depth; d++) sum += matrix[u * depth + d];
    out[u] = (bias ? bias[u] : 0) - zeroPoint * sum;
  }
  return out;
}

/** log2 of the cell state scale rounded to an integer, as TFLite's CheckedLog2 (whose inexactness TFLite Micro ignores). */
function cellScalePower(scale: number): number {
  return roundHalfAwayFromZero(Math.fround(Math.fround(Math.log(scale)) * Math.fround(1 / Math.fround(Math.log(2)))));
}

/** The int16 tanh's input stage: x * multiplier (rounded) >> leftShift. */
export interface Int16TanhInput {
  multiplier: number;
  shift: number;
}

/**
 * TFLite Micro's tanh of an int16 with scale 2^power: the shift that brings it to the table's
 * Q3.12 is 15 + power - 3; a left shift becomes part of the multiplier 3 (the table's 3/4 range
 * stretch), a right shift is applied, rounded, after multiplying by 3.
 */
export function int16TanhInput(power: number): Int16TanhInput {
  const shift = 15 + power - 3;
  return shift >= 0 ? { multiplier: 3 << shift, shift: 0 } : { multiplier: 3, shift: -shift };
}

/** The gates' tanh: pre-activations in Q3.12. */
export const GATE_TANH_INPUT = int16TanhInput(-12);

/**
 * TFLite's int16 sigmoid table, sigmoid(i / 24) in Q0.16 for i = 0..255. The values are TFLite's
 * own data (fitted for linear interpolation, so not a rounding of the function); every bit of the
 * int16 sigmoid and tanh depends on them.
 */
export const SIGMOID_TABLE_Q16 = Uint16Array.from([
  32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
  43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
  51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
  57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
  61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
  63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
  64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
  64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
  65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
  65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
  65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
  65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
  65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
  65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
  65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
  65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
]);

/**
 * int16 sigmoid of a Q3.12 value, Q0.15 out: the input times 3 (Q3.12 * 3/4 indexes the table at
 * 1/24 steps in units of 2^-9), linear interpolation between table entries on the magnitude, the
 * negative side mirrored, back to 16 bits. Values are unsigned 32-bit as in the C.
 */
export function int16Sigmoid(x: number): number {
  const v = x * 3;
  const magnitude = Math.abs(v);
  const index = magnitude >>> 9;
  let result: number;
  if (index >= 255) {
    result = 0x7fff << 10;
  } else {
    const a = SIGMOID_TABLE_Q16[index];
    const b = SIGMOID_TABLE_Q16[index + 1];
    result = a * 512 + (magnitude & 0x1ff) * (b - a);
  }
  result = v >= 0 ? result + (1 << 9) : (1 << 25) - result + (1 << 9) - 1;
  return (result >>> 10) << 16 >> 16;
}

/** int16 tanh, Q0.15 out, with the input stage of `input` (TFLite's tanh(x) = 2 sigmoid(2x) - 1 on the same table). */
export function int16Tanh(x: number, input: Int16TanhInput): number {
  const round = input.shift > 0 ? 1 << (input.shift - 1) : 0;
  const v = (x * input.multiplier + round) >> input.shift;
  const magnitude = Math.abs(v);
  const index = magnitude >>> 8;
  let result: number;
  if (index >= 255) {
    result = 0xffff << 8;
  } else {
    const a = SIGMOID_TABLE_Q16[index];
    const b = SIGMOID_TABLE_Q16[index + 1];
    result = a * 256 + (magnitude & 0xff) * (b - a);
  }
  result = v >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
  return (result >> 8) << 16 >> 16;
}

/** Elements of one step's state, for all sequences the step advances together. */
export const lstmStateSize = (s: LstmShape) => s.batch * s.units;

export const lstmInputCount = (graph: Graph, op: LstmOp) => numel(graph.tensors[op.inputs[0]].shape);
