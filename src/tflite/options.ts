// The builtin option tables edgec understands, described once as data so that the reader and the
// writer cannot disagree about a field number, a type or a default.

import type { BuiltinOptions, BuiltinOptionsMap } from './model.ts';
import { BuiltinOptionsType as T } from './schema.ts';

export type OptionField =
  | { field: number; kind: 'int8' | 'int32' | 'float32'; default: number }
  | { field: number; kind: 'bool'; default: boolean }
  /** A vector of int32, kept absent (not empty) when the file has none. */
  | { field: number; kind: 'int32[]' };

export type OptionTable<O> = { [K in keyof O]-?: OptionField };

const int8 = (field: number, value = 0): OptionField => ({ field, kind: 'int8', default: value });
const int32 = (field: number, value = 0): OptionField => ({ field, kind: 'int32', default: value });
const float32 = (field: number): OptionField => ({ field, kind: 'float32', default: 0 });
const bool = (field: number, value = false): OptionField => ({ field, kind: 'bool', default: value });
const int32s = (field: number): OptionField => ({ field, kind: 'int32[]' });

const addSub = { activation: int8(0), potScaleInt16: bool(1, true) };

const TABLES: { [K in keyof BuiltinOptionsMap]: OptionTable<BuiltinOptionsMap[K]> } = {
  [T.Conv2DOptions]: {
    padding: int8(0),
    strideW: int32(1),
    strideH: int32(2),
    activation: int8(3),
    dilationW: int32(4, 1),
    dilationH: int32(5, 1),
    quantizedBiasType: int8(6),
  },
  [T.DepthwiseConv2DOptions]: {
    padding: int8(0),
    strideW: int32(1),
    strideH: int32(2),
    depthMultiplier: int32(3),
    activation: int8(4),
    dilationW: int32(5, 1),
    dilationH: int32(6, 1),
  },
  [T.Pool2DOptions]: {
    padding: int8(0),
    strideW: int32(1),
    strideH: int32(2),
    filterW: int32(3),
    filterH: int32(4),
    activation: int8(5),
  },
  [T.FullyConnectedOptions]: {
    activation: int8(0),
    weightsFormat: int8(1),
    keepNumDims: bool(2),
    asymmetricQuantizeInputs: bool(3),
    quantizedBiasType: int8(4),
  },
  [T.SoftmaxOptions]: { beta: float32(0) },
  [T.ConcatenationOptions]: { axis: int32(0), activation: int8(1) },
  [T.AddOptions]: addSub,
  [T.ReshapeOptions]: { newShape: int32s(0) },
  [T.MulOptions]: { activation: int8(0) },
  [T.PadOptions]: {},
  [T.ReducerOptions]: { keepDims: bool(0) },
  [T.SubOptions]: addSub,
  [T.SqueezeOptions]: { squeezeDims: int32s(0) },
  [T.DequantizeOptions]: {},
  [T.PadV2Options]: {},
  [T.UnidirectionalSequenceLSTMOptions]: {
    activation: int8(0),
    cellClip: float32(1),
    projClip: float32(2),
    timeMajor: bool(3),
    asymmetricQuantizeInputs: bool(4),
    diagonalRecurrentTensors: bool(5),
  },
  [T.LeakyReluOptions]: { alpha: float32(0) },
  [T.QuantizeOptions]: {},
  [T.HardSwishOptions]: {},
  [T.SpaceToDepthOptions]: { blockSize: int32(0) },
  [T.GatherOptions]: { axis: int32(0), batchDims: int32(1) },
  [T.TransposeOptions]: {},
  [T.StridedSliceOptions]: {
    beginMask: int32(0),
    endMask: int32(1),
    ellipsisMask: int32(2),
    newAxisMask: int32(3),
    shrinkAxisMask: int32(4),
    offset: bool(5),
  },
  [T.SplitOptions]: { numSplits: int32(0) },
  [T.SliceOptions]: {},
  [T.ExpandDimsOptions]: {},
  [T.PackOptions]: { valuesCount: int32(0), axis: int32(1) },
  [T.UnpackOptions]: { num: int32(0), axis: int32(1) },
  [T.SplitVOptions]: { numSplits: int32(0) },
  [T.DepthToSpaceOptions]: { blockSize: int32(0) },
  [T.MaximumMinimumOptions]: {},
  [T.DivOptions]: { activation: int8(0) },
  [T.ResizeNearestNeighborOptions]: { alignCorners: bool(0), halfPixelCenters: bool(1) },
  [T.SVDFOptions]: { rank: int32(0), activation: int8(1), asymmetricQuantizeInputs: bool(2) },
  // Fields 0 and 1 (new_height, new_width) are deprecated: the size operand says it.
  [T.ResizeBilinearOptions]: { alignCorners: bool(2), halfPixelCenters: bool(3) },
  [T.ArgMaxOptions]: { outputType: int8(0) },
  [T.ArgMinOptions]: { outputType: int8(0) },
  [T.SquaredDifferenceOptions]: {},
  [T.ExpOptions]: {},
  [T.LogSoftmaxOptions]: {},
  [T.BatchMatMulOptions]: { adjX: bool(0), adjY: bool(1), asymmetricQuantizeInputs: bool(2) },
  [T.TransposeConvOptions]: { padding: int8(0), strideW: int32(1), strideH: int32(2), activation: int8(3), quantizedBiasType: int8(4) },
};

/** The field layout of a BuiltinOptions union member, or undefined for tables edgec does not decode. */
export function optionTable(type: number): OptionTable<BuiltinOptions> | undefined {
  return Object.hasOwn(TABLES, type) ? (TABLES[type as keyof BuiltinOptionsMap] as OptionTable<BuiltinOptions>) : undefined;
}

/** The table's value when every field is at its default (what TFLite assumes for missing options). */
export function defaultOptions<K extends keyof BuiltinOptionsMap>(type: K): BuiltinOptionsMap[K] {
  const out: Record<string, number | boolean> = {};
  for (const [key, spec] of Object.entries(TABLES[type] as Record<string, OptionField>)) {
    if (spec.kind !== 'int32[]') out[key] = spec.default;
  }
  return out as unknown as BuiltinOptionsMap[K];
}
