// Constants of the TFLite flatbuffer format (schema version 3), as plain values.
// Field numbers are positions in a table's declaration; a union occupies two fields (type, value).

export const FILE_IDENTIFIER = 'TFL3';
export const SCHEMA_VERSION = 3;

export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  STRING: 5,
  BOOL: 6,
  INT16: 7,
  COMPLEX64: 8,
  INT8: 9,
  FLOAT64: 10,
  COMPLEX128: 11,
  UINT64: 12,
  RESOURCE: 13,
  VARIANT: 14,
  UINT32: 15,
  UINT16: 16,
  INT4: 17,
  BFLOAT16: 18,
  INT2: 19,
  UINT4: 20,
  FLOAT8_E4M3FN: 21,
  FLOAT8_E5M2: 22,
} as const;

const TENSOR_TYPE_NAMES = Object.keys(TensorType);

export function tensorTypeName(type: number): string {
  return TENSOR_TYPE_NAMES[type] ?? `unknown type ${type}`;
}

/**
 * Bytes per element of the types stored whole-byte. Packed sub-byte types (INT4, INT2, UINT4) and
 * variable-size ones (STRING, RESOURCE, VARIANT) are absent: their buffer size is not a simple product.
 */
export const TENSOR_TYPE_BYTES: Partial<Record<number, number>> = {
  [TensorType.FLOAT32]: 4,
  [TensorType.FLOAT16]: 2,
  [TensorType.INT32]: 4,
  [TensorType.UINT8]: 1,
  [TensorType.INT64]: 8,
  [TensorType.BOOL]: 1,
  [TensorType.INT16]: 2,
  [TensorType.COMPLEX64]: 8,
  [TensorType.INT8]: 1,
  [TensorType.FLOAT64]: 8,
  [TensorType.COMPLEX128]: 16,
  [TensorType.UINT64]: 8,
  [TensorType.UINT32]: 4,
  [TensorType.UINT16]: 2,
  [TensorType.BFLOAT16]: 2,
  [TensorType.FLOAT8_E4M3FN]: 1,
  [TensorType.FLOAT8_E5M2]: 1,
};

/** The builtin operators edgec maps; every other code is named through `builtinOperatorName`. */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  LSTM: 16,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  TANH: 28,
  CUSTOM: 32,
  PAD: 34,
  MEAN: 40,
  SUB: 41,
  SQUEEZE: 43,
  UNIDIRECTIONAL_SEQUENCE_LSTM: 44,
  PADV2: 60,
  LEAKY_RELU: 98,
  QUANTIZE: 114,
  HARD_SWISH: 117,
  DEPTH_TO_SPACE: 5,
  SPACE_TO_DEPTH: 26,
  GATHER: 36,
  TRANSPOSE: 39,
  STRIDED_SLICE: 45,
  SPLIT: 49,
  SLICE: 65,
  EXPAND_DIMS: 70,
  PACK: 83,
  UNPACK: 88,
  SPLIT_V: 102,
  MAXIMUM: 55,
  PRELU: 54,
  DIV: 42,
  SUM: 74,
  RESIZE_NEAREST_NEIGHBOR: 97,
  REDUCE_MAX: 82,
  MINIMUM: 57,
  SVDF: 27,
  TRANSPOSE_CONV: 67,
  RESIZE_BILINEAR: 23,
  ARG_MAX: 56,
  ARG_MIN: 79,
  SQUARED_DIFFERENCE: 99,
  RSQRT: 76,
  EXP: 47,
  ELU: 111,
  LOG_SOFTMAX: 50,
  BATCH_MATMUL: 126,
  /** Codes above this do not fit OperatorCode.deprecated_builtin_code, which then holds this value. */
  PLACEHOLDER_FOR_GREATER_OP_CODES: 127,
} as const;

// Every BuiltinOperator name, in code order (the enum is dense from 0).
const BUILTIN_OPERATOR_NAMES = `
ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE
EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D
LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6
RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM
EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND
TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN
EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX
MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV
SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT
REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV
REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU
SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU
REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE
NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL
PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS
HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE
READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM
MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX
UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT
STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM
STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM
STABLEHLO_CONVOLUTION STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS
STABLEHLO_AND STABLEHLO_COSINE STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM
STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT STABLEHLO_SELECT
STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER STABLEHLO_COMPARE STABLEHLO_CONVERT
STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA
STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER
STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW STABLEHLO_COMPOSITE
STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE
`.trim().split(/\s+/);

export function builtinOperatorName(code: number): string {
  return BUILTIN_OPERATOR_NAMES[code] ?? `unknown builtin operator ${code}`;
}

/** Type indices of the BuiltinOptions union (0 is NONE) for the option tables edgec reads and writes. */
export const BuiltinOptionsType = {
  NONE: 0,
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  ConcatenationOptions: 10,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  ReducerOptions: 27,
  SubOptions: 28,
  SqueezeOptions: 30,
  DequantizeOptions: 38,
  PadV2Options: 43,
  UnidirectionalSequenceLSTMOptions: 71,
  LeakyReluOptions: 75,
  QuantizeOptions: 89,
  HardSwishOptions: 91,
  SpaceToDepthOptions: 19,
  GatherOptions: 23,
  TransposeOptions: 26,
  StridedSliceOptions: 32,
  SplitOptions: 35,
  SliceOptions: 48,
  ExpandDimsOptions: 52,
  PackOptions: 59,
  UnpackOptions: 64,
  SplitVOptions: 79,
  DepthToSpaceOptions: 94,
  MaximumMinimumOptions: 39,
  DivOptions: 29,
  ResizeNearestNeighborOptions: 74,
  SVDFOptions: 6,
  TransposeConvOptions: 49,
  ResizeBilinearOptions: 15,
  ArgMaxOptions: 40,
  ArgMinOptions: 57,
  SquaredDifferenceOptions: 76,
  ExpOptions: 33,
  LogSoftmaxOptions: 36,
  BatchMatMulOptions: 101,
} as const;

export const Padding = { SAME: 0, VALID: 1 } as const;

export const ActivationFunctionType = {
  NONE: 0,
  RELU: 1,
  RELU_N1_TO_1: 2,
  RELU6: 3,
  TANH: 4,
  SIGN_BIT: 5,
} as const;

export const FullyConnectedWeightsFormat = { DEFAULT: 0, SHUFFLED4x16INT8: 1 } as const;

// Field numbers of the tables edgec reads and writes.

export const ModelField = {
  version: 0,
  operatorCodes: 1,
  subgraphs: 2,
  description: 3,
  buffers: 4,
  metadata: 6,
} as const;

export const OperatorCodeField = { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 } as const;

export const SubGraphField = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 } as const;

export const TensorField = {
  shape: 0,
  type: 1,
  buffer: 2,
  name: 3,
  quantization: 4,
  isVariable: 5,
  sparsity: 6,
  shapeSignature: 7,
  externalBuffer: 10,
} as const;

export const QuantizationField = {
  min: 0,
  max: 1,
  scale: 2,
  zeroPoint: 3,
  detailsType: 4,
  quantizedDimension: 6,
} as const;

export const OperatorField = {
  opcodeIndex: 0,
  inputs: 1,
  outputs: 2,
  builtinOptionsType: 3,
  builtinOptions: 4,
} as const;

export const BufferField = { data: 0, offset: 1, size: 2 } as const;

export const MetadataField = { name: 0, buffer: 1 } as const;

/** Buffer.data is declared with force_align: 16. */
export const BUFFER_DATA_ALIGNMENT = 16;
