// What every stage needs to know about an op kind, in one place: where the output channel sits in
// its weights, how channels flow from its inputs to its output, whether it may write over its
// input, whether an activation fuses into it, and whether its output keeps its input's
// quantization. Passes, quantization, the planner and pruning read this instead of keeping lists.

import { DTYPE_BYTES } from './dtype.ts';
import type { Graph, Op, OpKind } from './types.ts';

/**
 * How the channels (last axis, NHWC) of an op's data inputs reach its output:
 * - 'none': the output's channels are new (a conv's filters, a dense layer's units); the input's
 *   channels are consumed by the weights (`weightInputAxis`).
 * - 'same': channel c of every data input is channel c of the output (element-wise ops, pools,
 *   depthwise with multiplier 1, padding in space, concatenation along another axis); all
 *   inputs' channels are tied together.
 * - 'concat': the inputs' channels are stacked (concatenation along the channel axis).
 * - 'reshape': the shape changes; a channel maps to a strided set of output features when the
 *   op flattens NHWC to features (the reshape or squeeze after the last conv), else it is opaque.
 * - 'reduce': a reduction over space keeps channels one to one (global pooling); over the
 *   channel axis it ends them.
 * - 'opaque': channels cannot be followed through it (softmax over channels ties them to the
 *   output, which is never pruned; padding or a mean over the channel axis).
 * A kind whose flow depends on its attributes gives a function of the op and the rank of its
 * first input.
 */
export type ChannelFlow = 'none' | 'same' | 'concat' | 'reshape' | 'reduce' | 'opaque';

export interface OpTraits {
  /** Input index of the weights and the axis of the weights that is the output channel. */
  weights?: { input: number; outputAxis: number; inputAxis?: number };
  /** Input index of the bias (one value per output channel). */
  bias?: number;
  /** The data inputs (not weights or bias), whose channels `channelFlow` describes. */
  dataInputs: (op: Op) => number[];
  channelFlow: ChannelFlow | ((op: Op, rank: number) => ChannelFlow);
  /** Output may share the input's bytes: every output element depends only on the same input element. */
  elementwise: boolean;
  /** A following relu/relu6/relu_n1_to_1 can move into its `activation` attribute. */
  fusesActivation: boolean;
  /** In int8, the output takes the input's scale and zero point (TFLite's rule for these kinds). */
  keepsInputQuantization: boolean;
  /**
   * In int8 every data input's values reach the output unchanged (TFLite Micro's kernels copy or
   * compare raw values), so all must share the output's scale and zero point: the quantizer
   * requantizes inputs that differ.
   */
  copiesInputs?: boolean;
  /**
   * Its int8 kernel slides a window down an NHWC image and writes output pixels in row-major
   * order, each after reading the input rows it needs, never reading rows above the window
   * again: its output may overlap the input rows it is done with (see plan/lifetimes.ts).
   */
  streamsRows?: boolean;
  /**
   * It has a 16x8 kernel (TFLite's int16 activations with int8 weights and an int64 bias, zero
   * points 0): the quantizer may give it int16 activations; other kinds stay int8 beside them.
   */
  int16Kernel?: boolean;
  /** Bytes of the state it keeps from one inference to the next, outside the arena (see plan/plan.ts). */
  stateBytes?: (graph: Graph, op: Op) => number;
}

const data0 = (op: Op) => [op.inputs[0]];
const allInputs = (op: Op) => op.inputs;

/** An LSTM's hidden state (its output type) and cell state (int16 in int8 models), one row per sequence. */
function lstmStateBytes(graph: Graph, op: Op): number {
  const out = graph.tensors[op.outputs[0]];
  const sequences = op.kind === 'unidirectional_sequence_lstm' && op.attrs.timeMajor ? out.shape[1] : out.shape[0];
  const rows = sequences * out.shape[2];
  return rows * DTYPE_BYTES[out.dtype] + rows * (out.dtype === 'int8' ? 2 : DTYPE_BYTES[out.dtype]);
}

/** An SVDF's activation state: memory x filters values per sequence, held as int16 (an int8 state widened). */
function svdfStateBytes(graph: Graph, op: Op): number {
  const [time, batch] = [graph.tensors[op.inputs[2]].shape, graph.tensors[op.inputs[0]].shape[0]];
  return batch * time[0] * time[1] * DTYPE_BYTES.int16;
}

const WEIGHTED: Omit<OpTraits, 'weights' | 'channelFlow'> = {
  bias: 2,
  dataInputs: data0,
  elementwise: false,
  fusesActivation: true,
  keepsInputQuantization: false,
};

/** Weighted kinds with a 16x8 kernel. */
const WEIGHTED_16X8 = { ...WEIGHTED, int16Kernel: true };

const ELEMENTWISE_UNARY: OpTraits = { dataInputs: data0, channelFlow: 'same', elementwise: true, fusesActivation: false, keepsInputQuantization: false };

const REDUCE: OpTraits = {
  dataInputs: data0,
  channelFlow: (op, rank) => ((op.kind === 'mean' || op.kind === 'sum' || op.kind === 'reduce_max') && op.attrs.axes.includes(rank - 1) ? 'opaque' : 'reduce'),
  elementwise: false,
  fusesActivation: false,
  keepsInputQuantization: false,
};

// Ops that only move values: int8 output keeps the input's quantization (TFLite Micro copies raw values).
const MOVES: OpTraits = { dataInputs: data0, channelFlow: 'opaque', elementwise: false, fusesActivation: false, keepsInputQuantization: true };

export const OP_TRAITS: Record<OpKind, OpTraits> = {
  // filter OHWI: output channel on axis 0, input channel on axis 3.
  conv2d: { ...WEIGHTED_16X8, weights: { input: 1, outputAxis: 0, inputAxis: 3 }, channelFlow: 'none', streamsRows: true },
  // filter OHWI as conv2d's; the output channel on axis 0.
  transpose_conv2d: { ...WEIGHTED, weights: { input: 1, outputAxis: 0, inputAxis: 3 }, channelFlow: 'none' },
  // filter 1HW(C*M): output channel on axis 3; with multiplier 1 each channel stays itself.
  depthwise_conv2d: {
    ...WEIGHTED_16X8,
    weights: { input: 1, outputAxis: 3 },
    channelFlow: (op) => (op.kind === 'depthwise_conv2d' && op.attrs.depthMultiplier === 1 ? 'same' : 'opaque'),
    streamsRows: true,
  },
  // weights [N, K]: output unit on axis 0, input feature on axis 1.
  fully_connected: { ...WEIGHTED_16X8, weights: { input: 1, outputAxis: 0, inputAxis: 1 }, channelFlow: 'none' },
  avg_pool2d: { dataInputs: data0, channelFlow: 'same', elementwise: false, fusesActivation: false, keepsInputQuantization: true, streamsRows: true, int16Kernel: true },
  max_pool2d: { dataInputs: data0, channelFlow: 'same', elementwise: false, fusesActivation: false, keepsInputQuantization: true, streamsRows: true, int16Kernel: true },
  add: { dataInputs: allInputs, channelFlow: 'same', elementwise: true, fusesActivation: true, keepsInputQuantization: false, int16Kernel: true },
  sub: { dataInputs: allInputs, channelFlow: 'same', elementwise: true, fusesActivation: true, keepsInputQuantization: false },
  mul: { dataInputs: allInputs, channelFlow: 'same', elementwise: true, fusesActivation: true, keepsInputQuantization: false },
  div: { dataInputs: allInputs, channelFlow: 'same', elementwise: true, fusesActivation: true, keepsInputQuantization: false },
  // Their kernels move bytes of any type.
  reshape: { dataInputs: data0, channelFlow: 'reshape', elementwise: false, fusesActivation: false, keepsInputQuantization: true, int16Kernel: true },
  squeeze: { dataInputs: data0, channelFlow: 'reshape', elementwise: false, fusesActivation: false, keepsInputQuantization: true, int16Kernel: true },
  softmax: { dataInputs: data0, channelFlow: 'opaque', elementwise: false, fusesActivation: false, keepsInputQuantization: false },
  logistic: ELEMENTWISE_UNARY,
  tanh: ELEMENTWISE_UNARY,
  relu: ELEMENTWISE_UNARY,
  relu6: { ...ELEMENTWISE_UNARY, keepsInputQuantization: true },
  hard_swish: ELEMENTWISE_UNARY,
  quantize: ELEMENTWISE_UNARY,
  dequantize: { ...ELEMENTWISE_UNARY, elementwise: false },
  leaky_relu: ELEMENTWISE_UNARY,
  pad: {
    dataInputs: data0,
    channelFlow: (op) => (op.kind === 'pad' && (op.attrs.paddings.at(-1) ?? [0, 0]).every((p) => p === 0) ? 'same' : 'opaque'),
    elementwise: false,
    fusesActivation: false,
    keepsInputQuantization: true,
  },
  concatenation: {
    copiesInputs: true,
    dataInputs: allInputs,
    channelFlow: (op, rank) => (op.kind === 'concatenation' && op.attrs.axis !== rank - 1 ? 'same' : 'concat'),
    elementwise: false,
    fusesActivation: false,
    keepsInputQuantization: false,
  },
  mean: REDUCE,
  sum: REDUCE,
  reduce_max: { ...REDUCE, keepsInputQuantization: true },
  strided_slice: MOVES,
  transpose: MOVES,
  space_to_depth: MOVES,
  depth_to_space: MOVES,
  pack: { ...MOVES, dataInputs: allInputs, copiesInputs: true },
  gather: MOVES,
  resize_nearest: { ...MOVES, channelFlow: 'same' },
  // Weights summing to one over raw int8 values: the output keeps the input's quantization too.
  resize_bilinear: { ...MOVES, channelFlow: 'same' },
  // Indices out: an int32 output has no quantization to keep.
  arg_max: { ...REDUCE, channelFlow: 'opaque' },
  arg_min: { ...REDUCE, channelFlow: 'opaque' },
  rsqrt: ELEMENTWISE_UNARY,
  log_softmax: { dataInputs: data0, channelFlow: 'opaque', elementwise: false, fusesActivation: false, keepsInputQuantization: false },
  exp: ELEMENTWISE_UNARY,
  elu: ELEMENTWISE_UNARY,
  // Either operand may be a constant; its values are quantized per tensor like any other input.
  batch_matmul: { dataInputs: allInputs, channelFlow: 'opaque', elementwise: false, fusesActivation: false, keepsInputQuantization: false },
  squared_difference: { dataInputs: allInputs, channelFlow: 'same', elementwise: true, fusesActivation: false, keepsInputQuantization: false },
  maximum: { dataInputs: allInputs, channelFlow: 'same', elementwise: true, fusesActivation: false, keepsInputQuantization: true, copiesInputs: true },
  // alpha is a per-element (usually per-channel) parameter: channels cannot be pruned through it.
  prelu: { dataInputs: data0, channelFlow: 'opaque', elementwise: true, fusesActivation: false, keepsInputQuantization: false },
  minimum: { dataInputs: allInputs, channelFlow: 'same', elementwise: true, fusesActivation: false, keepsInputQuantization: true, copiesInputs: true },
  // Eight weight matrices and four biases in gate order; pruning and per-layer passes leave it alone.
  unidirectional_sequence_lstm: { dataInputs: data0, channelFlow: 'opaque', elementwise: false, fusesActivation: false, keepsInputQuantization: false, stateBytes: lstmStateBytes },
  // Two weight matrices whose filters are tied to the state and the rank: pruning and per-layer passes leave it alone.
  svdf: { dataInputs: data0, channelFlow: 'opaque', elementwise: false, fusesActivation: false, keepsInputQuantization: false, stateBytes: svdfStateBytes },
};

export const opTraits = (op: Op | OpKind): OpTraits => OP_TRAITS[typeof op === 'string' ? op : op.kind];

/** How channels cross `op`, whose first input has `rank` axes. */
export function channelFlowOf(op: Op, rank: number): ChannelFlow {
  const flow = OP_TRAITS[op.kind].channelFlow;
  return typeof flow === 'function' ? flow(op, rank) : flow;
}

/** The weights axis holding the output channel, for kinds that have weights. */
export function outputChannelAxis(kind: OpKind): number | undefined {
  return OP_TRAITS[kind].weights?.outputAxis;
}
