// The intermediate representation every stage of edgec reads and writes.
// Tensors live in one array per graph and are named by index; ops refer to them by index.

export type DType = 'float32' | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'bool';

export type TensorData =
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | BigInt64Array;

/**
 * Affine quantization: real = scale * (q - zeroPoint).
 * Per-tensor when `scale` has one entry; per-channel along `axis` otherwise.
 * Scales are float32 values (as TFLite stores them) held in JS numbers.
 */
export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  axis: number;
}

export interface Tensor {
  name: string;
  shape: number[];
  dtype: DType;
  /** Present for constants (weights, biases, shape operands). Row-major, `shape` order. */
  data?: TensorData;
  quant?: Quantization;
}

/** Fused activations as TFLite defines them. `tanh` and `sign_bit` are rejected by the importer. */
export type Activation = 'none' | 'relu' | 'relu_n1_to_1' | 'relu6';

export type Padding = 'same' | 'valid';

interface OpCommon {
  /** Tensor indices. Positional order is fixed per kind and documented on each variant. */
  inputs: number[];
  outputs: number[];
  /** Where this op came from (operator index in the source model), for error messages. */
  origin?: string;
}

/** inputs: [input NHWC, filter OHWI, bias?]; output NHWC. */
export interface Conv2DOp extends OpCommon {
  kind: 'conv2d';
  attrs: { stride: [number, number]; dilation: [number, number]; padding: Padding; activation: Activation };
}

/**
 * inputs: [input NHWC, filter OHWI, bias?]; output NHWC of [N, size[0], size[1], O] (TFLite's
 * output_shape operand). Each input pixel scatters its filter-weighted values onto the output at
 * stride steps, less the padding TFLite computes from the output size.
 */
export interface TransposeConv2DOp extends OpCommon {
  kind: 'transpose_conv2d';
  attrs: { size: [number, number]; stride: [number, number]; padding: Padding; activation: Activation };
}

/** inputs: [input NHWC, filter 1HW(C*M), bias?]; output NHWC with C*M channels. */
export interface DepthwiseConv2DOp extends OpCommon {
  kind: 'depthwise_conv2d';
  attrs: {
    stride: [number, number];
    dilation: [number, number];
    padding: Padding;
    depthMultiplier: number;
    activation: Activation;
  };
}

/** inputs: [input (..., K) flattened to rows of K, weights [N, K], bias?]; output [rows, N] or keepNumDims. */
export interface FullyConnectedOp extends OpCommon {
  kind: 'fully_connected';
  attrs: { activation: Activation; keepNumDims: boolean };
}

/** inputs: [input NHWC]. */
export interface Pool2DOp extends OpCommon {
  kind: 'avg_pool2d' | 'max_pool2d';
  attrs: { filter: [number, number]; stride: [number, number]; padding: Padding; activation: Activation };
}

/** inputs: [a, b], broadcasting as numpy does. div runs in float32 only. */
export interface BinaryOp extends OpCommon {
  kind: 'add' | 'sub' | 'mul' | 'div';
  attrs: { activation: Activation };
}

/** inputs: [input] (a shape operand, if the model had one, is folded into `shape`). */
export interface ReshapeOp extends OpCommon {
  kind: 'reshape';
  attrs: { shape: number[] };
}

export interface SqueezeOp extends OpCommon {
  kind: 'squeeze';
  attrs: { axes: number[] };
}

/** Over the last axis; log_softmax (the log of softmax, TFLite's LOG_SOFTMAX) has beta 1. */
export interface SoftmaxOp extends OpCommon {
  kind: 'softmax' | 'log_softmax';
  attrs: { beta: number };
}

/** inputs: [a, b], broadcasting as numpy does; the larger or smaller of each pair. */
export interface MaxMinOp extends OpCommon {
  kind: 'maximum' | 'minimum';
  attrs: Record<string, never>;
}

/** inputs: [a, b], broadcasting as numpy does: (a - b)^2. */
export interface SquaredDifferenceOp extends OpCommon {
  kind: 'squared_difference';
  attrs: Record<string, never>;
}

/**
 * inputs: [lhs, rhs], each of 2 to 5 axes: a matrix product over the last two axes, the axes
 * before them broadcasting as numpy does. adjX and adjY transpose the last two axes of lhs and rhs
 * first; the output is [...batch, rows of lhs, columns of rhs].
 */
export interface BatchMatMulOp extends OpCommon {
  kind: 'batch_matmul';
  attrs: { adjX: boolean; adjY: boolean };
}

/** inputs: [input, alpha], alpha broadcasting against the input: x where x >= 0, else x * alpha. */
export interface PreluOp extends OpCommon {
  kind: 'prelu';
  attrs: Record<string, never>;
}

/**
 * inputs: [input NHWC]; output [N, size[0], size[1], C], each pixel copied from its nearest input
 * pixel (resize_nearest) or interpolated between the four around it (resize_bilinear), by TFLite's rules.
 */
export interface ResizeOp extends OpCommon {
  kind: 'resize_nearest' | 'resize_bilinear';
  attrs: { size: [number, number]; alignCorners: boolean; halfPixelCenters: boolean };
}

/**
 * inputs: [input]; output int32, the input's shape without `axis` (non-negative): the index of the
 * first largest (arg_max) or smallest (arg_min) value along the axis, compared raw (int8 too).
 */
export interface ArgMinMaxOp extends OpCommon {
  kind: 'arg_max' | 'arg_min';
  attrs: { axis: number };
}

/** Element-wise ops with no attributes. */
export interface UnaryOp extends OpCommon {
  kind: 'logistic' | 'tanh' | 'relu' | 'relu6' | 'hard_swish' | 'quantize' | 'dequantize' | 'rsqrt' | 'exp' | 'elu';
  attrs: Record<string, never>;
}

export interface LeakyReluOp extends OpCommon {
  kind: 'leaky_relu';
  attrs: { alpha: number };
}

/** inputs: [input]; `paddings[d] = [before, after]`. Pads with the zero point (int8) or 0.0. */
export interface PadOp extends OpCommon {
  kind: 'pad';
  attrs: { paddings: [number, number][] };
}

export interface ConcatenationOp extends OpCommon {
  kind: 'concatenation';
  attrs: { axis: number; activation: Activation };
}

/** inputs: [input]; reduction axes already normalised to non-negative and sorted. */
export interface MeanOp extends OpCommon {
  /** MEAN, SUM, or REDUCE_MAX (whose int8 output keeps the input's quantization). */
  kind: 'mean' | 'sum' | 'reduce_max';
  attrs: { axes: number[]; keepDims: boolean };
}

/**
 * inputs: [input]. Along each input axis d it takes size[d] elements from begin[d] in steps of
 * stride[d] (negative steps walk backwards; TFLite's masks, negative indices and clamping are
 * already resolved), and the output holds them in that order under `shape`: the sizes with the
 * axes TFLite shrinks dropped and its new axes inserted. SLICE, SPLIT, SPLIT_V and UNPACK are
 * strided slices too.
 */
export interface StridedSliceOp extends OpCommon {
  kind: 'strided_slice';
  attrs: { begin: number[]; stride: number[]; size: number[]; shape: number[] };
}

/** inputs: [input]; output axis d is input axis perm[d]. */
export interface TransposeOp extends OpCommon {
  kind: 'transpose';
  attrs: { perm: number[] };
}

/**
 * inputs: [input NHWC]. space_to_depth moves each blockSize x blockSize patch into the channels
 * (row in the patch, then column, then channel); depth_to_space is its inverse.
 */
export interface BlockRearrangeOp extends OpCommon {
  kind: 'space_to_depth' | 'depth_to_space';
  attrs: { blockSize: number };
}

/** inputs: tensors of one shape, stacked along a new output axis `axis`. */
export interface PackOp extends OpCommon {
  kind: 'pack';
  attrs: { axis: number };
}

/** inputs: [params]; the output is params taken along `axis` at constant `indices` (of shape `indicesShape`, row-major). */
export interface GatherOp extends OpCommon {
  kind: 'gather';
  attrs: { axis: number; indices: number[]; indicesShape: number[] };
}

/**
 * TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM without peepholes, projection or layer norm (what TFLite
 * Micro runs). inputs: [input [B,T,I] (or [T,B,I] time-major), the input-to-gate weights [S,I] of
 * the input, forget, cell and output gates, the recurrent weights [S,S] in the same gate order,
 * the four gate biases [S]]; output [B,T,S] (or [T,B,S]), each step's hidden state.
 * The cell gate applies tanh, the other gates sigmoid (a TFLite file can name no other).
 * The hidden and cell states are not tensors of the graph: they persist from one inference to the
 * next (TFLite's variable tensors), and `state` says how they are stored.
 */
export interface LstmOp extends OpCommon {
  kind: 'unidirectional_sequence_lstm';
  attrs: {
    /** Cell state clamped to [-cellClip, cellClip] after each update; 0 for no clip. */
    cellClip: number;
    timeMajor: boolean;
    /** int8 models: the hidden state's int8 and the cell state's int16 quantization (symmetric). */
    state?: { hiddenScale: number; hiddenZeroPoint: number; cellScale: number };
  };
}

/**
 * TFLite's SVDF as TFLite Micro runs it in int8. inputs: [input [B,I], weights_feature [F,I] int8,
 * weights_time [F,M] (int16, or int8), bias [U] int32?]; output [B,U] int8 with U = F / rank.
 * Each inference shifts the activation state (M values per filter and sequence) one step back,
 * appends the feature products, and sums weights_time against it per filter and the rank filters
 * per unit. TFLite Micro's integer kernel applies no fused activation, so the IR has none. The
 * state persists from one inference to the next (TFLite's variable tensor) and is not a graph tensor.
 */
export interface SvdfOp extends OpCommon {
  kind: 'svdf';
  attrs: { rank: number; state: { dtype: 'int16' | 'int8'; scale: number; zeroPoint: number } };
}

export type Op =
  | Conv2DOp
  | TransposeConv2DOp
  | DepthwiseConv2DOp
  | FullyConnectedOp
  | Pool2DOp
  | BinaryOp
  | ReshapeOp
  | SqueezeOp
  | SoftmaxOp
  | UnaryOp
  | LeakyReluOp
  | PadOp
  | ConcatenationOp
  | MeanOp
  | StridedSliceOp
  | TransposeOp
  | BlockRearrangeOp
  | PackOp
  | GatherOp
  | MaxMinOp
  | PreluOp
  | ResizeOp
  | ArgMinMaxOp
  | SquaredDifferenceOp
  | BatchMatMulOp
  | LstmOp
  | SvdfOp;

export type OpKind = Op['kind'];

export interface Graph {
  name: string;
  tensors: Tensor[];
  /** Topological order: every op's inputs are constants, graph inputs or earlier ops' outputs. */
  ops: Op[];
  inputs: number[];
  outputs: number[];
}
