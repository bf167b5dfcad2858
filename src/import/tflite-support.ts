// What edgec accepts of each TFLite builtin operator: tensor types and constraints, one entry per
// operator the importer converts (a test keeps the two key sets equal). The importer words its
// messages with these constraints, and `npm run docs:ops` writes them into the README as the
// supported-operators table, so the table and the checks cannot drift apart.

import { BuiltinOperator as B, builtinOperatorName } from '../tflite/schema.ts';

/** Constraints several operators share; each reads as what the model must do. */
export const CONSTRAINT = {
  sameQuantization: "int8: the output has the input's scale and zero point (values are copied raw; requantize with a QUANTIZE operator otherwise)",
  inputsShareQuantization: "int8: every input has the output's scale and zero point (values are copied or compared raw; requantize with a QUANTIZE operator otherwise)",
  fusedActivation: 'fused activation NONE, RELU, RELU_N1_TO_1 or RELU6',
  noActivation: 'fused activation NONE',
  maxRank: (rank: number) => `input of at most ${rank} axes (TensorFlow Lite Micro's limit)`,
  constant: (what: string) => `${what}: constant INT32 or INT64`,
  svdfBias: "the bias present (TFLite Micro's int8 SVDF reads it)",
  int16ZeroPoint: 'int16 activations with zero point 0 (16x8)',
} as const;

export interface OperatorSupport {
  /** The tensor types it runs with, as the table shows them. */
  types: string;
  constraints: readonly string[];
}

const ACTIVATIONS = 'int8, float32';
const MOVES = [CONSTRAINT.sameQuantization];

export const SUPPORT: Partial<Record<number, OperatorSupport>> = {
  [B.CONV_2D]: {
    types: 'int8 (int8 per-channel symmetric weights, int32 bias); 16x8: int16 (int8 weights, int64 or int32 bias); float32 (float32 weights, or int8 weights with scales: dynamic range)',
    constraints: [CONSTRAINT.fusedActivation, 'padding SAME or VALID', CONSTRAINT.int16ZeroPoint],
  },
  [B.RSQRT]: { types: ACTIVATIONS, constraints: ['int8: inputs at or above the zero point (TensorFlow Lite Micro stops at run time on others)'] },
  [B.EXP]: { types: 'float32', constraints: ['float32 input'] },
  [B.ELU]: { types: ACTIVATIONS, constraints: [] },
  [B.LOG_SOFTMAX]: { types: ACTIVATIONS, constraints: ['over the last axis', 'int8: output scale 16/256 and zero point 127', 'int8: rows of at most 4095 values'] },
  [B.BATCH_MATMUL]: {
    types: 'int8, int16, float32',
    constraints: [
      'operands of 2 to 5 axes, the axes before the last two broadcasting as numpy',
      'either operand constant or computed',
      'int8, int16: operands and output quantized per tensor',
      'int16: zero points 0, effective output scale below 2^8',
      'no hybrid (dynamic range) quantization',
    ],
  },
  [B.SQUARED_DIFFERENCE]: { types: ACTIVATIONS, constraints: ['broadcasting as numpy, up to 4 axes when the shapes differ'] },
  [B.ARG_MAX]: { types: 'int8, float32 -> int32', constraints: [CONSTRAINT.constant('axis operand'), 'a single axis', 'INT32 output'] },
  [B.ARG_MIN]: { types: 'as ARG_MAX', constraints: [CONSTRAINT.constant('axis operand'), 'a single axis', 'INT32 output'] },
  [B.TRANSPOSE_CONV]: {
    types: 'as CONV_2D',
    constraints: [CONSTRAINT.fusedActivation, 'padding SAME or VALID', CONSTRAINT.constant('output shape operand'), "output shape operand equal to the output tensor's shape"],
  },
  [B.DEPTHWISE_CONV_2D]: {
    types: 'as CONV_2D (16x8 with an int64 bias)',
    constraints: [CONSTRAINT.fusedActivation, 'padding SAME or VALID', 'depth_multiplier equal to filter channels / input channels (or 0)', CONSTRAINT.int16ZeroPoint],
  },
  [B.FULLY_CONNECTED]: { types: 'as CONV_2D', constraints: [CONSTRAINT.fusedActivation, 'weights format DEFAULT (not shuffled)', CONSTRAINT.int16ZeroPoint] },
  [B.AVERAGE_POOL_2D]: { types: 'int8, int16, float32', constraints: [CONSTRAINT.fusedActivation, 'padding SAME or VALID', 'int8, int16: input and output quantized alike'] },
  [B.MAX_POOL_2D]: { types: 'as AVERAGE_POOL_2D', constraints: [CONSTRAINT.fusedActivation, 'padding SAME or VALID', 'int8, int16: input and output quantized alike'] },
  [B.ADD]: { types: 'int8, int16, float32', constraints: [CONSTRAINT.fusedActivation, 'broadcasting as numpy'] },
  [B.SUB]: { types: ACTIVATIONS, constraints: [CONSTRAINT.fusedActivation, 'broadcasting as numpy'] },
  [B.MUL]: { types: ACTIVATIONS, constraints: [CONSTRAINT.fusedActivation, 'broadcasting as numpy'] },
  [B.DIV]: { types: 'float32', constraints: ['float32 tensors (no int8 DIV kernel)', CONSTRAINT.fusedActivation, 'broadcasting as numpy'] },
  [B.MAXIMUM]: { types: ACTIVATIONS, constraints: ['broadcasting as numpy', CONSTRAINT.inputsShareQuantization] },
  [B.RESIZE_NEAREST_NEIGHBOR]: {
    types: ACTIVATIONS,
    constraints: ['a 4-D NHWC input and a size of two positive values', CONSTRAINT.constant('size operand'), 'align_corners and half_pixel_centers as TFLite defines them', ...MOVES],
  },
  [B.RESIZE_BILINEAR]: {
    types: ACTIVATIONS,
    constraints: [
      'a 4-D NHWC input and a size of two positive values',
      CONSTRAINT.constant('size operand'),
      'at most one of align_corners and half_pixel_centers',
      "int8: the output has the input's scale and zero point (raw values are interpolated; requantize with a QUANTIZE operator otherwise)",
    ],
  },
  [B.PRELU]: { types: 'int8 (int8 alpha), float32', constraints: [CONSTRAINT.maxRank(4), 'alpha broadcasting against the input as numpy'] },
  [B.MINIMUM]: { types: ACTIVATIONS, constraints: ['broadcasting as numpy', CONSTRAINT.inputsShareQuantization] },
  [B.RESHAPE]: { types: 'int8, int16, float32', constraints: [CONSTRAINT.constant('shape operand, when present')] },
  [B.SQUEEZE]: { types: 'int8, int16, float32', constraints: ['squeezed axes have size 1'] },
  [B.EXPAND_DIMS]: { types: 'int8, int16, float32', constraints: [CONSTRAINT.constant('axis operand'), ...MOVES] },
  [B.SOFTMAX]: { types: 'int8 -> int8 or int16, float32', constraints: ['int8 output scale 1/256, zero point -128; int16 output scale 1/65536, zero point -32768'] },
  [B.LOGISTIC]: { types: ACTIVATIONS, constraints: ['int8 output scale 1/256, zero point -128'] },
  [B.TANH]: { types: ACTIVATIONS, constraints: ['int8 output scale 1/128, zero point 0'] },
  [B.RELU]: { types: ACTIVATIONS, constraints: [] },
  [B.RELU6]: { types: ACTIVATIONS, constraints: [] },
  [B.LEAKY_RELU]: { types: ACTIVATIONS, constraints: [] },
  [B.HARD_SWISH]: { types: ACTIVATIONS, constraints: [] },
  [B.QUANTIZE]: { types: 'float32 -> int8 or int16; int8 -> int8, uint8 or int16; uint8 -> int8; int16 -> int8, int16 or int32', constraints: [] },
  [B.DEQUANTIZE]: { types: 'int8, uint8 or int16 -> float32 (float16 constants are folded at import)', constraints: [] },
  [B.PAD]: { types: ACTIVATIONS, constraints: [CONSTRAINT.constant('paddings operand'), ...MOVES] },
  [B.PADV2]: { types: ACTIVATIONS, constraints: [CONSTRAINT.constant('paddings operand'), 'pad value the zero point (int8) or 0.0 (float32)', ...MOVES] },
  [B.CONCATENATION]: { types: ACTIVATIONS, constraints: [CONSTRAINT.noActivation, CONSTRAINT.inputsShareQuantization] },
  [B.MEAN]: { types: ACTIVATIONS, constraints: [CONSTRAINT.constant('axis operand')] },
  [B.SUM]: { types: ACTIVATIONS, constraints: [CONSTRAINT.constant('axis operand')] },
  [B.REDUCE_MAX]: { types: ACTIVATIONS, constraints: [CONSTRAINT.constant('axis operand'), CONSTRAINT.sameQuantization] },
  [B.STRIDED_SLICE]: {
    types: ACTIVATIONS,
    constraints: [CONSTRAINT.maxRank(4), CONSTRAINT.constant('begin, end and strides operands'), 'non-zero strides, a non-empty slice', 'every mask and offset as TensorFlow defines them', ...MOVES],
  },
  [B.SLICE]: { types: ACTIVATIONS, constraints: [CONSTRAINT.maxRank(5), CONSTRAINT.constant('begin and size operands'), 'sizes of at least 1 (or -1: to the end)', ...MOVES] },
  [B.SPLIT]: { types: ACTIVATIONS, constraints: [CONSTRAINT.constant('axis operand'), 'the axis divides into num_splits equal parts', ...MOVES] },
  [B.SPLIT_V]: { types: ACTIVATIONS, constraints: [CONSTRAINT.constant('size_splits and axis operands'), 'sizes of at least 1, at most one -1', ...MOVES] },
  [B.UNPACK]: { types: ACTIVATIONS, constraints: ['num equal to the length of the axis', ...MOVES] },
  [B.UNIDIRECTIONAL_SEQUENCE_LSTM]: {
    types: 'int8 (int8 weights, int8 hidden state, int16 cell state, int32 biases, per-tensor scales); 16x8: int16 (int8 weights, int16 hidden and cell states, int64 biases, zero points 0); float32',
    constraints: [
      'all four gates (no CIFG); no peephole, projection or layer normalization',
      'cell activation TANH',
      'hidden and cell states as variable tensors holding batch x units values',
    ],
  },
  [B.SVDF]: {
    types: 'int8 (int8 feature weights, int16 or int8 time weights and state of the same type, int32 bias, per-tensor scales)',
    constraints: [CONSTRAINT.svdfBias, 'the activation state a variable tensor of batch x filters x memory values', 'no fused activation applied (as in TFLite Micro)'],
  },
  [B.PACK]: { types: ACTIVATIONS, constraints: ['values_count equal to the number of inputs', CONSTRAINT.inputsShareQuantization] },
  [B.TRANSPOSE]: { types: ACTIVATIONS, constraints: [CONSTRAINT.maxRank(5), CONSTRAINT.constant('perm operand'), ...MOVES] },
  [B.GATHER]: { types: ACTIVATIONS, constraints: [CONSTRAINT.constant('indices operand'), 'indices inside the axis', 'batch_dims 0', ...MOVES] },
  [B.SPACE_TO_DEPTH]: { types: ACTIVATIONS, constraints: ['4-D NHWC input, height and width multiples of block_size', ...MOVES] },
  [B.DEPTH_TO_SPACE]: { types: ACTIVATIONS, constraints: ['4-D NHWC input, channels a multiple of block_size squared', ...MOVES] },
};

/** The supported-operators table in Markdown, operators in name order. */
export function supportedOperatorsMarkdown(): string {
  const rows = Object.entries(SUPPORT)
    .map(([code, s]) => ({ name: builtinOperatorName(Number(code)), ...s! }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    '| operator | types | constraints |',
    '|---|---|---|',
    ...rows.map((r) => `| \`${r.name}\` | ${cell(r.types)} | ${r.constraints.length === 0 ? '-' : r.constraints.map(cell).join('; ')} |`),
  ].join('\n');
}

const START = '<!-- supported-operators: generated by npm run docs:ops -->';
const END = '<!-- end of supported-operators -->';

/** `readme` with the text between the table's markers replaced by the current table. */
export function replaceSupportedOperators(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${START} ... ${END}`);
  return `${readme.slice(0, start + START.length)}\n${supportedOperatorsMarkdown()}\n${readme.slice(end)}`;
}
