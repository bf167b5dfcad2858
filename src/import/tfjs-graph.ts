// TF.js graph models ('graph-model' format: modelTopology is a TensorFlow GraphDef in JSON, as
// tensorflowjs_converter writes it, Const values in the weight shards under the node's name) ->
// Graph. The nodes the outputs depend on are mapped to IR ops; every node edgec cannot map is
// reported by name and op, all in one error.

import type { IAttrValue, INodeDef } from '@tensorflow/tfjs-converter';
import { numel } from '../ir/dtype.ts';
import { EdgecError } from '../ir/errors.ts';
import { resolveReshape } from '../ir/shape.ts';
import type { Activation, Graph, Padding } from '../ir/types.ts';
import { type ActivationKind, GraphBuilder, importFailure } from './tfjs-builder.ts';
import { type Weights, batchNormAffine, hwcmToDepthwise, hwioToOhwi, hwoiToOhwi, transpose2d } from './tfjs-layout.ts';
import { resolveStridedSlice } from './tflite.ts';
import type { WeightValue } from './tfjs-weights.ts';

/** What a node computed: an IR activation tensor, or a constant kept as values until an op reads it. */
type Value = { tensor: number } | { constant: WeightValue };

const FLOAT_TYPES = new Set<unknown>(['DT_FLOAT', 1]);

/** A tensor name 'node', 'node:0' or '^node' (a control dependency) split into node and output. */
function parseInput(input: string): { node: string; output: number; control: boolean } {
  const control = input.startsWith('^');
  const [node, output] = (control ? input.slice(1) : input).split(':');
  return { node, output: output === undefined ? 0 : Number(output), control };
}

const dataInputs = (node: INodeDef) => (node.input ?? []).map(parseInput).filter((i) => !i.control);

/** GraphDef JSON stores strings as base64 of their bytes. */
const decodeString = (s: unknown): string => (Array.isArray(s) ? String.fromCharCode(...s) : Buffer.from(String(s), 'base64').toString('utf8'));

/** A node's attributes, decoded from the GraphDef JSON. */
class NodeAttrs {
  readonly name: string;
  readonly origin: string;
  private readonly attrs: Record<string, IAttrValue>;

  constructor(readonly node: INodeDef) {
    this.name = String(node.name);
    this.origin = `node '${this.name}' (${node.op})`;
    this.attrs = node.attr ?? {};
  }

  fail(message: string): never {
    throw new EdgecError('model', `${this.origin}: ${message}`);
  }

  str(key: string, fallback: string): string {
    const a = this.attrs[key];
    return a?.s == null ? fallback : decodeString(a.s);
  }

  ints(key: string, fallback: number[]): number[] {
    const list = this.attrs[key]?.list?.i;
    return list ? list.map(Number) : fallback;
  }

  float(key: string, fallback: number): number {
    const f = this.attrs[key]?.f;
    return f == null ? fallback : Number(f);
  }

  int(key: string, fallback: number): number {
    const i = this.attrs[key]?.i;
    return i == null ? fallback : Number(i);
  }

  bool(key: string): boolean {
    return this.attrs[key]?.b === true;
  }

  strings(key: string): string[] {
    return (this.attrs[key]?.list?.s ?? []).map(decodeString);
  }
}

/** One node being mapped: its attributes, its inputs as IR tensors or constants, and the builder. */
class NodeReader extends NodeAttrs {
  constructor(
    readonly b: GraphBuilder,
    node: INodeDef,
    private readonly values: Map<string, Value>,
  ) {
    super(node);
  }

  /** Input `position` as the producing node left it. */
  input(position: number): Value {
    const input = dataInputs(this.node)[position];
    if (!input) this.fail(`has no input ${position}`);
    const value = this.values.get(input.node);
    if (!value) this.fail(`input '${input.node}' is not computed`);
    return value;
  }

  inputCount(): number {
    return dataInputs(this.node).length;
  }

  /** Input `position` as an IR tensor; a constant becomes an IR constant tensor. */
  tensor(position: number): number {
    const value = this.input(position);
    if ('tensor' in value) return value.tensor;
    if (!(value.constant.data instanceof Float32Array)) this.fail(`input ${position} must be float32`);
    return this.b.constant(dataInputs(this.node)[position].node, value.constant.shape, value.constant.data);
  }

  /** Input `position`, which must be a constant (weights, shapes, axes). */
  constant(position: number): WeightValue {
    const value = this.input(position);
    if (!('constant' in value)) this.fail(`input ${position} ('${dataInputs(this.node)[position].node}') must be a constant: edgec needs weights and shape operands fixed in the model`);
    return value.constant;
  }

  floats(position: number): Weights {
    const c = this.constant(position);
    if (!(c.data instanceof Float32Array)) this.fail(`input ${position} must be float32`);
    return { shape: c.shape, data: c.data };
  }

  /** Spatial [height, width] of an NHWC attribute such as strides [1, h, w, 1]. */
  spatial(key: string): [number, number] {
    const v = this.ints(key, [1, 1, 1, 1]);
    if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) this.fail(`'${key}' [${v}] must be [1, height, width, 1]`);
    return [v[1], v[2]];
  }

  /** The input, padded first if the node gives explicit paddings, and the padding the op itself applies. */
  paddedInput(): { x: number; padding: Padding } {
    const x = this.tensor(0);
    const padding = this.str('padding', 'VALID');
    if (padding === 'SAME' || padding === 'VALID') return { x, padding: padding === 'SAME' ? 'same' : 'valid' };
    if (padding !== 'EXPLICIT') this.fail(`padding '${padding}' is not supported (SAME, VALID, EXPLICIT)`);
    const p = this.ints('explicit_paddings', []);
    if (p.length !== 8) this.fail(`explicit_paddings [${p}] must hold 8 values`);
    const paddings: [number, number][] = [0, 2, 4, 6].map((i) => [p[i], p[i + 1]]);
    return { x: this.b.op({ kind: 'pad', inputs: [x], attrs: { paddings }, origin: this.origin }, `${this.name}/pad`), padding: 'valid' };
  }

  /** An axis operand (may be negative) as a non-negative axis of a `rank`-D tensor. */
  axes(position: number, rank: number): number[] {
    const axes = [...this.constant(position).data].map((a) => (a < 0 ? a + rank : a));
    if (axes.some((a) => a < 0 || a >= rank)) this.fail(`axes [${[...this.constant(position).data]}] are outside a ${rank}-D input`);
    return [...new Set(axes)].sort((a, b) => a - b);
  }
}

type NodeBuild = (r: NodeReader) => Value;

const UNARY: Record<string, ActivationKind> = { Relu: 'relu', Relu6: 'relu6', Sigmoid: 'logistic', Tanh: 'tanh', Softmax: 'softmax', Elu: 'elu' };

/** What may follow the main op in a _Fused* node's fused_ops. */
const FUSED_ACTIVATIONS: Record<string, ActivationKind | 'leaky_relu' | 'prelu'> = { Relu: 'relu', Relu6: 'relu6', Sigmoid: 'logistic', Tanh: 'tanh', Elu: 'elu', LeakyRelu: 'leaky_relu', Prelu: 'prelu' };

function applyActivation(r: NodeReader, kind: ActivationKind | 'leaky_relu' | 'prelu', x: number, name: string): number {
  // A fused Prelu's alpha is the node's second argument, after the bias.
  if (kind === 'prelu') return r.b.op({ kind, inputs: [x, r.tensor(3)], attrs: {}, origin: r.origin }, name);
  if (kind === 'leaky_relu') return r.b.op({ kind, inputs: [x], attrs: { alpha: r.float('leakyrelu_alpha', 0.2) }, origin: r.origin }, name);
  return r.b.activate(kind, x, name, r.origin);
}

/**
 * A _Fused* node as tfjs runs them: `build` makes the main op with the bias (args[0]) from
 * fused_ops' BiasAdd; an activation may follow.
 */
function fused(r: NodeReader, build: (bias: number[], name: string) => number): Value {
  const activation = FUSED_ACTIVATIONS[r.strings('fused_ops')[1]];
  if (!activation) return { tensor: build([r.tensor(2)], r.name) };
  return { tensor: applyActivation(r, activation, build([r.tensor(2)], `${r.name}/linear`), r.name) };
}

function conv(r: NodeReader, depthwise: boolean, bias: number[], name: string): number {
  const { x, padding } = r.paddedInput();
  const filter = r.floats(1);
  const stride = r.spatial('strides');
  const dilation = r.spatial('dilations');
  const none: Activation = 'none';
  if (!depthwise) {
    const w = hwioToOhwi(filter);
    return r.b.op({ kind: 'conv2d', inputs: [x, r.b.constant(`${r.name}/filter`, w.shape, w.data), ...bias], attrs: { stride, dilation, padding, activation: none }, origin: r.origin }, name);
  }
  const w = hwcmToDepthwise(filter);
  const attrs = { stride, dilation, padding, depthMultiplier: filter.shape[3], activation: none };
  return r.b.op({ kind: 'depthwise_conv2d', inputs: [x, r.b.constant(`${r.name}/filter`, w.shape, w.data), ...bias], attrs, origin: r.origin }, name);
}

/**
 * MatMul with constant weights and an untransposed 2-D input is a dense layer (fully connected);
 * any other, and BatchMatMul / BatchMatMulV2 (adj_x, adj_y), a batch matrix product.
 */
function matMul(r: NodeReader, bias: number[], name: string): number {
  const x = r.tensor(0);
  if (r.bool('transpose_a') || !('constant' in r.input(1)) || r.b.shape(x).length !== 2) {
    const product = batchMatMul(r, x, r.bool('transpose_a'), r.bool('transpose_b'), bias.length > 0 ? `${name}/matmul` : name);
    return bias.length > 0 ? r.b.op({ kind: 'add', inputs: [product, ...bias], attrs: { activation: 'none' }, origin: r.origin }, name) : product;
  }
  const b = r.floats(1);
  const w = r.bool('transpose_b') ? b : transpose2d(b);
  return r.b.op({ kind: 'fully_connected', inputs: [x, r.b.constant(`${r.name}/weights`, w.shape, w.data), ...bias], attrs: { activation: 'none', keepNumDims: false }, origin: r.origin }, name);
}

function batchMatMul(r: NodeReader, x: number, adjX: boolean, adjY: boolean, name: string): number {
  return r.b.op({ kind: 'batch_matmul', inputs: [x, r.tensor(1)], attrs: { adjX, adjY }, origin: r.origin }, name);
}

/**
 * Conv2DBackpropInput (input sizes, filter HW(out)(in) of the convolution it inverts, input): a
 * transpose conv with the filter as OHWI, padding as the convolution from the output would have.
 */
const transposeConv: NodeBuild = (r) => {
  const sizes = [...r.constant(0).data];
  const filter = hwoiToOhwi(r.floats(1));
  const padding = r.str('padding', 'VALID');
  if (padding !== 'SAME' && padding !== 'VALID') r.fail(`padding '${padding}' is not supported (SAME, VALID)`);
  if (r.spatial('dilations').some((d) => d !== 1)) r.fail('dilations must be 1');
  const weights = r.b.constant(`${r.name}/filter`, filter.shape, filter.data);
  const attrs = { size: [sizes[1], sizes[2]] as [number, number], stride: r.spatial('strides'), padding: padding === 'SAME' ? ('same' as const) : ('valid' as const), activation: 'none' as const };
  return { tensor: r.b.op({ kind: 'transpose_conv2d', inputs: [r.tensor(2), weights], attrs, origin: r.origin }, r.name) };
};

/** ArgMax and ArgMin: int32 indices along a constant axis. */
const argMinMax = (kind: 'arg_max' | 'arg_min'): NodeBuild => (r) => {
  const x = r.tensor(0);
  const [axis] = r.axes(1, r.b.shape(x).length);
  const out = r.b.op({ kind, inputs: [x], attrs: { axis }, origin: r.origin }, r.name);
  r.b.tensors[out].dtype = 'int32';
  return { tensor: out };
};

const resize = (kind: 'resize_nearest' | 'resize_bilinear'): NodeBuild => (r) => {
  const [h, w] = [...r.constant(1).data];
  const attrs = { size: [h, w] as [number, number], alignCorners: r.bool('align_corners'), halfPixelCenters: r.bool('half_pixel_centers') };
  return { tensor: r.b.op({ kind, inputs: [r.tensor(0)], attrs, origin: r.origin }, r.name) };
};

const unary = (kind: 'rsqrt' | 'exp'): NodeBuild => (r) => ({ tensor: r.b.op({ kind, inputs: [r.tensor(0)], attrs: {}, origin: r.origin }, r.name) });

const binary = (kind: 'add' | 'sub' | 'mul' | 'div'): NodeBuild => (r) => ({
  tensor: r.b.op({ kind, inputs: [r.tensor(0), r.tensor(1)], attrs: { activation: 'none' }, origin: r.origin }, r.name),
});

const pool = (kind: 'avg_pool2d' | 'max_pool2d'): NodeBuild => (r) => {
  const { x, padding } = r.paddedInput();
  return { tensor: r.b.op({ kind, inputs: [x], attrs: { filter: r.spatial('ksize'), stride: r.spatial('strides'), padding, activation: 'none' }, origin: r.origin }, r.name) };
};

const identity: NodeBuild = (r) => {
  const value = r.input(0);
  return 'constant' in value ? value : { tensor: r.b.identity(value.tensor, r.name, r.origin) };
};

const batchNorm: NodeBuild = (r) => {
  if (r.bool('is_training')) r.fail('is_training is true; export the model for inference');
  const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => r.floats(i).data);
  const affine = batchNormAffine(mean, variance, r.float('epsilon', 1e-3), scale, offset);
  return { tensor: r.b.scaleAndShift(r.tensor(0), affine.scale, affine.offset, r.name, r.origin) };
};

function reduce(r: NodeReader, kind: 'sum' | 'reduce_max'): Value {
  const x = r.tensor(0);
  return { tensor: r.b.op({ kind, inputs: [x], attrs: { axes: r.axes(1, r.b.shape(x).length), keepDims: r.bool('keep_dims') }, origin: r.origin }, r.name) };
}

const NODES: Record<string, NodeBuild> = {
  Conv2D: (r) => ({ tensor: conv(r, false, [], r.name) }),
  DepthwiseConv2dNative: (r) => ({ tensor: conv(r, true, [], r.name) }),
  _FusedConv2D: (r) => fused(r, (bias, name) => conv(r, false, bias, name)),
  FusedDepthwiseConv2dNative: (r) => fused(r, (bias, name) => conv(r, true, bias, name)),
  MatMul: (r) => ({ tensor: matMul(r, [], r.name) }),
  _FusedMatMul: (r) => fused(r, (bias, name) => matMul(r, bias, name)),
  BatchMatMul: (r) => ({ tensor: batchMatMul(r, r.tensor(0), r.bool('adj_x'), r.bool('adj_y'), r.name) }),
  BatchMatMulV2: (r) => ({ tensor: batchMatMul(r, r.tensor(0), r.bool('adj_x'), r.bool('adj_y'), r.name) }),
  BiasAdd: binary('add'),
  Add: binary('add'),
  AddV2: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  RealDiv: binary('div'),
  ...Object.fromEntries(Object.entries(UNARY).map(([op, kind]) => [op, (r: NodeReader) => ({ tensor: r.b.activate(kind, r.tensor(0), r.name, r.origin) })])),
  LeakyRelu: (r) => ({ tensor: r.b.op({ kind: 'leaky_relu', inputs: [r.tensor(0)], attrs: { alpha: r.float('alpha', 0.2) }, origin: r.origin }, r.name) }),
  MaxPool: pool('max_pool2d'),
  AvgPool: pool('avg_pool2d'),
  Mean: (r) => {
    const x = r.tensor(0);
    return { tensor: r.b.op({ kind: 'mean', inputs: [x], attrs: { axes: r.axes(1, r.b.shape(x).length), keepDims: r.bool('keep_dims') }, origin: r.origin }, r.name) };
  },
  Reshape: (r) => {
    const x = r.tensor(0);
    const target = [...r.constant(1).data];
    const shape = resolveReshape(target, numel(r.b.shape(x))) ?? r.fail(`cannot reshape [${r.b.shape(x)}] to [${target}]`);
    return { tensor: r.b.op({ kind: 'reshape', inputs: [x], attrs: { shape }, origin: r.origin }, r.name) };
  },
  Squeeze: (r) => {
    const x = r.tensor(0);
    const rank = r.b.shape(x).length;
    const axes = r.ints('squeeze_dims', []).map((a) => (a < 0 ? a + rank : a));
    return { tensor: r.b.op({ kind: 'squeeze', inputs: [x], attrs: { axes }, origin: r.origin }, r.name) };
  },
  Pad: (r) => {
    const p = [...r.constant(1).data];
    const paddings = Array.from({ length: p.length / 2 }, (_, i) => [p[2 * i], p[2 * i + 1]] as [number, number]);
    return { tensor: r.b.op({ kind: 'pad', inputs: [r.tensor(0)], attrs: { paddings }, origin: r.origin }, r.name) };
  },
  PadV2: (r) => {
    if (r.constant(2).data.some((v) => v !== 0)) r.fail('only padding with zeros is supported');
    return NODES.Pad(r);
  },
  ConcatV2: (r) => {
    const count = r.inputCount() - 1;
    const inputs = Array.from({ length: count }, (_, i) => r.tensor(i));
    const [axis] = r.axes(count, r.b.shape(inputs[0]).length);
    return { tensor: r.b.op({ kind: 'concatenation', inputs, attrs: { axis, activation: 'none' }, origin: r.origin }, r.name) };
  },
  Maximum: (r) => ({ tensor: r.b.op({ kind: 'maximum', inputs: [r.tensor(0), r.tensor(1)], attrs: {}, origin: r.origin }, r.name) }),
  Minimum: (r) => ({ tensor: r.b.op({ kind: 'minimum', inputs: [r.tensor(0), r.tensor(1)], attrs: {}, origin: r.origin }, r.name) }),
  Prelu: (r) => ({ tensor: r.b.op({ kind: 'prelu', inputs: [r.tensor(0), r.tensor(1)], attrs: {}, origin: r.origin }, r.name) }),
  Square: (r) => {
    const x = r.tensor(0);
    return { tensor: r.b.op({ kind: 'mul', inputs: [x, x], attrs: { activation: 'none' }, origin: r.origin }, r.name) };
  },
  // A chain of additions, in input order, as tfjs sums them.
  AddN: (r) => {
    let sum = r.tensor(0);
    for (let i = 1; i < r.inputCount(); i++) {
      sum = r.b.op({ kind: 'add', inputs: [sum, r.tensor(i)], attrs: { activation: 'none' }, origin: r.origin }, i === r.inputCount() - 1 ? r.name : `${r.name}/${i}`);
    }
    return { tensor: sum };
  },
  Sum: (r) => reduce(r, 'sum'),
  Max: (r) => reduce(r, 'reduce_max'),
  Transpose: (r) => ({ tensor: r.b.op({ kind: 'transpose', inputs: [r.tensor(0)], attrs: { perm: [...r.constant(1).data] }, origin: r.origin }, r.name) }),
  ExpandDims: (r) => {
    const x = r.tensor(0);
    const shape = r.b.shape(x);
    const [axis] = r.axes(1, shape.length + 1);
    return { tensor: r.b.op({ kind: 'reshape', inputs: [x], attrs: { shape: [...shape.slice(0, axis), 1, ...shape.slice(axis)] }, origin: r.origin }, r.name) };
  },
  Pack: (r) => {
    const inputs = Array.from({ length: r.inputCount() }, (_, i) => r.tensor(i));
    const rank = r.b.shape(inputs[0]).length + 1;
    const axis = r.int('axis', 0);
    return { tensor: r.b.op({ kind: 'pack', inputs, attrs: { axis: axis < 0 ? axis + rank : axis }, origin: r.origin }, r.name) };
  },
  GatherV2: (r) => {
    const x = r.tensor(0);
    if (r.int('batch_dims', 0) !== 0) r.fail('batch_dims must be 0');
    const indices = r.constant(1);
    const [axis] = r.axes(2, r.b.shape(x).length);
    return { tensor: r.b.op({ kind: 'gather', inputs: [x], attrs: { axis, indices: [...indices.data], indicesShape: [...indices.shape] }, origin: r.origin }, r.name) };
  },
  StridedSlice: (r) => {
    const x = r.tensor(0);
    const [begin, end, strides] = [1, 2, 3].map((i) => [...r.constant(i).data]);
    const masks = {
      beginMask: r.int('begin_mask', 0),
      endMask: r.int('end_mask', 0),
      ellipsisMask: r.int('ellipsis_mask', 0),
      newAxisMask: r.int('new_axis_mask', 0),
      shrinkAxisMask: r.int('shrink_axis_mask', 0),
      offset: false,
    };
    const resolved = resolveStridedSlice(r.b.shape(x), begin, end, strides, masks);
    const attrs = typeof resolved === 'string' ? r.fail(resolved) : resolved;
    return { tensor: r.b.op({ kind: 'strided_slice', inputs: [x], attrs, origin: r.origin }, r.name) };
  },
  Slice: (r) => {
    const x = r.tensor(0);
    const shape = r.b.shape(x);
    const begin = [...r.constant(1).data];
    const size = [...r.constant(2).data].map((n, d) => (n === -1 ? shape[d] - begin[d] : n));
    return { tensor: r.b.op({ kind: 'strided_slice', inputs: [x], attrs: { begin, stride: size.map(() => 1), size, shape: size }, origin: r.origin }, r.name) };
  },
  ResizeNearestNeighbor: resize('resize_nearest'),
  ResizeBilinear: resize('resize_bilinear'),
  Conv2DBackpropInput: transposeConv,
  ArgMax: argMinMax('arg_max'),
  ArgMin: argMinMax('arg_min'),
  SquaredDifference: (r) => ({ tensor: r.b.op({ kind: 'squared_difference', inputs: [r.tensor(0), r.tensor(1)], attrs: {}, origin: r.origin }, r.name) }),
  Rsqrt: unary('rsqrt'),
  LogSoftmax: (r) => ({ tensor: r.b.op({ kind: 'log_softmax', inputs: [r.tensor(0)], attrs: { beta: 1 }, origin: r.origin }, r.name) }),
  Exp: unary('exp'),
  FusedBatchNorm: batchNorm,
  FusedBatchNormV2: batchNorm,
  FusedBatchNormV3: batchNorm,
  Identity: identity,
  StopGradient: identity,
};

/** Ops that need no IR op of their own. */
const STRUCTURAL = new Set(['Placeholder', 'Const', 'NoOp']);


/** Problems visible on a node by itself, so that every unsupported node is reported, not only the first. */
function nodeProblems(node: INodeDef): string[] {
  const where = `node '${node.name}' (${node.op})`;
  const op = String(node.op);
  if (!STRUCTURAL.has(op) && !(op in NODES)) return [`${where}: op ${op} is not supported`];
  const r = new NodeAttrs(node);
  const problems: string[] = [];
  if (r.str('data_format', 'NHWC') !== 'NHWC') problems.push(`${where}: data_format ${r.str('data_format', '')} is not supported; edgec needs NHWC (channels-last) models`);
  const type = node.attr?.T?.type ?? (op === 'Placeholder' ? node.attr?.dtype?.type : undefined);
  if (type != null && !FLOAT_TYPES.has(type)) problems.push(`${where}: data type ${type} is not supported (float32 models only)`);
  if (op.startsWith('_Fused') || op === 'FusedDepthwiseConv2dNative') {
    const [first, second, ...more] = r.strings('fused_ops');
    if (first !== 'BiasAdd' || (second !== undefined && !(second in FUSED_ACTIVATIONS)) || more.length > 0) {
      problems.push(`${where}: fused ops [${r.strings('fused_ops')}] are not supported (BiasAdd, then optionally ${Object.keys(FUSED_ACTIVATIONS).join(', ')})`);
    }
  }
  for (const input of dataInputs(node)) if (input.output !== 0) problems.push(`${where}: reads output ${input.output} of '${input.node}'; only first outputs are supported`);
  return problems;
}

interface Signature {
  outputs?: Record<string, { name?: string }>;
}

/** The nodes the outputs depend on, inputs before the nodes that read them. */
function reachable(nodes: Map<string, INodeDef>, outputs: string[], problems: string[]): INodeDef[] {
  const order: INodeDef[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, from: string) => {
    const node = nodes.get(name);
    if (!node) {
      problems.push(`node '${from}': reads '${name}', which is not in the graph`);
      return;
    }
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      problems.push(`node '${name}': is part of a cycle (control flow is not supported)`);
      return;
    }
    state.set(name, 'visiting');
    for (const input of dataInputs(node)) visit(input.node, name);
    state.set(name, 'done');
    order.push(node);
  };
  outputs.forEach((name) => visit(name, 'the model outputs'));
  return order;
}

export function importGraphModel(topology: { node?: INodeDef[] }, signature: unknown, weights: Map<string, WeightValue>, name: string, fileName: string): Graph {
  const problems: string[] = [];
  const all = topology.node ?? [];
  const nodes = new Map(all.map((n) => [String(n.name), n]));
  const read = new Set(all.flatMap((n) => dataInputs(n).map((i) => i.node)));
  const named = Object.values((signature as Signature | undefined)?.outputs ?? {}).map((o) => parseInput(String(o.name)).node);
  const outputNames = named.length > 0 ? named : all.filter((n) => !read.has(String(n.name)) && !STRUCTURAL.has(String(n.op))).map((n) => String(n.name));
  if (outputNames.length === 0) problems.push('the graph has no output node');
  const order = reachable(nodes, outputNames, problems);
  const rejected = new Set<string>();
  for (const node of order) {
    const found = nodeProblems(node);
    if (found.length > 0) rejected.add(String(node.name));
    problems.push(...found);
  }

  const b = new GraphBuilder(name);
  const values = new Map<string, Value>();
  for (const node of order) {
    const r = new NodeReader(b, node, values);
    if (rejected.has(r.name) || dataInputs(node).some((i) => !values.has(i.node))) continue;
    try {
      if (node.op === 'Placeholder') {
        const dims = (node.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.slice(1).some((d) => d < 1)) r.fail(`input shape [${dims}] has unknown dimensions; the model needs a fixed input size`);
        // A free batch dimension becomes 1: the device runs one sample at a time.
        values.set(r.name, { tensor: b.activation(r.name, dims.map((d, i) => (i === 0 && d < 1 ? 1 : d))) });
      } else if (node.op === 'Const') {
        values.set(r.name, { constant: weights.get(r.name) ?? r.fail('its value is not in the weights manifest') });
      } else if (node.op !== 'NoOp') {
        values.set(r.name, NODES[String(node.op)](r));
      }
    } catch (e) {
      if (!(e instanceof EdgecError)) throw e;
      problems.push(e.message);
    }
  }
  const outputs = outputNames.map((n) => values.get(n));
  if (problems.length === 0 && outputs.some((v) => !v || !('tensor' in v))) problems.push('an output of the graph is a constant, not computed from the inputs');
  if (problems.length > 0) throw importFailure(fileName, problems);
  // Inputs in the order the GraphDef declares them.
  const inputs = all.filter((n) => n.op === 'Placeholder' && values.has(String(n.name))).map((n) => (values.get(String(n.name)) as { tensor: number }).tensor);
  return b.finish(inputs, outputs.map((v) => (v as { tensor: number }).tensor));
}
