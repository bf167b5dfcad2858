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

/** inputs: [a, b], broadcasting as numpy does. */
export interface BinaryOp extends OpCommon {
  kind: 'add' | 'sub' | 'mul';
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

export interface SoftmaxOp extends OpCommon {
  kind: 'softmax';
  attrs: { beta: number };
}

/** Element-wise ops with no attributes. */
export interface UnaryOp extends OpCommon {
  kind: 'logistic' | 'tanh' | 'relu' | 'relu6' | 'hard_swish' | 'quantize' | 'dequantize';
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
  kind: 'mean';
  attrs: { axes: number[]; keepDims: boolean };
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

export type Op =
  | Conv2DOp
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
  | LstmOp;

export type OpKind = Op['kind'];

export interface Graph {
  name: string;
  tensors: Tensor[];
  /** Topological order: every op's inputs are constants, graph inputs or earlier ops' outputs. */
  ops: Op[];
  inputs: number[];
  outputs: number[];
}
