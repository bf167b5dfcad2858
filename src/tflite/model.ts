// A TFLite model as plain objects: what `readTflite` returns and `writeTflite` takes.
// Enum-valued fields hold the schema's numbers (see ./schema.ts); optional fields are absent, not
// undefined, when the file lacks them, so a model read back after writing deep-equals the original.

import { BuiltinOptionsType as T } from './schema.ts';

export interface TfliteModel {
  version: number;
  description?: string;
  operatorCodes: TfliteOperatorCode[];
  subgraphs: TfliteSubgraph[];
  /** Buffer 0 is the empty sentinel that tensors without data point at. */
  buffers: TfliteBuffer[];
  metadata: TfliteMetadata[];
}

export interface TfliteOperatorCode {
  /** The BuiltinOperator: the larger of the file's two code fields, as TFLite resolves it. */
  builtinCode: number;
  customCode?: string;
  version: number;
}

export interface TfliteBuffer {
  /** Read: a view into the model's bytes (inline data or Buffer.offset/size), not a copy. */
  data: Uint8Array;
}

export interface TfliteMetadata {
  name: string;
  buffer: number;
}

export interface TfliteSubgraph {
  name?: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

export interface TfliteTensor {
  /** '' when the file has none. */
  name: string;
  shape: number[];
  /** Dimensions unknown at conversion time are -1 here (and usually 1 in `shape`). */
  shapeSignature?: number[];
  /** A TensorType number. */
  type: number;
  buffer: number;
  quantization?: TfliteQuantization;
  isVariable: boolean;
}

export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
  min?: number[];
  max?: number[];
}

export interface TfliteOperator {
  opcodeIndex: number;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  /** A BuiltinOptionsType number (0: none). */
  builtinOptionsType: number;
  /** Decoded for the option tables in `BuiltinOptionsMap`; absent for the others and for none. */
  builtinOptions?: BuiltinOptions;
}

// Option tables. Enum fields (padding, activation, weightsFormat, quantizedBiasType) hold the
// schema's numbers; stride/filter/dilation pairs keep the schema's width/height split.

export interface Conv2DOptions {
  padding: number;
  strideW: number;
  strideH: number;
  activation: number;
  dilationW: number;
  dilationH: number;
  quantizedBiasType: number;
}

/** ArgMaxOptions and ArgMinOptions: the output's TensorType. */
export interface ArgMinMaxOptions {
  outputType: number;
}

export interface BatchMatMulOptions {
  adjX: boolean;
  adjY: boolean;
  asymmetricQuantizeInputs: boolean;
}

export interface TransposeConvOptions {
  padding: number;
  strideW: number;
  strideH: number;
  activation: number;
  quantizedBiasType: number;
}

export interface DepthwiseConv2DOptions {
  padding: number;
  strideW: number;
  strideH: number;
  depthMultiplier: number;
  activation: number;
  dilationW: number;
  dilationH: number;
}

export interface Pool2DOptions {
  padding: number;
  strideW: number;
  strideH: number;
  filterW: number;
  filterH: number;
  activation: number;
}

export interface FullyConnectedOptions {
  activation: number;
  weightsFormat: number;
  keepNumDims: boolean;
  asymmetricQuantizeInputs: boolean;
  quantizedBiasType: number;
}

export interface SoftmaxOptions {
  beta: number;
}

export interface ConcatenationOptions {
  axis: number;
  activation: number;
}

/** AddOptions and SubOptions. */
export interface AddSubOptions {
  activation: number;
  potScaleInt16: boolean;
}

export interface MulOptions {
  activation: number;
}

export interface ReshapeOptions {
  /** Absent when the target shape comes from the operator's second input. */
  newShape?: number[];
}

export interface ReducerOptions {
  keepDims: boolean;
}

export interface SqueezeOptions {
  /** Absent or empty: every axis of size 1. */
  squeezeDims?: number[];
}

export interface UnidirectionalSequenceLSTMOptions {
  activation: number;
  /** 0: no clipping. */
  cellClip: number;
  projClip: number;
  timeMajor: boolean;
  asymmetricQuantizeInputs: boolean;
  diagonalRecurrentTensors: boolean;
}

export interface SvdfOptions {
  rank: number;
  activation: number;
  asymmetricQuantizeInputs: boolean;
}

export interface LeakyReluOptions {
  alpha: number;
}

export interface StridedSliceOptions {
  beginMask: number;
  endMask: number;
  ellipsisMask: number;
  newAxisMask: number;
  shrinkAxisMask: number;
  offset: boolean;
}

/** SplitOptions and SplitVOptions. */
export interface SplitOptions {
  numSplits: number;
}

export interface PackOptions {
  valuesCount: number;
  axis: number;
}

export interface UnpackOptions {
  num: number;
  axis: number;
}

export interface GatherOptions {
  axis: number;
  batchDims: number;
}

/** ResizeNearestNeighborOptions (and the same fields of ResizeBilinearOptions). */
export interface ResizeOptions {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

/** SpaceToDepthOptions and DepthToSpaceOptions. */
export interface BlockSizeOptions {
  blockSize: number;
}

/** The tables with no fields (PadOptions, PadV2Options, QuantizeOptions, DequantizeOptions, HardSwishOptions). */
export type EmptyOptions = Record<string, never>;

/** BuiltinOptionsType number -> decoded table. */
export interface BuiltinOptionsMap {
  [T.Conv2DOptions]: Conv2DOptions;
  [T.DepthwiseConv2DOptions]: DepthwiseConv2DOptions;
  [T.Pool2DOptions]: Pool2DOptions;
  [T.FullyConnectedOptions]: FullyConnectedOptions;
  [T.SoftmaxOptions]: SoftmaxOptions;
  [T.ConcatenationOptions]: ConcatenationOptions;
  [T.AddOptions]: AddSubOptions;
  [T.ReshapeOptions]: ReshapeOptions;
  [T.MulOptions]: MulOptions;
  [T.PadOptions]: EmptyOptions;
  [T.ReducerOptions]: ReducerOptions;
  [T.SubOptions]: AddSubOptions;
  [T.SqueezeOptions]: SqueezeOptions;
  [T.DequantizeOptions]: EmptyOptions;
  [T.PadV2Options]: EmptyOptions;
  [T.UnidirectionalSequenceLSTMOptions]: UnidirectionalSequenceLSTMOptions;
  [T.LeakyReluOptions]: LeakyReluOptions;
  [T.QuantizeOptions]: EmptyOptions;
  [T.HardSwishOptions]: EmptyOptions;
  [T.SpaceToDepthOptions]: BlockSizeOptions;
  [T.GatherOptions]: GatherOptions;
  [T.TransposeOptions]: EmptyOptions;
  [T.StridedSliceOptions]: StridedSliceOptions;
  [T.SplitOptions]: SplitOptions;
  [T.SliceOptions]: EmptyOptions;
  [T.ExpandDimsOptions]: EmptyOptions;
  [T.PackOptions]: PackOptions;
  [T.UnpackOptions]: UnpackOptions;
  [T.SplitVOptions]: SplitOptions;
  [T.DepthToSpaceOptions]: BlockSizeOptions;
  [T.MaximumMinimumOptions]: EmptyOptions;
  [T.DivOptions]: MulOptions;
  [T.ResizeNearestNeighborOptions]: ResizeOptions;
  [T.SVDFOptions]: SvdfOptions;
  [T.TransposeConvOptions]: TransposeConvOptions;
  [T.ResizeBilinearOptions]: ResizeOptions;
  [T.ArgMaxOptions]: ArgMinMaxOptions;
  [T.ArgMinOptions]: ArgMinMaxOptions;
  [T.SquaredDifferenceOptions]: EmptyOptions;
  [T.ExpOptions]: EmptyOptions;
  [T.LogSoftmaxOptions]: EmptyOptions;
  [T.BatchMatMulOptions]: BatchMatMulOptions;
}

export type BuiltinOptions = BuiltinOptionsMap[keyof BuiltinOptionsMap];
