// Graph -> TfliteModel: the standard TFLite form of an edgec graph, for writeTflite. Operand
// tensors the IR folds into attributes (reshape's shape, pad's paddings, mean's axes) become int32
// constants again, appended after the graph's own tensors, so that importTflite reads the file
// back to the same graph. Operator versions follow TFLite's versioning rules for the properties
// the IR has (int8 kernels, missing bias, keep_num_dims, dilation, ...).

import { dataBytes, numel } from '../ir/dtype.ts';
import { modelError } from '../ir/errors.ts';
import type { Activation, DType, Graph, Op, Padding, Tensor } from '../ir/types.ts';
import { verifyGraph } from '../ir/verify.ts';
import type { BuiltinOptions, TfliteModel, TfliteOperator, TfliteTensor } from './model.ts';
import {
  ActivationFunctionType,
  BuiltinOperator as B,
  BuiltinOptionsType as O,
  FullyConnectedWeightsFormat,
  Padding as TflitePadding,
  SCHEMA_VERSION,
  TensorType,
} from './schema.ts';

const TYPES: Record<DType, number> = {
  float32: TensorType.FLOAT32,
  int8: TensorType.INT8,
  uint8: TensorType.UINT8,
  int16: TensorType.INT16,
  int32: TensorType.INT32,
  int64: TensorType.INT64,
  bool: TensorType.BOOL,
};

const ACTIVATIONS: Record<Activation, number> = {
  none: ActivationFunctionType.NONE,
  relu: ActivationFunctionType.RELU,
  relu_n1_to_1: ActivationFunctionType.RELU_N1_TO_1,
  relu6: ActivationFunctionType.RELU6,
};

const PADDINGS: Record<Padding, number> = { same: TflitePadding.SAME, valid: TflitePadding.VALID };

/** What one op becomes: its builtin, version, options and any operand tensors to recreate. */
interface Exported {
  code: number;
  version: number;
  optionsType?: number;
  options?: BuiltinOptions;
  /** Constant int32 operands appended after the op's data input. */
  operands?: { suffix: string; shape: number[]; values: number[] }[];
  /**
   * Instead of the op's inputs: its TFLite operand list, given the op's inputs and the variable
   * tensors (TFLite's form of the op's state) appended for it.
   */
  layout?: { variables: Omit<TfliteTensor, 'buffer' | 'isVariable'>[]; inputs: (inputs: number[], variables: number[], operands: number[]) => number[] };
}

export function exportTflite(graph: Graph): TfliteModel {
  verifyGraph(graph);
  const model: TfliteModel = {
    version: SCHEMA_VERSION,
    description: 'edgec',
    operatorCodes: [],
    subgraphs: [],
    buffers: [{ data: new Uint8Array(0) }],
    metadata: [],
  };
  const tensors: TfliteTensor[] = graph.tensors.map((t, i) => exportTensor(model, t, i, graph));
  const operators: TfliteOperator[] = graph.ops.map((op) => {
    const e = exportOp(graph, op);
    const operands = (e.operands ?? []).map((o) => {
      const data = Int32Array.from(o.values);
      model.buffers.push({ data: dataBytes(data).slice() });
      tensors.push({ name: `${graph.tensors[op.outputs[0]].name}/${o.suffix}`, shape: o.shape, type: TensorType.INT32, buffer: model.buffers.length - 1, isVariable: false });
      return tensors.length - 1;
    });
    const variables = (e.layout?.variables ?? []).map((v) => tensors.push({ ...v, buffer: 0, isVariable: true }) - 1);
    const operator: TfliteOperator = {
      opcodeIndex: opcodeIndex(model, e.code, e.version),
      inputs: e.layout ? e.layout.inputs(op.inputs, variables, operands) : [...op.inputs, ...operands],
      outputs: [...op.outputs],
      builtinOptionsType: e.optionsType ?? O.NONE,
    };
    if (e.options) operator.builtinOptions = e.options;
    return operator;
  });
  model.subgraphs.push({ name: 'main', tensors, inputs: [...graph.inputs], outputs: [...graph.outputs], operators });
  return model;
}

function exportTensor(model: TfliteModel, t: Tensor, index: number, graph: Graph): TfliteTensor {
  const tensor: TfliteTensor = { name: t.name, shape: [...t.shape], type: TYPES[t.dtype], buffer: 0, isVariable: false };
  if (t.data) {
    // An empty buffer means "no data" to TFLite: a zero-size constant cannot be written.
    if (numel(t.shape) === 0) throw modelError(`${graph.name}: constant tensor ${index} '${t.name}' has no elements; TFLite cannot store an empty constant`);
    model.buffers.push({ data: dataBytes(t.data).slice() });
    tensor.buffer = model.buffers.length - 1;
  }
  if (t.quant) tensor.quantization = { scale: [...t.quant.scale], zeroPoint: [...t.quant.zeroPoint], quantizedDimension: t.quant.axis };
  return tensor;
}

/** One operator code per builtin, at the highest version any of its operators needs. */
function opcodeIndex(model: TfliteModel, code: number, version: number): number {
  const found = model.operatorCodes.findIndex((c) => c.builtinCode === code);
  if (found >= 0) {
    model.operatorCodes[found].version = Math.max(model.operatorCodes[found].version, version);
    return found;
  }
  model.operatorCodes.push({ builtinCode: code, version });
  return model.operatorCodes.length - 1;
}

/** The options every sliding-window operator (conv, depthwise, pools) writes. */
function windowOptions(a: { padding: Padding; stride: [number, number]; activation: Activation }) {
  return { padding: PADDINGS[a.padding], strideH: a.stride[0], strideW: a.stride[1], activation: ACTIVATIONS[a.activation] };
}

function exportOp(graph: Graph, op: Op): Exported {
  const int8 = graph.tensors[op.inputs[0]].dtype === 'int8';
  const byType = (int8Version: number) => (int8 ? int8Version : 1);
  switch (op.kind) {
    case 'conv2d': {
      const a = op.attrs;
      return {
        code: B.CONV_2D,
        version: byType(3),
        optionsType: O.Conv2DOptions,
        options: { ...windowOptions(a), dilationH: a.dilation[0], dilationW: a.dilation[1], quantizedBiasType: 0 },
      };
    }
    case 'depthwise_conv2d': {
      const a = op.attrs;
      const dilated = a.dilation[0] !== 1 || a.dilation[1] !== 1;
      return {
        code: B.DEPTHWISE_CONV_2D,
        version: int8 ? 3 : dilated ? 2 : 1,
        optionsType: O.DepthwiseConv2DOptions,
        options: { ...windowOptions(a), dilationH: a.dilation[0], dilationW: a.dilation[1], depthMultiplier: a.depthMultiplier },
      };
    }
    case 'fully_connected': {
      const version = op.inputs.length === 2 ? 6 : op.attrs.keepNumDims ? 5 : byType(4);
      return {
        code: B.FULLY_CONNECTED,
        version,
        optionsType: O.FullyConnectedOptions,
        options: {
          activation: ACTIVATIONS[op.attrs.activation],
          weightsFormat: FullyConnectedWeightsFormat.DEFAULT,
          keepNumDims: op.attrs.keepNumDims,
          asymmetricQuantizeInputs: false,
          quantizedBiasType: 0,
        },
      };
    }
    case 'avg_pool2d':
    case 'max_pool2d': {
      const a = op.attrs;
      return {
        code: op.kind === 'avg_pool2d' ? B.AVERAGE_POOL_2D : B.MAX_POOL_2D,
        version: byType(2),
        optionsType: O.Pool2DOptions,
        options: { ...windowOptions(a), filterH: a.filter[0], filterW: a.filter[1] },
      };
    }
    case 'add':
      return { code: B.ADD, version: byType(2), optionsType: O.AddOptions, options: { activation: ACTIVATIONS[op.attrs.activation], potScaleInt16: true } };
    case 'sub':
      return { code: B.SUB, version: byType(2), optionsType: O.SubOptions, options: { activation: ACTIVATIONS[op.attrs.activation], potScaleInt16: true } };
    case 'mul':
      return { code: B.MUL, version: mulVersion(graph, op, int8), optionsType: O.MulOptions, options: { activation: ACTIVATIONS[op.attrs.activation] } };
    case 'reshape':
      return {
        code: B.RESHAPE,
        version: 1,
        optionsType: O.ReshapeOptions,
        options: { newShape: [...op.attrs.shape] },
        operands: [{ suffix: 'shape', shape: [op.attrs.shape.length], values: op.attrs.shape }],
      };
    case 'squeeze':
      return { code: B.SQUEEZE, version: 1, optionsType: O.SqueezeOptions, options: { squeezeDims: [...op.attrs.axes] } };
    case 'softmax':
      return { code: B.SOFTMAX, version: byType(2), optionsType: O.SoftmaxOptions, options: { beta: op.attrs.beta } };
    case 'logistic':
      return { code: B.LOGISTIC, version: byType(2) };
    case 'tanh':
      return { code: B.TANH, version: byType(2) };
    case 'relu':
      return { code: B.RELU, version: byType(2) };
    case 'relu6':
      return { code: B.RELU6, version: byType(2) };
    case 'leaky_relu':
      return { code: B.LEAKY_RELU, version: 1, optionsType: O.LeakyReluOptions, options: { alpha: op.attrs.alpha } };
    case 'hard_swish':
      return { code: B.HARD_SWISH, version: 1, optionsType: O.HardSwishOptions, options: {} };
    case 'quantize':
      return { code: B.QUANTIZE, version: 1, optionsType: O.QuantizeOptions, options: {} };
    case 'dequantize':
      return { code: B.DEQUANTIZE, version: byType(2), optionsType: O.DequantizeOptions, options: {} };
    case 'pad': {
      const rank = op.attrs.paddings.length;
      return {
        code: B.PAD,
        version: rank > 4 ? 4 : byType(2),
        optionsType: O.PadOptions,
        options: {},
        operands: [{ suffix: 'paddings', shape: [rank, 2], values: op.attrs.paddings.flat() }],
      };
    }
    case 'concatenation':
      return {
        code: B.CONCATENATION,
        version: byType(2),
        optionsType: O.ConcatenationOptions,
        options: { axis: op.attrs.axis, activation: ACTIVATIONS[op.attrs.activation] },
      };
    case 'mean':
    case 'sum':
    case 'reduce_max':
      return {
        code: { mean: B.MEAN, sum: B.SUM, reduce_max: B.REDUCE_MAX }[op.kind],
        version: byType(2),
        optionsType: O.ReducerOptions,
        options: { keepDims: op.attrs.keepDims },
        operands: [{ suffix: 'axes', shape: [op.attrs.axes.length], values: op.attrs.axes }],
      };
    case 'strided_slice':
      return stridedSlice(graph, op);
    case 'resize_nearest':
    case 'resize_bilinear':
      return {
        code: op.kind === 'resize_nearest' ? B.RESIZE_NEAREST_NEIGHBOR : B.RESIZE_BILINEAR,
        version: op.kind === 'resize_bilinear' && op.attrs.halfPixelCenters ? 3 : byType(2),
        optionsType: op.kind === 'resize_nearest' ? O.ResizeNearestNeighborOptions : O.ResizeBilinearOptions,
        options: { alignCorners: op.attrs.alignCorners, halfPixelCenters: op.attrs.halfPixelCenters },
        operands: [{ suffix: 'size', shape: [2], values: op.attrs.size }],
      };
    case 'prelu':
      return { code: B.PRELU, version: 1 };
    case 'rsqrt':
      return { code: B.RSQRT, version: byType(2) };
    case 'log_softmax':
      return { code: B.LOG_SOFTMAX, version: 1, optionsType: O.LogSoftmaxOptions, options: {} };
    case 'elu':
      return { code: B.ELU, version: 1 };
    case 'exp':
      return { code: B.EXP, version: 1, optionsType: O.ExpOptions, options: {} };
    case 'batch_matmul':
      return {
        code: B.BATCH_MATMUL,
        version: graph.tensors[op.inputs[0]].dtype === 'int16' ? 3 : byType(2),
        optionsType: O.BatchMatMulOptions,
        options: { adjX: op.attrs.adjX, adjY: op.attrs.adjY, asymmetricQuantizeInputs: false },
      };
    case 'squared_difference':
      return { code: B.SQUARED_DIFFERENCE, version: byType(2), optionsType: O.SquaredDifferenceOptions, options: {} };
    case 'arg_max':
    case 'arg_min':
      return {
        code: op.kind === 'arg_max' ? B.ARG_MAX : B.ARG_MIN,
        version: byType(2),
        optionsType: op.kind === 'arg_max' ? O.ArgMaxOptions : O.ArgMinOptions,
        options: { outputType: TensorType.INT32 },
        operands: [{ suffix: 'axis', shape: [1], values: [op.attrs.axis] }],
      };
    case 'transpose_conv2d': {
      const { activation, size } = op.attrs;
      const outChannels = graph.tensors[op.inputs[1]].shape[0];
      return {
        code: B.TRANSPOSE_CONV,
        version: activation !== 'none' ? 4 : op.inputs.length > 2 ? 3 : byType(2),
        optionsType: O.TransposeConvOptions,
        options: { ...windowOptions(op.attrs), quantizedBiasType: 0 },
        operands: [{ suffix: 'output_shape', shape: [4], values: [graph.tensors[op.inputs[0]].shape[0], ...size, outChannels] }],
        // TFLite's order: output shape, weights, input, bias.
        layout: { variables: [], inputs: ([input, weights, bias], _, [shape]) => [shape, weights, input, ...(bias === undefined ? [] : [bias])] },
      };
    }
    case 'div':
      return { code: B.DIV, version: 1, optionsType: O.DivOptions, options: { activation: ACTIVATIONS[op.attrs.activation] } };
    case 'maximum':
    case 'minimum':
      return { code: op.kind === 'maximum' ? B.MAXIMUM : B.MINIMUM, version: byType(2), optionsType: O.MaximumMinimumOptions, options: {} };
    case 'transpose':
      return {
        code: B.TRANSPOSE,
        version: byType(2),
        optionsType: O.TransposeOptions,
        options: {},
        operands: [{ suffix: 'perm', shape: [op.attrs.perm.length], values: op.attrs.perm }],
      };
    case 'space_to_depth':
      return { code: B.SPACE_TO_DEPTH, version: byType(2), optionsType: O.SpaceToDepthOptions, options: { blockSize: op.attrs.blockSize } };
    case 'depth_to_space':
      return { code: B.DEPTH_TO_SPACE, version: byType(2), optionsType: O.DepthToSpaceOptions, options: { blockSize: op.attrs.blockSize } };
    case 'pack':
      return { code: B.PACK, version: byType(2), optionsType: O.PackOptions, options: { valuesCount: op.inputs.length, axis: op.attrs.axis } };
    case 'gather':
      return {
        code: B.GATHER,
        version: byType(2),
        optionsType: O.GatherOptions,
        options: { axis: op.attrs.axis, batchDims: 0 },
        operands: [{ suffix: 'indices', shape: [...op.attrs.indicesShape], values: op.attrs.indices }],
      };
    case 'unidirectional_sequence_lstm':
      return exportLstm(graph, op);
    case 'svdf':
      return exportSvdf(graph, op);
  }
}

/**
 * STRIDED_SLICE with end = begin + size * stride; an end that falls below 0 (a backward slice down
 * to the first element) is written as an end-mask bit. The output shape is the sizes with some 1s
 * left out (shrink-mask entries) and some put in (new-axis entries); matching greedily finds which.
 */
function stridedSlice(graph: Graph, op: Extract<Op, { kind: 'strided_slice' }>): Exported {
  const { begin, stride, size, shape } = op.attrs;
  const entries: { begin: number; end: number; stride: number }[] = [];
  const masks = { beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0, offset: false };
  let kept = 0;
  for (let d = 0; d < size.length || kept < shape.length; ) {
    const bit = 1 << entries.length;
    if (d < size.length && kept < shape.length && shape[kept] === size[d]) kept++;
    else if (d < size.length && size[d] === 1) masks.shrinkAxisMask |= bit;
    else if (kept < shape.length && shape[kept] === 1) {
      masks.newAxisMask |= bit;
      entries.push({ begin: 0, end: 0, stride: 1 });
      kept++;
      continue;
    } else throw modelError(`${graph.name}: a strided slice of sizes [${size}] to shape [${shape}] has no STRIDED_SLICE form`);
    const end = begin[d] + size[d] * stride[d];
    if (end < 0) masks.endMask |= bit;
    entries.push({ begin: begin[d], end: Math.max(end, 0), stride: stride[d] });
    d++;
  }
  const int8 = graph.tensors[op.inputs[0]].dtype === 'int8';
  const operand = (suffix: string, values: number[]) => ({ suffix, shape: [values.length], values });
  return {
    code: B.STRIDED_SLICE,
    version: int8 ? 2 : 1,
    optionsType: O.StridedSliceOptions,
    options: masks,
    operands: [operand('begin', entries.map((e) => e.begin)), operand('end', entries.map((e) => e.end)), operand('strides', entries.map((e) => e.stride))],
  };
}

/** The 24 operands TFLite expects (peephole, projection and layer-norm ones absent) and the two state variables. */
function exportLstm(graph: Graph, op: Extract<Op, { kind: 'unidirectional_sequence_lstm' }>): Exported {
  const out = graph.tensors[op.outputs[0]];
  const sequences = op.attrs.timeMajor ? out.shape[1] : out.shape[0];
  const shape = [sequences, out.shape[2]];
  const s = op.attrs.state;
  const name = out.name;
  const variables: Omit<TfliteTensor, 'buffer' | 'isVariable'>[] = s
    ? [
        { name: `${name}/hidden_state`, shape, type: TensorType.INT8, quantization: { scale: [s.hiddenScale], zeroPoint: [s.hiddenZeroPoint], quantizedDimension: 0 } },
        { name: `${name}/cell_state`, shape, type: TensorType.INT16, quantization: { scale: [s.cellScale], zeroPoint: [0], quantizedDimension: 0 } },
      ]
    : [
        { name: `${name}/hidden_state`, shape, type: TensorType.FLOAT32 },
        { name: `${name}/cell_state`, shape, type: TensorType.FLOAT32 },
      ];
  const none = [-1, -1, -1];
  return {
    code: B.UNIDIRECTIONAL_SEQUENCE_LSTM,
    version: 1,
    optionsType: O.UnidirectionalSequenceLSTMOptions,
    options: { activation: ActivationFunctionType.TANH, cellClip: op.attrs.cellClip, projClip: 0, timeMajor: op.attrs.timeMajor, asymmetricQuantizeInputs: false, diagonalRecurrentTensors: false },
    layout: {
      variables,
      inputs: (i, [hidden, cell]) => [...i.slice(0, 9), ...none, ...i.slice(9, 13), -1, -1, hidden, cell, ...none, -1],
    },
  };
}

/** Its operands with the activation state, a variable tensor, appended (after the bias, which TFLite requires in that place). */
function exportSvdf(graph: Graph, op: Extract<Op, { kind: 'svdf' }>): Exported {
  const [filters, memory] = graph.tensors[op.inputs[2]].shape;
  const s = op.attrs.state;
  const state = {
    name: `${graph.tensors[op.outputs[0]].name}/state`,
    shape: [graph.tensors[op.inputs[0]].shape[0], filters * memory],
    type: TYPES[s.dtype],
    quantization: { scale: [s.scale], zeroPoint: [s.zeroPoint], quantizedDimension: 0 },
  };
  return {
    code: B.SVDF,
    version: 3,
    optionsType: O.SVDFOptions,
    options: { rank: op.attrs.rank, activation: ActivationFunctionType.NONE, asymmetricQuantizeInputs: false },
    layout: { variables: [state], inputs: (i, [variable]) => [...i.slice(0, 3), i[3] ?? -1, variable] },
  };
}

/** int8 MUL is version 3 when input 1 scale x input 2 scale / output scale is at least 1. */
function mulVersion(graph: Graph, op: Op, int8: boolean): number {
  if (!int8) return 1;
  const scale = (t: number) => graph.tensors[t].quant?.scale[0] ?? 0;
  return (scale(op.inputs[0]) * scale(op.inputs[1])) / scale(op.outputs[0]) >= 1 ? 3 : 2;
}
