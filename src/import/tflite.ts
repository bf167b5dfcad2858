// TFLite front end: subgraph 0 of a .tflite model -> Graph. Operators and attributes edgec cannot
// run are collected and reported together, so a user sees everything that stands in the way at once.

import { DTYPE_RANGE, numel, viewBytes } from '../ir/dtype.ts';
import { modelError } from '../ir/errors.ts';
import { opTraits } from '../ir/op-traits.ts';
import { resolveReshape } from '../ir/shape.ts';
import type { Activation, DType, Graph, Op, Padding, StridedSliceOp, Tensor } from '../ir/types.ts';
import { verifyGraph } from '../ir/verify.ts';
import { decodeFloat16 } from './float16.ts';
import { foldConstantQuantization } from './float-graph.ts';
import { CONSTRAINT } from './tflite-support.ts';
import type { BuiltinOptionsMap, ResizeOptions, TfliteModel, TfliteOperator, TfliteSubgraph, TfliteTensor } from '../tflite/model.ts';
import { defaultOptions } from '../tflite/options.ts';
import { readTflite } from '../tflite/reader.ts';
import {
  ActivationFunctionType,
  BuiltinOperator as B,
  BuiltinOptionsType as O,
  builtinOperatorName,
  FullyConnectedWeightsFormat,
  Padding as TflitePadding,
  TensorType,
  tensorTypeName,
} from '../tflite/schema.ts';

const DTYPES: Partial<Record<number, DType>> = {
  [TensorType.FLOAT32]: 'float32',
  [TensorType.INT8]: 'int8',
  [TensorType.UINT8]: 'uint8',
  [TensorType.INT16]: 'int16',
  [TensorType.INT32]: 'int32',
  [TensorType.INT64]: 'int64',
  [TensorType.BOOL]: 'bool',
};

const ACTIVATIONS: Partial<Record<number, Activation>> = {
  [ActivationFunctionType.NONE]: 'none',
  [ActivationFunctionType.RELU]: 'relu',
  [ActivationFunctionType.RELU_N1_TO_1]: 'relu_n1_to_1',
  [ActivationFunctionType.RELU6]: 'relu6',
};

/** Parses `bytes` as TFLite and converts subgraph 0 to a verified Graph named after the file. */
export function importTflite(bytes: Uint8Array, fileName = 'model.tflite'): Graph {
  const model = readTflite(bytes, fileName);
  const subgraph = model.subgraphs[0];
  const problems: string[] = [];

  const ops: Op[] = subgraph.operators.flatMap((operator, index) => convertOperator(new OperatorReader(model, subgraph, operator, index, problems)));

  // The graph keeps only the tensors it uses (folded shape/axis operands drop out), in file order.
  const used = [...new Set([...subgraph.inputs, ...subgraph.outputs, ...ops.flatMap((op) => [...op.inputs, ...op.outputs])])];
  used.sort((a, b) => a - b);
  const tensors = used.map((t) => convertTensor(subgraph.tensors[t], model.buffers[subgraph.tensors[t].buffer].data, t, problems));

  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    throw modelError(`${fileName}: cannot import the model: ${problems[0]}${more}`, problems);
  }
  const position = new Map(used.map((t, i) => [t, i]));
  const remap = (list: number[]) => list.map((t) => position.get(t)!);
  // Dynamic-range and float16 models become float graphs here (./float-graph.ts); full-int8 ones stay as they are.
  const graph = foldConstantQuantization({
    name: stem(fileName),
    tensors: tensors as Tensor[],
    ops: ops.map((op) => ({ ...op, inputs: remap(op.inputs), outputs: remap(op.outputs) })),
    inputs: remap(subgraph.inputs),
    outputs: remap(subgraph.outputs),
  });
  verifyGraph(graph);
  return graph;
}

function stem(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base || 'model';
}

function convertTensor(t: TfliteTensor, data: Uint8Array, index: number, problems: string[]): Tensor | undefined {
  const name = t.name || `t${index}`;
  const where = `tensor ${index} '${name}'`;
  // float16 constants (what float16 conversion stores) are decoded; the operator checks made sure
  // only a DEQUANTIZE reads them, and that DEQUANTIZE is folded away.
  if (t.type === TensorType.FLOAT16 && data.length > 0 && !t.isVariable) return { name, shape: [...t.shape], dtype: 'float32', data: decodeFloat16(data) };
  const dtype = DTYPES[t.type];
  if (!dtype) return void problems.push(`${where}: type ${tensorTypeName(t.type)} is not supported`);
  if (t.isVariable) return void problems.push(`${where}: variable (stateful) tensors are not supported`);
  const tensor: Tensor = { name, shape: [...t.shape], dtype };
  // Copied, so that the graph does not hold on to (or alias) the file's bytes.
  if (data.length > 0) tensor.data = viewBytes(dtype, data.slice());

  const q = t.quantization;
  if (q && q.scale.length > 0) {
    const range = DTYPE_RANGE[dtype];
    if (range && q.zeroPoint.some((z) => z < range[0] || z > range[1])) {
      return void problems.push(`${where}: zero points [${q.zeroPoint}] lie outside the ${dtype} range`);
    }
    tensor.quant = { scale: [...q.scale], zeroPoint: [...q.zeroPoint], axis: quantAxis(q.scale.length, q.quantizedDimension, t.shape) };
  } else if (dtype === 'int8' || dtype === 'uint8' || dtype === 'int16') {
    return void problems.push(`${where}: ${dtype} tensor without quantization parameters`);
  }
  return tensor;
}

/**
 * Per-tensor parameters have no meaningful axis (0). Converters give 1-D bias tensors the quantized
 * dimension of their filter (3 for a depthwise conv); for them the channels are axis 0.
 */
function quantAxis(channels: number, dimension: number, shape: readonly number[]): number {
  if (channels === 1) return 0;
  if (shape.length === 1 && dimension >= 1 && shape[0] === channels) return 0;
  return dimension;
}

/** One operator being converted: its operands, options and a place to report what is wrong with it. */
class OperatorReader {
  readonly name: string;
  readonly origin: string;
  readonly builtinCode: number;

  constructor(
    readonly model: TfliteModel,
    readonly subgraph: TfliteSubgraph,
    readonly operator: TfliteOperator,
    readonly index: number,
    private readonly problems: string[],
  ) {
    const code = model.operatorCodes[operator.opcodeIndex];
    this.builtinCode = code.builtinCode;
    this.name = code.builtinCode === B.CUSTOM ? `custom operator '${code.customCode ?? ''}'` : builtinOperatorName(code.builtinCode);
    this.origin = `operator ${index} (${this.name})`;
  }

  problem(message: string): undefined {
    this.problems.push(`${this.origin}: ${message}`);
    return undefined;
  }

  /** A problem worded as what is wrong and the constraint of the supported-operators table it breaks. */
  violates(what: string, constraint: string): undefined {
    return this.problem(`${what}; needs: ${constraint}`);
  }

  unsupported(): undefined {
    this.problems.push(`operator ${this.index}: ${this.name} is not supported`);
    return undefined;
  }

  tensor(t: number): TfliteTensor {
    return this.subgraph.tensors[t];
  }

  describe(t: number): string {
    return `tensor ${t}${this.tensor(t).name ? ` '${this.tensor(t).name}'` : ''}`;
  }

  /**
   * The operator's inputs and its single output. Optional inputs come last; an omitted one (-1) is
   * dropped. Undefined after reporting a wrong count or a missing required input.
   */
  io(required: number, optional = 0): { inputs: number[]; output: number } | undefined {
    const { inputs, outputs } = this.operator;
    const most = required + optional;
    if (inputs.length < required || inputs.length > most) {
      const expected = optional === 0 ? `${required}` : most === Infinity ? `at least ${required}` : `${required} to ${most}`;
      return this.problem(`has ${inputs.length} inputs, expected ${expected}`);
    }
    const missing = inputs.slice(0, required).indexOf(-1);
    if (missing >= 0) return this.problem(`required input ${missing} is missing`);
    if (outputs.length !== 1) return this.problem(`has ${outputs.length} outputs, expected 1`);
    return { inputs: inputs.filter((t) => t !== -1), output: outputs[0] };
  }

  /** The operator's options of the given table; schema defaults when the file has none. */
  options<K extends keyof BuiltinOptionsMap>(type: K): BuiltinOptionsMap[K] | undefined {
    const { builtinOptionsType, builtinOptions } = this.operator;
    if (builtinOptionsType !== O.NONE && builtinOptionsType !== type) {
      return this.problem(`has builtin options of type ${builtinOptionsType}, expected ${type}`);
    }
    return builtinOptions ? (builtinOptions as BuiltinOptionsMap[K]) : defaultOptions(type);
  }

  activation(code: number): Activation | undefined {
    const activation = ACTIVATIONS[code];
    if (activation) return activation;
    const name = Object.entries(ActivationFunctionType).find(([, v]) => v === code)?.[0];
    return this.violates(name ? `fused activation ${name}` : `unknown fused activation ${code}`, CONSTRAINT.fusedActivation);
  }

  padding(code: number): Padding | undefined {
    if (code === TflitePadding.SAME) return 'same';
    if (code === TflitePadding.VALID) return 'valid';
    return this.problem(`unknown padding ${code}`);
  }

  /** Integer values of a constant int32/int64 operand (shapes, axes, paddings). */
  constantInts(t: number, what: string): number[] | undefined {
    const tensor = this.tensor(t);
    const data = this.model.buffers[tensor.buffer].data;
    if (data.length === 0) return this.violates(`the ${what} (${this.describe(t)}) is computed at run time`, CONSTRAINT.constant(what));
    if (tensor.type !== TensorType.INT32 && tensor.type !== TensorType.INT64) {
      return this.problem(`the ${what} (${this.describe(t)}) is ${tensorTypeName(tensor.type)}, expected INT32 or INT64`);
    }
    const values = viewBytes(tensor.type === TensorType.INT32 ? 'int32' : 'int64', data.slice());
    return Array.from(values, Number);
  }

  /** Normalises an axis (negative counts from the end) against `rank`. */
  axis(value: number, rank: number, what: string): number | undefined {
    const axis = value < 0 ? value + rank : value;
    if (axis >= 0 && axis < rank) return axis;
    return this.problem(`${what} ${value} is outside a ${rank}-D tensor`);
  }

  /** The operator's inputs and its `count` outputs (at least one), for the operators with several. */
  ioMany(inputs: number, count: number): { inputs: number[]; outputs: number[] } | undefined {
    const { operator } = this;
    if (operator.inputs.length !== inputs || operator.inputs.includes(-1)) return this.problem(`has inputs [${operator.inputs}], expected ${inputs}`);
    if (count < 1 || operator.outputs.length !== count) return this.problem(`has ${operator.outputs.length} outputs, its options say ${count}`);
    return { inputs: [...operator.inputs], outputs: [...operator.outputs] };
  }

  /**
   * An int8 operator that only moves values: TFLite Micro copies them raw, so the output must have
   * the input's scale and zero point for the values to mean the same.
   */
  sameQuantization(input: number, output: number, constraint: string = CONSTRAINT.sameQuantization): true | undefined {
    const [a, b] = [this.tensor(input).quantization, this.tensor(output).quantization];
    if (this.tensor(input).type !== TensorType.INT8 || !a || !b) return true;
    if (a.scale[0] === b.scale[0] && a.zeroPoint[0] === b.zeroPoint[0]) return true;
    return this.violates(
      `output ${this.describe(output)} has scale ${b.scale[0]}, zero point ${b.zeroPoint[0]}; input ${this.describe(input)} has scale ${a.scale[0]}, zero point ${a.zeroPoint[0]}`,
      constraint,
    );
  }

  /** At most `most` axes, where TFLite Micro's kernel stops. */
  rankAtMost(t: number, most: number): true | undefined {
    const rank = this.tensor(t).shape.length;
    return rank <= most ? true : this.violates(`input has ${rank} axes`, CONSTRAINT.maxRank(most));
  }

  /** Sorted, de-duplicated, normalised axes; undefined if any is out of range. */
  axes(values: number[], rank: number, what: string): number[] | undefined {
    const axes = values.map((v) => this.axis(v, rank, what));
    if (axes.some((a) => a === undefined)) return undefined;
    return [...new Set(axes as number[])].sort((a, b) => a - b);
  }
}

/** SPLIT, SPLIT_V and UNPACK become one op per output. */
type Converter = (r: OperatorReader) => Op | Op[] | undefined;

/** The builtin operators the importer converts (what ./tflite-support.ts must describe). */
export const convertedBuiltins = (): number[] => Object.keys(CONVERTERS).map(Number);

const CONVERTERS: Partial<Record<number, Converter>> = {
  [B.CONV_2D]: (r) => {
    const io = r.io(2, 1);
    const o = r.options(O.Conv2DOptions);
    if (!io || !o) return;
    const padding = r.padding(o.padding);
    const activation = r.activation(o.activation);
    if (!padding || !activation) return;
    const attrs = { stride: pair(o.strideH, o.strideW), dilation: pair(o.dilationH, o.dilationW), padding, activation };
    return { kind: 'conv2d', ...ports(r, io), attrs };
  },

  [B.TRANSPOSE_CONV]: (r) => {
    const io = r.io(3, 1);
    const o = r.options(O.TransposeConvOptions);
    if (!io || !o) return;
    const [shapeInput, weights, input, bias] = io.inputs;
    const shape = r.constantInts(shapeInput, 'output shape operand');
    const padding = r.padding(o.padding);
    const activation = r.activation(o.activation);
    if (!shape || !padding || !activation) return;
    const declared = r.tensor(io.output).shape;
    if (shape.length !== 4 || shape.some((d, i) => d !== declared[i])) {
      return r.violates(`output shape operand [${shape}] and output tensor [${declared}]`, 'an output shape operand of 4 values equal to the output tensor\'s shape');
    }
    const attrs = { size: pair(shape[1], shape[2]), stride: pair(o.strideH, o.strideW), padding, activation };
    return { kind: 'transpose_conv2d', inputs: [input, weights, ...(bias === undefined ? [] : [bias])], outputs: [io.output], origin: r.origin, attrs };
  },

  [B.DEPTHWISE_CONV_2D]: (r) => {
    const io = r.io(2, 1);
    const o = r.options(O.DepthwiseConv2DOptions);
    if (!io || !o) return;
    const padding = r.padding(o.padding);
    const activation = r.activation(o.activation);
    const depthMultiplier = depthMultiplierOf(r, io.inputs[0], io.inputs[1], o.depthMultiplier);
    if (!padding || !activation || depthMultiplier === undefined) return;
    const attrs = { stride: pair(o.strideH, o.strideW), dilation: pair(o.dilationH, o.dilationW), padding, depthMultiplier, activation };
    return { kind: 'depthwise_conv2d', ...ports(r, io), attrs };
  },

  [B.FULLY_CONNECTED]: (r) => {
    const io = r.io(2, 1);
    const o = r.options(O.FullyConnectedOptions);
    if (!io || !o) return;
    if (o.weightsFormat !== FullyConnectedWeightsFormat.DEFAULT) {
      return r.problem(`weights format ${o.weightsFormat} (shuffled) is not supported, only DEFAULT`);
    }
    const activation = r.activation(o.activation);
    if (!activation) return;
    return { kind: 'fully_connected', ...ports(r, io), attrs: { activation, keepNumDims: o.keepNumDims } };
  },

  [B.AVERAGE_POOL_2D]: (r) => pool(r, 'avg_pool2d'),
  [B.MAX_POOL_2D]: (r) => pool(r, 'max_pool2d'),

  [B.ADD]: (r) => binary(r, 'add', r.options(O.AddOptions)),
  [B.SUB]: (r) => binary(r, 'sub', r.options(O.SubOptions)),
  [B.MUL]: (r) => binary(r, 'mul', r.options(O.MulOptions)),
  [B.DIV]: (r) => {
    const op = binary(r, 'div', r.options(O.DivOptions));
    const type = op && r.tensor(op.outputs[0]).type;
    if (op && type !== TensorType.FLOAT32) return r.violates(`output is ${tensorTypeName(type!)}`, 'float32 tensors (no int8 DIV kernel)');
    return op;
  },

  [B.RESHAPE]: (r) => {
    const io = r.io(1, 1);
    const o = r.options(O.ReshapeOptions);
    if (!io || !o) return;
    const [input, shapeInput] = io.inputs;
    let target: number[] | undefined;
    if (shapeInput !== undefined) target = r.constantInts(shapeInput, 'shape operand');
    else if (o.newShape) target = o.newShape.length === 1 && o.newShape[0] === 0 ? [] : o.newShape; // [0]: legacy scalar
    else target = r.tensor(io.output).shape; // TFLite Micro then takes the output tensor's shape
    if (!target) return;
    const inputShape = r.tensor(input).shape;
    const shape = resolveReshape(target, numel(inputShape));
    if (!shape) return r.problem(`cannot reshape [${inputShape}] to [${target}]`);
    return { kind: 'reshape', inputs: [input], outputs: [io.output], origin: r.origin, attrs: { shape } };
  },

  [B.SQUEEZE]: (r) => {
    const io = r.io(1);
    const o = r.options(O.SqueezeOptions);
    if (!io || !o) return;
    const shape = r.tensor(io.inputs[0]).shape;
    const requested = o.squeezeDims ?? [];
    const axes =
      requested.length === 0 ? shape.flatMap((d, i) => (d === 1 ? [i] : [])) : r.axes(requested, shape.length, 'squeeze axis');
    if (!axes) return;
    return { kind: 'squeeze', ...ports(r, io), attrs: { axes } };
  },

  [B.SOFTMAX]: (r) => {
    const io = r.io(1);
    const o = r.options(O.SoftmaxOptions);
    if (!io || !o) return;
    return { kind: 'softmax', ...ports(r, io), attrs: { beta: o.beta } };
  },

  [B.LOGISTIC]: (r) => unary(r, 'logistic'),
  [B.TANH]: (r) => unary(r, 'tanh'),
  [B.RELU]: (r) => unary(r, 'relu'),
  [B.RELU6]: (r) => unary(r, 'relu6'),
  [B.HARD_SWISH]: (r) => unary(r, 'hard_swish'),
  [B.QUANTIZE]: (r) => unary(r, 'quantize'),
  [B.DEQUANTIZE]: (r) => unary(r, 'dequantize'),

  [B.UNIDIRECTIONAL_SEQUENCE_LSTM]: (r) => lstm(r),
  [B.SVDF]: (r) => svdf(r),

  [B.LEAKY_RELU]: (r) => {
    const io = r.io(1);
    const o = r.options(O.LeakyReluOptions);
    if (!io || !o) return;
    return { kind: 'leaky_relu', ...ports(r, io), attrs: { alpha: o.alpha } };
  },

  [B.PAD]: (r) => pad(r, r.io(2)),
  [B.PADV2]: (r) => {
    const io = r.io(2, 1);
    if (io?.inputs[2] === undefined) return pad(r, io);
    const value = padValue(r, io.inputs[2], io.output);
    return value && pad(r, { inputs: io.inputs.slice(0, 2), output: io.output });
  },

  [B.CONCATENATION]: (r) => {
    const io = r.io(1, Infinity);
    const o = r.options(O.ConcatenationOptions);
    if (!io || !o) return;
    const axis = r.axis(o.axis, r.tensor(io.output).shape.length, 'concatenation axis');
    const activation = r.activation(o.activation);
    if (axis === undefined || !activation) return;
    if (activation !== 'none') return r.violates(`fused activation ${activation.toUpperCase()}`, CONSTRAINT.noActivation);
    if (!io.inputs.every((t) => r.sameQuantization(t, io.output, CONSTRAINT.inputsShareQuantization))) return;
    return { kind: 'concatenation', ...ports(r, io), attrs: { axis, activation } };
  },

  [B.MEAN]: (r) => reduce(r, 'mean'),
  [B.SUM]: (r) => reduce(r, 'sum'),
  [B.REDUCE_MAX]: (r) => reduce(r, 'reduce_max'),

  [B.STRIDED_SLICE]: (r) => {
    const io = r.io(4);
    const o = r.options(O.StridedSliceOptions);
    if (!io || !o) return;
    const [input, ...operands] = io.inputs;
    const [begin, end, strides] = operands.map((t, k) => r.constantInts(t, ['begin operand', 'end operand', 'strides operand'][k]));
    if (!begin || !end || !strides || !r.rankAtMost(input, 4) || !r.sameQuantization(input, io.output)) return;
    const slice = resolveStridedSlice(r.tensor(input).shape, begin, end, strides, o);
    if (typeof slice === 'string') return r.problem(slice);
    return slicing(r, input, io.output, slice);
  },

  [B.SLICE]: (r) => {
    const io = r.io(3);
    if (!io || !r.options(O.SliceOptions)) return;
    const [input, beginInput, sizeInput] = io.inputs;
    const begin = r.constantInts(beginInput, 'begin operand');
    const sizes = r.constantInts(sizeInput, 'size operand');
    const shape = r.tensor(input).shape;
    if (!begin || !sizes || !r.rankAtMost(input, 5) || !r.sameQuantization(input, io.output)) return;
    if (begin.length !== shape.length || sizes.length !== shape.length) return r.problem(`begin [${begin}] and size [${sizes}] need ${shape.length} entries each`);
    // A size of -1 takes everything from begin to the end of the axis.
    const size = sizes.map((n, d) => (n === -1 ? shape[d] - begin[d] : n));
    const bad = shape.findIndex((n, d) => begin[d] < 0 || size[d] < 1 || begin[d] + size[d] > n);
    if (bad >= 0) return r.problem(`axis ${bad}: ${sizes[bad]} elements from ${begin[bad]} do not lie inside ${shape[bad]}`);
    return slicing(r, input, io.output, { begin, stride: size.map(() => 1), size, shape: size });
  },

  [B.SPLIT]: (r) => {
    const o = r.options(O.SplitOptions);
    const io = o && r.ioMany(2, o.numSplits);
    if (!io) return;
    const [axisInput, input] = io.inputs;
    const shape = r.tensor(input).shape;
    const axis = axisOperand(r, axisInput, shape.length, 'split axis');
    if (axis === undefined) return;
    if (shape[axis] % io.outputs.length !== 0) return r.problem(`axis ${axis} of [${shape}] does not split into ${io.outputs.length} equal parts`);
    return splits(r, input, io.outputs, axis, io.outputs.map(() => shape[axis] / io.outputs.length));
  },

  [B.SPLIT_V]: (r) => {
    const o = r.options(O.SplitVOptions);
    const io = o && r.ioMany(3, o.numSplits);
    if (!io) return;
    const [input, sizesInput, axisInput] = io.inputs;
    const shape = r.tensor(input).shape;
    const axis = axisOperand(r, axisInput, shape.length, 'split axis');
    const sizes = r.constantInts(sizesInput, 'size_splits operand');
    if (axis === undefined || !sizes) return;
    // One size may be -1: whatever the others leave.
    const known = sizes.filter((n) => n !== -1).reduce((a, b) => a + b, 0);
    const resolved = sizes.map((n) => (n === -1 ? shape[axis] - known : n));
    if (sizes.length !== io.outputs.length || sizes.filter((n) => n === -1).length > 1 || resolved.some((n) => n < 1) || resolved.reduce((a, b) => a + b, 0) !== shape[axis]) {
      return r.problem(`size_splits [${sizes}] do not split axis ${axis} (${shape[axis]}) into ${io.outputs.length} non-empty parts`);
    }
    return splits(r, input, io.outputs, axis, resolved);
  },

  [B.UNPACK]: (r) => {
    const o = r.options(O.UnpackOptions);
    const io = o && r.ioMany(1, o.num);
    if (!o || !io) return;
    const [input] = io.inputs;
    const shape = r.tensor(input).shape;
    const axis = r.axis(o.axis, shape.length, 'unpack axis');
    if (axis === undefined) return;
    if (shape[axis] !== io.outputs.length) return r.problem(`axis ${axis} of [${shape}] has ${shape[axis]} entries, the operator has ${io.outputs.length} outputs`);
    return splits(r, input, io.outputs, axis, io.outputs.map(() => 1), true);
  },

  [B.PACK]: (r) => {
    const io = r.io(1, Infinity);
    const o = r.options(O.PackOptions);
    if (!io || !o) return;
    if (o.valuesCount !== io.inputs.length) return r.problem(`values_count ${o.valuesCount} disagrees with its ${io.inputs.length} inputs`);
    const axis = r.axis(o.axis, r.tensor(io.inputs[0]).shape.length + 1, 'pack axis');
    if (axis === undefined || !io.inputs.every((t) => r.sameQuantization(t, io.output, CONSTRAINT.inputsShareQuantization))) return;
    return { kind: 'pack', ...ports(r, io), attrs: { axis } };
  },

  [B.TRANSPOSE]: (r) => {
    const io = r.io(2);
    if (!io || !r.options(O.TransposeOptions)) return;
    const [input, permInput] = io.inputs;
    const perm = r.constantInts(permInput, 'perm operand');
    const rank = r.tensor(input).shape.length;
    if (!perm || !r.rankAtMost(input, 5) || !r.sameQuantization(input, io.output)) return;
    if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) return r.problem(`perm [${perm}] is not a permutation of the ${rank} input axes`);
    return { kind: 'transpose', inputs: [input], outputs: [io.output], origin: r.origin, attrs: { perm } };
  },

  [B.GATHER]: (r) => {
    const io = r.io(2);
    const o = r.options(O.GatherOptions);
    if (!io || !o) return;
    const [input, indicesInput] = io.inputs;
    const shape = r.tensor(input).shape;
    const axis = r.axis(o.axis, shape.length, 'gather axis');
    if (o.batchDims !== 0) return r.problem(`batch_dims ${o.batchDims} is not supported (only 0)`);
    const indices = r.constantInts(indicesInput, 'indices operand');
    if (axis === undefined || !indices || !r.sameQuantization(input, io.output)) return;
    const bad = indices.find((i) => i < 0 || i >= shape[axis]);
    if (bad !== undefined) return r.problem(`index ${bad} is outside axis ${axis} of [${shape}]`);
    return { kind: 'gather', inputs: [input], outputs: [io.output], origin: r.origin, attrs: { axis, indices, indicesShape: [...r.tensor(indicesInput).shape] } };
  },

  [B.EXPAND_DIMS]: (r) => {
    const io = r.io(2);
    if (!io || !r.options(O.ExpandDimsOptions)) return;
    const [input, axisInput] = io.inputs;
    const shape = r.tensor(input).shape;
    const axis = axisOperand(r, axisInput, shape.length + 1, 'expand_dims axis');
    if (axis === undefined || !r.sameQuantization(input, io.output)) return;
    return { kind: 'reshape', inputs: [input], outputs: [io.output], origin: r.origin, attrs: { shape: [...shape.slice(0, axis), 1, ...shape.slice(axis)] } };
  },

  [B.RESIZE_NEAREST_NEIGHBOR]: (r) => resize(r, 'resize_nearest', r.options(O.ResizeNearestNeighborOptions)),
  [B.RESIZE_BILINEAR]: (r) => resize(r, 'resize_bilinear', r.options(O.ResizeBilinearOptions)),
  [B.RSQRT]: (r) => unary(r, 'rsqrt'),
  [B.ELU]: (r) => unary(r, 'elu'),
  // TFLite Micro's EXP runs float32 only.
  [B.EXP]: (r) => floatOnly(r, 'exp', r.options(O.ExpOptions)),
  [B.LOG_SOFTMAX]: (r) => {
    const io = r.io(1);
    if (!io || !r.options(O.LogSoftmaxOptions)) return;
    return { kind: 'log_softmax', ...ports(r, io), attrs: { beta: 1 } };
  },
  [B.BATCH_MATMUL]: (r) => {
    const io = r.io(2);
    const o = r.options(O.BatchMatMulOptions);
    if (!io || !o || !io.inputs.every((t) => r.rankAtMost(t, 5))) return;
    // A float product with int8 operands is TFLite's hybrid kernel, which TFLite Micro does not have.
    if (o.asymmetricQuantizeInputs) return r.violates('asymmetric_quantize_inputs', 'no hybrid (dynamic range) quantization');
    return { kind: 'batch_matmul', ...ports(r, io), attrs: { adjX: o.adjX, adjY: o.adjY } };
  },
  [B.SQUARED_DIFFERENCE]: (r) => {
    const io = r.io(2);
    if (!io || !r.options(O.SquaredDifferenceOptions)) return;
    const shapes = io.inputs.map((t) => r.tensor(t).shape);
    // TFLite Micro broadcasts in 4-D only; inputs of one shape run flat at any rank.
    if (shapes[0].join() !== shapes[1].join() && !io.inputs.every((t) => r.rankAtMost(t, 4))) return;
    return { kind: 'squared_difference', ...ports(r, io), attrs: {} };
  },
  [B.ARG_MAX]: (r) => argMinMax(r, 'arg_max', r.options(O.ArgMaxOptions)),
  [B.ARG_MIN]: (r) => argMinMax(r, 'arg_min', r.options(O.ArgMinOptions)),

  [B.PRELU]: (r) => {
    const io = r.io(2);
    if (!io || !r.rankAtMost(io.inputs[0], 4) || !r.rankAtMost(io.inputs[1], 4)) return;
    return { kind: 'prelu', ...ports(r, io), attrs: {} };
  },

  [B.MAXIMUM]: (r) => maxMin(r, 'maximum'),
  [B.MINIMUM]: (r) => maxMin(r, 'minimum'),

  [B.SPACE_TO_DEPTH]: (r) => blockRearrange(r, 'space_to_depth', r.options(O.SpaceToDepthOptions)),
  [B.DEPTH_TO_SPACE]: (r) => blockRearrange(r, 'depth_to_space', r.options(O.DepthToSpaceOptions)),
};

function convertOperator(r: OperatorReader): Op[] {
  const convert = r.builtinCode === B.CUSTOM ? undefined : CONVERTERS[r.builtinCode];
  if (!convert) return r.unsupported() ?? [];
  const converted = convert(r);
  const ops = converted === undefined ? [] : Array.isArray(converted) ? converted : [converted];
  return ops.every((op) => checkTypes(r, op)) ? ops : [];
}

function floatOnly(r: OperatorReader, kind: 'exp', o: object | undefined): Op | undefined {
  const io = r.io(1);
  if (!io || !o) return;
  const type = r.tensor(io.inputs[0]).type;
  if (type !== TensorType.FLOAT32) return r.violates(`input type ${tensorTypeName(type)}`, 'float32 input');
  return { kind, ...ports(r, io), attrs: {} };
}

/** ARG_MAX and ARG_MIN: one constant axis; TensorFlow Lite Micro writes int32 indices only. */
function argMinMax(r: OperatorReader, kind: 'arg_max' | 'arg_min', o: { outputType: number } | undefined): Op | undefined {
  const io = r.io(2);
  if (!io || !o) return;
  const [input, axisInput] = io.inputs;
  const values = r.constantInts(axisInput, 'axis operand');
  if (!values) return;
  if (values.length !== 1) return r.violates(`axis operand [${values}]`, 'a single axis');
  const axis = r.axis(values[0], r.tensor(input).shape.length, `${kind} axis`);
  if (axis === undefined) return;
  if (o.outputType !== TensorType.INT32) return r.violates(`output type ${tensorTypeName(o.outputType)}`, 'INT32 output');
  return { kind, inputs: [input], outputs: [io.output], origin: r.origin, attrs: { axis } };
}

/** RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR: a constant size, int8 values kept in the input's quantization. */
function resize(r: OperatorReader, kind: 'resize_nearest' | 'resize_bilinear', o: ResizeOptions | undefined): Op | undefined {
  const io = r.io(2);
  if (!io || !o) return;
  const [input, sizeInput] = io.inputs;
  const size = r.constantInts(sizeInput, 'size operand');
  if (!size || !r.sameQuantization(input, io.output)) return;
  if (r.tensor(input).shape.length !== 4 || size.length !== 2 || size.some((n) => n < 1)) {
    return r.violates(`input [${r.tensor(input).shape}] and size [${size}]`, 'a 4-D NHWC input and a size of two positive values');
  }
  if (kind === 'resize_bilinear' && o.alignCorners && o.halfPixelCenters) return r.violates('align_corners and half_pixel_centers both set', 'at most one of align_corners and half_pixel_centers');
  const attrs = { size: pair(size[0], size[1]), alignCorners: o.alignCorners, halfPixelCenters: o.halfPixelCenters };
  return { kind, inputs: [input], outputs: [io.output], origin: r.origin, attrs };
}

const pair = (h: number, w: number): [number, number] => [h, w];

const ports = (r: OperatorReader, io: { inputs: number[]; output: number }) => ({
  inputs: io.inputs,
  outputs: [io.output],
  origin: r.origin,
});

function pool(r: OperatorReader, kind: 'avg_pool2d' | 'max_pool2d'): Op | undefined {
  const io = r.io(1);
  const o = r.options(O.Pool2DOptions);
  if (!io || !o) return;
  const padding = r.padding(o.padding);
  const activation = r.activation(o.activation);
  if (!padding || !activation) return;
  return { kind, ...ports(r, io), attrs: { filter: pair(o.filterH, o.filterW), stride: pair(o.strideH, o.strideW), padding, activation } };
}

function binary(r: OperatorReader, kind: 'add' | 'sub' | 'mul' | 'div', o: { activation: number } | undefined): Op | undefined {
  const io = r.io(2);
  if (!io || !o) return;
  const activation = r.activation(o.activation);
  if (!activation) return;
  return { kind, ...ports(r, io), attrs: { activation } };
}

function unary(r: OperatorReader, kind: 'logistic' | 'tanh' | 'relu' | 'relu6' | 'hard_swish' | 'quantize' | 'dequantize' | 'rsqrt' | 'elu'): Op | undefined {
  const io = r.io(1);
  if (!io) return;
  return { kind, ...ports(r, io), attrs: {} };
}

function pad(r: OperatorReader, io: { inputs: number[]; output: number } | undefined): Op | undefined {
  if (!io) return;
  const [input, paddingsInput] = io.inputs;
  const rank = r.tensor(input).shape.length;
  const values = r.constantInts(paddingsInput, 'paddings operand');
  if (!values || !r.sameQuantization(input, io.output)) return;
  if (values.length !== 2 * rank) return r.problem(`paddings hold ${values.length} values, a ${rank}-D input needs ${2 * rank}`);
  const paddings = Array.from({ length: rank }, (_, d): [number, number] => [values[2 * d], values[2 * d + 1]]);
  return { kind: 'pad', inputs: [input], outputs: [io.output], origin: r.origin, attrs: { paddings } };
}

/** A one-value constant axis operand, normalised against `rank`. */
function axisOperand(r: OperatorReader, t: number, rank: number, what: string): number | undefined {
  const values = r.constantInts(t, `${what} operand`);
  if (!values) return;
  if (values.length !== 1) return r.problem(`the ${what} operand holds ${values.length} values, expected 1`);
  return r.axis(values[0], rank, what);
}

type Slice = StridedSliceOp['attrs'];

function slicing(r: OperatorReader, input: number, output: number, attrs: Slice): StridedSliceOp {
  return { kind: 'strided_slice', inputs: [input], outputs: [output], origin: r.origin, attrs };
}

/** SPLIT, SPLIT_V and UNPACK: consecutive slices of `sizes` along `axis`, one per output; UNPACK drops the axis. */
function splits(r: OperatorReader, input: number, outputs: number[], axis: number, sizes: number[], drop = false): Op[] | undefined {
  const shape = r.tensor(input).shape;
  if (!outputs.every((t) => r.sameQuantization(input, t))) return;
  let start = 0;
  return outputs.map((output, k) => {
    const begin = shape.map((_, d) => (d === axis ? start : 0));
    const size = shape.map((n, d) => (d === axis ? sizes[k] : n));
    start += sizes[k];
    return slicing(r, input, output, { begin, stride: shape.map(() => 1), size, shape: drop ? size.filter((_, d) => d !== axis) : size });
  });
}

/**
 * TensorFlow's strided slice against an input shape: the ellipsis expands to the axes no other
 * entry names, new axes add an output axis of 1, shrunk axes take one element and leave the
 * output, and begin/end are resolved per axis as TensorFlow Lite's reference kernel does (negative
 * indices count from the end, then clamp; masks take the whole axis in the stride's direction;
 * `offset` makes end relative to begin). A message when the slice is empty or the masks conflict.
 */
export function resolveStridedSlice(
  shape: readonly number[],
  begin: number[],
  end: number[],
  strides: number[],
  o: { beginMask: number; endMask: number; ellipsisMask: number; newAxisMask: number; shrinkAxisMask: number; offset: boolean },
): Slice | string {
  const n = begin.length;
  if (end.length !== n || strides.length !== n) return `begin [${begin}], end [${end}] and strides [${strides}] must have the same length`;
  const bit = (mask: number, i: number) => (mask & (1 << i)) !== 0;
  const entries = Array.from({ length: n }, (_, i) => i);
  if (entries.filter((i) => bit(o.ellipsisMask, i)).length > 1) return `ellipsis_mask ${o.ellipsisMask} marks more than one ellipsis`;
  const consumes = (i: number) => !bit(o.ellipsisMask, i) && !bit(o.newAxisMask, i);
  if (entries.filter(consumes).length > shape.length) return `${n} slice entries for a ${shape.length}-D input`;
  const out: Slice = { begin: [], stride: [], size: [], shape: [] };
  const whole = (d: number) => {
    out.begin.push(0);
    out.stride.push(1);
    out.size.push(shape[d]);
    out.shape.push(shape[d]);
  };
  let d = 0;
  for (const i of entries) {
    if (bit(o.ellipsisMask, i)) {
      const named = entries.slice(i + 1).filter(consumes).length;
      while (d < shape.length - named) whole(d++);
    } else if (bit(o.newAxisMask, i)) {
      out.shape.push(1);
    } else {
      const size = shape[d];
      const stride = strides[i];
      if (stride === 0) return `axis ${d}: stride 0`;
      const clamp = (v: number) => (stride > 0 ? Math.min(Math.max(v, 0), size) : Math.min(Math.max(v, -1), size - 1));
      let start = clamp(begin[i] < 0 ? begin[i] + size : begin[i]);
      if (bit(o.beginMask, i)) start = stride > 0 ? 0 : size - 1;
      const shrink = bit(o.shrinkAxisMask, i);
      let stop: number;
      if (shrink) {
        stop = start >= size ? start : start + 1;
      } else {
        const e = o.offset ? end[i] + start : end[i];
        stop = clamp(e < 0 ? e + size : e);
        if (bit(o.endMask, i)) stop = stride > 0 ? size : -1;
      }
      const count = Math.max(0, Math.ceil((stop - start) / stride));
      if (count === 0) return `axis ${d}: the slice from ${begin[i]} to ${end[i]} in steps of ${stride} is empty`;
      out.begin.push(start);
      out.stride.push(stride);
      out.size.push(count);
      if (!shrink) out.shape.push(count);
      d++;
    }
  }
  while (d < shape.length) whole(d++);
  return out;
}

function reduce(r: OperatorReader, kind: 'mean' | 'sum' | 'reduce_max'): Op | undefined {
  const io = r.io(2);
  const o = r.options(O.ReducerOptions);
  if (!io || !o) return;
  const [input, axisInput] = io.inputs;
  const values = r.constantInts(axisInput, 'axis operand');
  const axes = values && r.axes(values, r.tensor(input).shape.length, `${kind} axis`);
  if (!axes || (kind === 'reduce_max' && !r.sameQuantization(input, io.output))) return;
  return { kind, inputs: [input], outputs: [io.output], origin: r.origin, attrs: { axes, keepDims: o.keepDims } };
}

function maxMin(r: OperatorReader, kind: 'maximum' | 'minimum'): Op | undefined {
  const io = r.io(2);
  if (!io || !r.options(O.MaximumMinimumOptions) || !io.inputs.every((t) => r.sameQuantization(t, io.output, CONSTRAINT.inputsShareQuantization))) return;
  return { kind, ...ports(r, io), attrs: {} };
}

function blockRearrange(r: OperatorReader, kind: 'space_to_depth' | 'depth_to_space', o: { blockSize: number } | undefined): Op | undefined {
  const io = r.io(1);
  if (!io || !o) return;
  if (!(o.blockSize >= 1)) return r.problem(`block_size ${o.blockSize} must be positive`);
  if (r.tensor(io.inputs[0]).shape.length !== 4) return r.problem(`input [${r.tensor(io.inputs[0]).shape}] must be 4-D NHWC`);
  if (!r.sameQuantization(io.inputs[0], io.output)) return;
  return { kind, ...ports(r, io), attrs: { blockSize: o.blockSize } };
}

/** TFLite's LSTM operand positions: those TFLite Micro requires, those it refuses, and the two states. */
const LSTM_REQUIRED = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15];
const LSTM_VARIANTS: [number[], string][] = [
  [[9, 10, 11], 'peephole connections'],
  [[16, 17], 'a projection layer'],
  [[20, 21, 22, 23], 'layer normalization'],
];
const LSTM_HIDDEN_STATE = 18;
const LSTM_CELL_STATE = 19;

/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM as TFLite Micro's reference kernel accepts it: 24 operands, all four
 * gates (no CIFG), no peepholes, projection or layer norm, tanh on the cell gate, and the hidden
 * and cell states as variable tensors, which become the op's own state rather than graph tensors.
 */
function lstm(r: OperatorReader): Op | undefined {
  const { inputs, outputs } = r.operator;
  const o = r.options(O.UnidirectionalSequenceLSTMOptions);
  if (!o) return;
  if (inputs.length !== 24 || outputs.length !== 1) return r.problem(`has ${inputs.length} inputs and ${outputs.length} outputs, expected 24 and 1`);
  const missing = LSTM_REQUIRED.filter((i) => inputs[i] === -1);
  if (missing.length) return r.problem(`inputs [${missing}] are missing (TFLite Micro needs all four gates: no CIFG)`);
  for (const [positions, what] of LSTM_VARIANTS) {
    if (positions.some((i) => inputs[i] !== -1)) return r.problem(`has ${what}, which TFLite Micro's LSTM does not run`);
  }
  if (o.activation !== ActivationFunctionType.TANH) return r.problem(`cell activation ${o.activation} is not supported, only TANH`);
  if (o.diagonalRecurrentTensors) return r.problem('diagonal recurrent weights are not supported');
  if (!(o.cellClip >= 0)) return r.problem(`cell_clip ${o.cellClip} must be 0 (none) or positive`);
  if (inputs[LSTM_HIDDEN_STATE] === -1 || inputs[LSTM_CELL_STATE] === -1) return r.problem('the hidden and cell states (inputs 18 and 19) are missing');
  const hidden = r.tensor(inputs[LSTM_HIDDEN_STATE]);
  const cell = r.tensor(inputs[LSTM_CELL_STATE]);
  if (!hidden.isVariable || !cell.isVariable) return r.problem('the hidden and cell states (inputs 18 and 19) must be variable tensors');
  const input = r.tensor(inputs[0]).shape;
  const units = r.tensor(inputs[2]).shape[0];
  const batch = o.timeMajor ? input[1] : input[0];
  for (const state of [hidden, cell]) {
    if (numel(state.shape) !== batch * units) return r.problem(`state '${state.name}' [${state.shape}] must hold ${batch} x ${units} values`);
  }
  const op: Op = {
    kind: 'unidirectional_sequence_lstm',
    inputs: LSTM_REQUIRED.map((i) => inputs[i]),
    outputs: [outputs[0]],
    origin: r.origin,
    attrs: { cellClip: o.cellClip, timeMajor: o.timeMajor },
  };
  const type = r.tensor(inputs[0]).type;
  if (type !== TensorType.INT8 && type !== TensorType.INT16) return op;
  if (hidden.type !== type || cell.type !== TensorType.INT16) {
    return r.problem(`an ${tensorTypeName(type)} LSTM needs an ${tensorTypeName(type)} hidden state and an INT16 cell state, got ${tensorTypeName(hidden.type)} and ${tensorTypeName(cell.type)}`);
  }
  const hq = hidden.quantization;
  const cq = cell.quantization;
  if (!hq || hq.scale.length !== 1 || !cq || cq.scale.length !== 1) return r.problem('the hidden and cell states need per-tensor quantization');
  return { ...op, attrs: { ...op.attrs, state: { hiddenScale: hq.scale[0], hiddenZeroPoint: hq.zeroPoint[0], cellScale: cq.scale[0] } } };
}

/**
 * SVDF as TFLite Micro's integer kernel runs it: five operands with the bias present and the
 * activation state a variable tensor [batch, filters x memory], which becomes the op's own state.
 */
function svdf(r: OperatorReader): Op | undefined {
  const { inputs, outputs } = r.operator;
  const o = r.options(O.SVDFOptions);
  if (!o) return;
  if (inputs.length !== 5 || outputs.length !== 1) return r.problem(`has ${inputs.length} inputs and ${outputs.length} outputs, expected 5 and 1`);
  if (inputs.slice(0, 3).includes(-1)) return r.problem('the input and both weights (inputs 0 to 2) are required');
  if (inputs[3] === -1) return r.violates('the bias (input 3) is missing', CONSTRAINT.svdfBias);
  if (inputs[4] === -1 || !r.tensor(inputs[4]).isVariable) return r.problem('the activation state (input 4) must be a variable tensor');
  if (r.tensor(inputs[0]).type !== TensorType.INT8) return r.violates(`input is ${tensorTypeName(r.tensor(inputs[0]).type)}`, 'int8 tensors (float32 SVDF is not supported)');
  if (o.asymmetricQuantizeInputs) return r.problem('asymmetric_quantize_inputs (hybrid SVDF) is not supported');
  const state = r.tensor(inputs[4]);
  const time = r.tensor(inputs[2]);
  const batch = r.tensor(inputs[0]).shape[0];
  if (!(o.rank >= 1)) return r.problem(`rank ${o.rank} must be positive`);
  if (numel(state.shape) !== batch * numel(time.shape)) return r.problem(`state '${state.name}' [${state.shape}] must hold ${batch} x [${time.shape}] values`);
  if (state.type !== time.type || (state.type !== TensorType.INT16 && state.type !== TensorType.INT8)) {
    return r.problem(`the time weights and the state must both be INT16 or both INT8, got ${tensorTypeName(time.type)} and ${tensorTypeName(state.type)}`);
  }
  const q = state.quantization;
  if (!q || q.scale.length !== 1) return r.problem('the activation state needs per-tensor quantization');
  const dtype = state.type === TensorType.INT16 ? 'int16' : 'int8';
  return { kind: 'svdf', inputs: inputs.slice(0, 4), outputs: [outputs[0]], origin: r.origin, attrs: { rank: o.rank, state: { dtype, scale: q.scale[0], zeroPoint: q.zeroPoint[0] } } };
}

/**
 * PADV2's pad value is stored raw in the input's type. The IR pads with the zero point (or 0.0),
 * so only that value is accepted.
 */
function padValue(r: OperatorReader, t: number, output: number): true | undefined {
  const tensor = r.tensor(t);
  const data = r.model.buffers[tensor.buffer].data;
  const dtype = DTYPES[tensor.type];
  if (data.length === 0 || !dtype || dtype === 'int64') return r.problem(`the pad value (${r.describe(t)}) must be a constant int8 or float32 scalar`);
  const values = viewBytes(dtype, data.slice());
  if (values.length !== 1) return r.problem(`the pad value (${r.describe(t)}) must hold one value, it holds ${values.length}`);
  const value = Number(values[0]);
  const expected = tensor.type === TensorType.FLOAT32 ? 0 : (r.tensor(output).quantization?.zeroPoint[0] ?? 0);
  if (value !== expected) return r.problem(`padding with ${value} is not supported (only with ${expected}, the zero point)`);
  return true;
}

/** TFLite's depth multiplier must agree with the filter/input channel ratio, which is what the IR keeps. */
function depthMultiplierOf(r: OperatorReader, input: number, filter: number, declared: number): number | undefined {
  const inputShape = r.tensor(input).shape;
  const filterShape = r.tensor(filter).shape;
  const channels = inputShape.length === 4 ? inputShape[3] : 0;
  const filterChannels = filterShape.length === 4 ? filterShape[3] : 0;
  if (channels === 0 || filterChannels % channels !== 0) return declared;
  const ratio = filterChannels / channels;
  if (declared !== 0 && declared !== ratio) {
    return r.problem(`depth_multiplier ${declared} disagrees with filter [${filterShape}] over input [${inputShape}] (${ratio})`);
  }
  return ratio;
}

const ACTIVATION_TYPES: readonly number[] = [TensorType.INT8, TensorType.FLOAT32];

/** What TFLite Micro's QUANTIZE converts, input type -> output types, among the types edgec runs. */
const QUANTIZE_PAIRS: Partial<Record<number, number[]>> = {
  [TensorType.FLOAT32]: [TensorType.INT8, TensorType.INT16],
  [TensorType.INT8]: [TensorType.INT8, TensorType.UINT8, TensorType.INT16],
  [TensorType.UINT8]: [TensorType.INT8],
  [TensorType.INT16]: [TensorType.INT8, TensorType.INT16, TensorType.INT32],
};

/** DEQUANTIZE of a constant is folded on import (any quantized integer, or float16); at run time it takes 8-bit inputs. */
const DEQUANTIZE_CONSTANT_TYPES: readonly number[] = [TensorType.INT8, TensorType.UINT8, TensorType.INT16, TensorType.FLOAT16];
const DEQUANTIZE_TYPES: readonly number[] = [TensorType.INT8, TensorType.UINT8, TensorType.INT16];

/** Whether every operand has a type edgec supports in its position; reports each one that does not. */
function checkTypes(r: OperatorReader, op: Op): boolean {
  const typeOf = (t: number) => r.tensor(t).type;
  const isConstant = (t: number) => r.model.buffers[r.tensor(t).buffer].data.length > 0;
  const name = (type: number) => tensorTypeName(type);
  let ok = true;
  const expect = (t: number, role: string, allowed: readonly number[], note = '') => {
    if (allowed.includes(typeOf(t))) return;
    ok = false;
    // A float16 constant read directly is a model edgec cannot take as it is: say what it needs.
    const hint = typeOf(t) === TensorType.FLOAT16 && isConstant(t) ? ' (float16 constants are accepted only as the input of a DEQUANTIZE operator)' : note;
    r.problem(`${role} (${r.describe(t)}) is ${name(typeOf(t))}, expected ${allowed.map(name).join(' or ')}${hint}`);
  };
  // A float operator of a dynamic-range model reads its weights as int8 constants with scales;
  // the importer dequantizes them (./float-graph.ts). Anything else it reads must be float32.
  const expectFloat = (t: number, role: string) => {
    const q = r.tensor(t).quantization;
    if (typeOf(t) === TensorType.INT8 && isConstant(t) && q && q.scale.length > 0) return;
    const note = typeOf(t) === TensorType.INT8 ? ' (an int8 operand of a float operator must be a constant with quantization parameters, as dynamic-range models store weights)' : '';
    expect(t, role, [TensorType.FLOAT32], note);
  };
  const [input] = op.inputs;
  const output = op.outputs[0];
  switch (op.kind) {
    case 'quantize':
      expect(input, 'input', Object.keys(QUANTIZE_PAIRS).map(Number));
      if (ok) expect(output, 'output', QUANTIZE_PAIRS[typeOf(input)]!);
      break;
    case 'dequantize':
      if (isConstant(input)) expect(input, 'input', DEQUANTIZE_CONSTANT_TYPES);
      else expect(input, 'input', DEQUANTIZE_TYPES, ' (float16 is dequantized only from constants)');
      expect(output, 'output', [TensorType.FLOAT32]);
      break;
    case 'conv2d':
    case 'transpose_conv2d':
    case 'depthwise_conv2d':
    case 'fully_connected': {
      expect(input, 'input', [...ACTIVATION_TYPES, TensorType.INT16]);
      if (!ok) break;
      const type = typeOf(input);
      if (type === TensorType.FLOAT32) {
        expectFloat(op.inputs[1], 'weights');
        if (op.inputs.length > 2) expectFloat(op.inputs[2], 'bias');
      } else if (type === TensorType.INT16) {
        // 16x8: int8 weights; TFLite Micro's depthwise kernel reads an int64 bias only.
        expect(op.inputs[1], 'weights', [TensorType.INT8]);
        if (op.inputs.length > 2) expect(op.inputs[2], 'bias', op.kind === 'depthwise_conv2d' ? [TensorType.INT64] : [TensorType.INT64, TensorType.INT32]);
        for (const t of [input, output]) {
          const zeroPoint = r.tensor(t).quantization?.zeroPoint[0] ?? 0;
          if (zeroPoint !== 0) ok = !!r.violates(`${t === input ? 'input' : 'output'} (${r.describe(t)}) has zero point ${zeroPoint}`, CONSTRAINT.int16ZeroPoint);
        }
      } else {
        expect(op.inputs[1], 'weights', [type]);
        if (op.inputs.length > 2) expect(op.inputs[2], 'bias', [TensorType.INT32]);
      }
      expect(output, 'output', [type]);
      break;
    }
    case 'softmax':
      expect(input, 'input', ACTIVATION_TYPES);
      if (ok) expect(output, 'output', typeOf(input) === TensorType.INT8 ? [TensorType.INT8, TensorType.INT16] : [typeOf(input)]);
      break;
    case 'svdf':
      expect(op.inputs[1], 'feature weights', [TensorType.INT8]);
      expect(op.inputs[3], 'bias', [TensorType.INT32]);
      expect(output, 'output', [TensorType.INT8]);
      // TFLite Micro's SVDF keeps one multiplier per product: per-channel scales would be ignored.
      for (const [t, what] of [[op.inputs[1], 'feature'], [op.inputs[2], 'time']] as const) {
        if ((r.tensor(t).quantization?.scale.length ?? 0) !== 1) ok = !!r.problem(`${what} weights (${r.describe(t)}) must be quantized per tensor`);
      }
      break;
    case 'arg_max':
    case 'arg_min':
      expect(input, 'input', ACTIVATION_TYPES);
      expect(output, 'output', [TensorType.INT32]);
      break;
    case 'unidirectional_sequence_lstm': {
      expect(input, 'input', [TensorType.INT8, TensorType.INT16, TensorType.FLOAT32]);
      if (!ok) break;
      const type = typeOf(input);
      const int8 = type !== TensorType.FLOAT32;
      op.inputs.slice(1, 9).forEach((t, i) => {
        if (!int8) return expectFloat(t, `weights ${i + 1}`);
        expect(t, `weights ${i + 1}`, [TensorType.INT8]);
        // TFLite Micro's LSTM keeps one multiplier per matrix: per-channel scales would be ignored.
        if ((r.tensor(t).quantization?.scale.length ?? 0) > 1) ok = !!r.problem(`weights ${i + 1} (${r.describe(t)}) must be quantized per tensor`);
      });
      const biasType = type === TensorType.INT16 ? TensorType.INT64 : TensorType.INT32;
      op.inputs.slice(9).forEach((t, i) => (int8 ? expect(t, `bias ${i + 12}`, [biasType]) : expectFloat(t, `bias ${i + 12}`)));
      expect(output, 'output', [type]);
      break;
    }
    default:
      if (typeOf(output) === TensorType.FLOAT32) {
        op.inputs.forEach((t, i) => expectFloat(t, i === 0 ? 'input' : `input ${i}`));
        break;
      }
      // Kinds with a 16x8 kernel (ADD, pooling; RESHAPE, SQUEEZE and EXPAND_DIMS, which move bytes) also
      // run int16 tensors, as does BATCH_MATMUL (int16 operands; the quantizer does not make it).
      expect(input, 'input', opTraits(op).int16Kernel || op.kind === 'batch_matmul' ? [...ACTIVATION_TYPES, TensorType.INT16] : ACTIVATION_TYPES);
      if (!ok) break;
      op.inputs.slice(1).forEach((t, i) => expect(t, `input ${i + 1}`, [typeOf(input)]));
      expect(output, 'output', [typeOf(input)]);
  }
  return ok;
}
