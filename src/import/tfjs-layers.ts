// Keras layers models, as tfjs-layers saves them and tensorflowjs_converter converts them
// ('layers-model' format): Sequential and functional topologies -> Graph. Every layer becomes the
// plain IR ops it computes at inference (a batch norm a per-channel mul and add, an activation its
// own op, a dropout an identity); the passes then fold and fuse. Problems are collected over all
// layers and reported together.

import { numel } from '../ir/dtype.ts';
import { EdgecError } from '../ir/errors.ts';
import type { Graph, Padding } from '../ir/types.ts';
import { type ActivationKind, GraphBuilder, importFailure } from './tfjs-builder.ts';
import { type Weights, batchNormAffine, hwcmToDepthwise, hwioToOhwi, hwoiToOhwi, splitGates, transpose2d } from './tfjs-layout.ts';
import type { WeightValue } from './tfjs-weights.ts';

type Json = Record<string, unknown>;
/** [layer name, call (node) index, output index]: one output of one call of a layer. */
type TensorRef = [string, number, number];

interface KerasLayer {
  name: string;
  className: string;
  config: Json;
  /** The inputs of each call of the layer; a layer shared between branches has several calls. */
  calls: TensorRef[][];
}

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const refKey = ([layer, call, output]: TensorRef) => `${layer}:${call}:${output}`;

// `undefined` is Keras's linear activation: no op.
const ACTIVATIONS: Record<string, ActivationKind | undefined> = {
  linear: undefined,
  relu: 'relu',
  relu6: 'relu6',
  sigmoid: 'logistic',
  tanh: 'tanh',
  softmax: 'softmax',
  elu: 'elu',
};

/** What one call of a layer reads; `fail` ends the layer with a message that names it. */
class LayerReader {
  readonly origin: string;

  constructor(
    readonly b: GraphBuilder,
    readonly layer: KerasLayer,
    /** The layer's output tensor name (the call index is added for a shared layer's later calls). */
    readonly base: string,
    private readonly weights: Map<string, WeightValue>,
  ) {
    this.origin = `layer '${layer.name}' (${layer.className})`;
  }

  /**
   * The layer a wrapper holds: under the wrapper's name, which its weights carry (TimeDistributed),
   * or under a scope of it with an output name of its own (Bidirectional's forward and backward).
   */
  wrapped(className: string, config: Json, scope?: { name: string; base: string }): LayerReader {
    const layer = { ...this.layer, name: scope?.name ?? this.layer.name, className: `${this.layer.className}(${className})`, config };
    return new LayerReader(this.b, layer, scope?.base ?? this.base, this.weights);
  }

  fail(message: string): never {
    throw new EdgecError('model', `${this.origin}: ${message}`);
  }

  get(key: string): unknown {
    return this.layer.config[key];
  }

  num(key: string, fallback?: number): number {
    const v = this.get(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`'${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A positive integer, which Keras may write as a one-element list (1-D layers). */
  single(key: string, fallback?: number): number {
    const raw = this.get(key) ?? fallback;
    const v = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw;
    if (!Number.isInteger(v) || v < 1) this.fail(`'${key}' must be a positive integer, got ${JSON.stringify(raw)}`);
    return v;
  }

  pair(key: string, fallback?: number | number[]): [number, number] {
    const v = this.get(key) ?? fallback;
    const pair = typeof v === 'number' ? [v, v] : v;
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((d) => !Number.isInteger(d) || d < 1)) {
      this.fail(`'${key}' must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
    }
    return [pair[0], pair[1]];
  }

  padding(): Padding {
    const v = this.get('padding');
    if (v !== 'same' && v !== 'valid') this.fail(`padding '${String(v)}' is not supported (same or valid)`);
    return v;
  }

  /**
   * The layer's weight `param`, found as '<layer>/<param>', possibly under a scope prefix, with
   * ':0', or one scope inside the layer (Keras's recurrent layers write 'lstm/lstm_cell/kernel').
   */
  weight(param: string): Weights {
    const wanted = `${this.layer.name}/${param}`;
    const inCell = (bare: string) => {
      const scopes = bare.split('/');
      const layer = scopes.slice(0, -2).join('/');
      return scopes.at(-1) === param && (layer === this.layer.name || layer.endsWith(`/${this.layer.name}`));
    };
    for (const [name, value] of this.weights) {
      const bare = name.replace(/:0$/, '');
      if (bare !== wanted && !bare.endsWith(`/${wanted}`) && !inCell(bare)) continue;
      if (!(value.data instanceof Float32Array)) this.fail(`weight '${name}' must be float32`);
      return { shape: value.shape, data: value.data };
    }
    return this.fail(`weight '${wanted}' is not in the weights manifest`);
  }

  constant(suffix: string, w: Weights): number {
    return this.b.constant(`${this.base}/${suffix}`, w.shape, w.data);
  }

  /** The bias input, if the layer has one. */
  bias(): number[] {
    return this.get('use_bias') === false ? [] : [this.constant('bias', this.weight('bias'))];
  }

  /** The layer's activation (or another activation key's) as an IR op kind; undefined for linear. */
  activation(key = 'activation'): ActivationKind | undefined {
    const name = String(this.get(key) ?? 'linear');
    if (!(name in ACTIVATIONS)) this.fail(`${key} '${name}' is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
    return ACTIVATIONS[name];
  }

  /** Builds the layer's main op and appends its activation (if not linear) as an op of its own; the result is called `name`. */
  withActivation(build: (name: string) => number, name = this.base): number {
    const kind = this.activation();
    if (!kind) return build(name);
    return this.b.activate(kind, build(`${name}/linear`), name, this.origin);
  }

  reshape(x: number, shape: number[], name: string): number {
    return this.b.op({ kind: 'reshape', inputs: [x], attrs: { shape }, origin: this.origin }, name);
  }

  /** A 3-D sequence input [batch, steps, features], as every 1-D and recurrent layer needs. */
  sequence(x: number): [number, number, number] {
    const shape = this.b.shape(x);
    if (shape.length !== 3) this.fail(`needs a 3-D input (batch, steps, features), got [${shape}]`);
    return shape as [number, number, number];
  }

  /**
   * A 1-D layer as the 2-D op it is on a one-row image: the sequence [B, T, C] viewed as
   * [B, 1, T, C], `build` applied, and its output viewed as a sequence again.
   */
  asImage(x: number, build: (image: number, name: string) => number): number {
    const [batch, steps, features] = this.sequence(x);
    const out = build(this.reshape(x, [batch, 1, steps, features], `${this.base}/image`), `${this.base}/image_out`);
    const [, , width, channels] = this.b.shape(out);
    return this.reshape(out, [batch, width, channels], this.base);
  }

  /** A 4-D NHWC input, as every spatial layer needs. */
  nhwc(x: number): number {
    if (this.b.shape(x).length !== 4) this.fail(`needs a 4-D input (batch, height, width, channels), got [${this.b.shape(x)}]`);
    return x;
  }

  /** An axis given as Keras writes it (negative from the end, maybe a one-element list) as a non-negative index. */
  axis(key: string, fallback: number, rank: number): number {
    const raw = this.get(key) ?? fallback;
    const v = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw;
    if (!Number.isInteger(v) || v < -rank || v >= rank) this.fail(`'${key}' ${JSON.stringify(raw)} is not one axis of a ${rank}-D input`);
    return v < 0 ? v + rank : v;
  }
}

type LayerBuild = (r: LayerReader, inputs: number[]) => number;

const conv2d = (r: LayerReader, x: number, filter: number, bias: number[], stride: [number, number], dilation: [number, number], padding: Padding, name: string) =>
  r.b.op({ kind: 'conv2d', inputs: [x, filter, ...bias], attrs: { stride, dilation, padding, activation: 'none' }, origin: r.origin }, name);

/** The depthwise part of DepthwiseConv2D and SeparableConv2D. */
function depthwise(r: LayerReader, x: number, bias: number[], name: string): number {
  const filter = r.constant('depthwise_kernel', hwcmToDepthwise(r.weight('depthwise_kernel')));
  const attrs = { stride: r.pair('strides', 1), dilation: r.pair('dilation_rate', 1), padding: r.padding(), depthMultiplier: r.num('depth_multiplier', 1), activation: 'none' as const };
  return r.b.op({ kind: 'depthwise_conv2d', inputs: [r.nhwc(x), filter, ...bias], attrs, origin: r.origin }, name);
}

const pool = (kind: 'avg_pool2d' | 'max_pool2d'): LayerBuild => (r, [x]) => {
  const filter = r.pair('pool_size', 2);
  const stride = r.pair('strides', filter);
  return r.b.op({ kind, inputs: [r.nhwc(x)], attrs: { filter, stride, padding: r.padding(), activation: 'none' }, origin: r.origin }, r.base);
};

const pool1d = (kind: 'avg_pool2d' | 'max_pool2d'): LayerBuild => (r, [x]) => {
  const size = r.single('pool_size', 2);
  const attrs = { filter: [1, size] as [number, number], stride: [1, r.single('strides', size)] as [number, number], padding: r.padding(), activation: 'none' as const };
  return r.asImage(x, (image, name) => r.b.op({ kind, inputs: [image], attrs, origin: r.origin }, name));
};

/** A global pooling layer: a reduction over the spatial (or time) axes. */
const reduce = (kind: 'mean' | 'reduce_max', axes: number[], rank: number): LayerBuild => (r, [x]) => {
  if (r.b.shape(x).length !== rank) r.fail(`needs a ${rank}-D input, got [${r.b.shape(x)}]`);
  return r.b.op({ kind, inputs: [x], attrs: { axes, keepDims: r.get('keepdims') === true }, origin: r.origin }, r.base);
};

/** The sequence [batch, steps, features] in reverse step order. */
function reversed(r: LayerReader, x: number, name: string): number {
  const shape = r.sequence(x);
  const attrs = { begin: [0, shape[1] - 1, 0], stride: [1, -1, 1], size: [...shape], shape: [...shape] };
  return r.b.op({ kind: 'strided_slice', inputs: [x], attrs, origin: r.origin }, name);
}

/** go_backwards: the layer reads the sequence last step first (and returns its outputs in that order, as Keras does). */
const inReadingOrder = (r: LayerReader, x: number) => (r.get('go_backwards') === true ? reversed(r, x, `${r.base}/reversed_input`) : x);

/** Options of Keras's recurrent layers that change what the layer computes at inference. */
function rejectRecurrentOptions(r: LayerReader): void {
  for (const [key, why] of [
    ['return_state', 'the states as extra outputs'],
    ['stateful', 'state carried between batches (run the stateless model with edgec run --stateful instead)'],
  ] as const) {
    if (r.get(key) === true) r.fail(`${key} (${why}) is not supported`);
  }
}

/**
 * Keras's LSTM: gates in the order input, forget, cell, output (TFLite's order too), sigmoid on
 * the gates and tanh on the cell, one bias per gate, state starting from zero for every sample.
 * The whole sequence is one UNIDIRECTIONAL_SEQUENCE_LSTM; without return_sequences its last step
 * is sliced out.
 */
const lstm: LayerBuild = (r, [given]) => {
  const [batch, steps] = r.sequence(given);
  rejectRecurrentOptions(r);
  const x = inReadingOrder(r, given);
  if (r.get('recurrent_activation') !== 'sigmoid') {
    r.fail(`recurrent_activation '${String(r.get('recurrent_activation'))}' is not supported: TFLite Micro's LSTM gates apply sigmoid (tfjs defaults to hard_sigmoid; build the layer with recurrentActivation 'sigmoid')`);
  }
  if (r.activation() !== 'tanh') r.fail(`activation '${String(r.get('activation'))}' is not supported: TFLite Micro's LSTM applies tanh to the cell`);
  const gates = ['input', 'forget', 'cell', 'output'];
  const matrices = (param: string) => splitGates(r.weight(param), 4).map((w, g) => r.constant(`${gates[g]}/${param}`, w));
  const kernels = matrices('kernel');
  const recurrent = matrices('recurrent_kernel');
  const units = r.b.shape(kernels[0])[0];
  const biases = r.get('use_bias') === false ? gates.map((gate) => r.constant(`${gate}/bias`, { shape: [units], data: new Float32Array(units) })) : matrices('bias');
  const returnSequences = r.get('return_sequences') === true;
  const sequence = r.b.op(
    { kind: 'unidirectional_sequence_lstm', inputs: [x, ...kernels, ...recurrent, ...biases], attrs: { cellClip: 0, timeMajor: false }, origin: r.origin },
    returnSequences ? r.base : `${r.base}/sequence`,
  );
  if (returnSequences) return sequence;
  const attrs = { begin: [0, steps - 1, 0], stride: [1, 1, 1], size: [batch, 1, units], shape: [batch, units] };
  return r.b.op({ kind: 'strided_slice', inputs: [sequence], attrs, origin: r.origin }, r.base);
};

/**
 * A recurrent layer TFLite Micro has no op for (GRU, SimpleRNN), unrolled over the sequence: each
 * gate's input projection for all steps at once (one fully-connected layer on the sequence), then
 * per step a slice of it and the ops of the cell, from zero state. `cell` builds one step from the
 * step's projections (one per gate) and the previous hidden state (none at the first step); the
 * hidden states are stacked into the sequence, or the last one is the output. A bias of two rows
 * (a reset_after GRU's) is an input bias and a recurrent bias: the recurrent bias of the gates in
 * `folded` joins their input bias (it is added either way), the others' stays with the recurrent
 * product.
 */
function unrolled(r: LayerReader, given: number, gates: number, cell: (step: Step) => number, folded: number[] = []): number {
  const [batch, steps] = r.sequence(given);
  rejectRecurrentOptions(r);
  const x = inReadingOrder(r, given);
  const kernels = splitGates(r.weight('kernel'), gates).map((w, g) => r.constant(`kernel${g}`, w));
  const units = r.b.shape(kernels[0])[0];
  const bias = r.get('use_bias') === false ? undefined : r.weight('bias');
  if (bias && bias.shape.length === 2 && bias.shape[0] !== 2) r.fail(`bias [${bias.shape}] is neither one vector nor an input and a recurrent one`);
  const rows = bias && (bias.shape.length === 2 ? [0, 1].map((k) => ({ shape: [bias.shape[1]], data: bias.data.subarray(k * bias.shape[1], (k + 1) * bias.shape[1]) })) : [bias]);
  const [inputBias, recurrentBias] = (rows ?? []).map((w) => splitGates(w, gates));
  const biasOf = (g: number) => inputBias && (recurrentBias && folded.includes(g) ? inputBias[g].data.map((b, u) => b + recurrentBias[g].data[u]) : inputBias[g].data);
  const recurrentBiases = recurrentBias?.map((w, g) => (folded.includes(g) ? undefined : r.constant(`recurrent_bias${g}`, w)));
  const recurrent = splitGates(r.weight('recurrent_kernel'), gates).map((w, g) => r.constant(`recurrent_kernel${g}`, w));
  const projections = kernels.map((w, g) => {
    const b = biasOf(g);
    const inputs = [x, w, ...(b ? [r.constant(`bias${g}`, { shape: [units], data: b })] : [])];
    return r.b.op({ kind: 'fully_connected', inputs, attrs: { activation: 'none', keepNumDims: true }, origin: r.origin }, `${r.base}/input${g}`);
  });
  const states: number[] = [];
  for (let t = 0; t < steps; t++) {
    const name = (what: string) => `${r.base}/t${t}/${what}`;
    const attrs = { begin: [0, t, 0], stride: [1, 1, 1], size: [batch, 1, units], shape: [batch, units] };
    const inputs = projections.map((p, g) => r.b.op({ kind: 'strided_slice', inputs: [p], attrs, origin: r.origin }, name(`input${g}`)));
    const op = (kind: 'add' | 'sub' | 'mul', a: number, b: number, what: string) => r.b.op({ kind, inputs: [a, b], attrs: { activation: 'none' }, origin: r.origin }, name(what));
    const hidden = states.at(-1);
    const recur = (g: number, h: number) => {
      const b = recurrentBiases?.[g];
      return r.b.op({ kind: 'fully_connected', inputs: [h, recurrent[g], ...(b === undefined ? [] : [b])], attrs: { activation: 'none', keepNumDims: false }, origin: r.origin }, name(`recurrent${g}`));
    };
    const activate = (kind: ActivationKind | undefined, v: number, what: string) => (kind ? r.b.activate(kind, v, name(what), r.origin) : v);
    states.push(cell({ inputs, hidden, recur, recurrentBias: (g) => recurrentBiases?.[g], op, activate }));
  }
  if (r.get('return_sequences') !== true) return r.b.identity(states.at(-1)!, r.base, r.origin);
  return r.b.op({ kind: 'pack', inputs: states, attrs: { axis: 1 }, origin: r.origin }, r.base);
}

/** What one unrolled step builds from: its gates' input projections, the previous hidden state, and op builders named after the step. */
interface Step {
  inputs: number[];
  hidden?: number;
  /** h times a gate's recurrent weights, plus its recurrent bias where that is not folded. */
  recur(gate: number, h: number): number;
  /** A gate's recurrent bias constant where it is not folded: the recurrent term of the first step, whose h is 0. */
  recurrentBias(gate: number): number | undefined;
  op(kind: 'add' | 'sub' | 'mul', a: number, b: number, what: string): number;
  activate(kind: ActivationKind | undefined, v: number, what: string): number;
}

/** h = activation(x W + b + h U). */
const simpleRnn: LayerBuild = (r, [x]) =>
  unrolled(r, x, 1, ({ inputs: [xw], hidden, recur, op, activate }) => activate(r.activation(), hidden === undefined ? xw : op('add', xw, recur(0, hidden), 'sum'), 'h'));

/**
 * Keras's GRU: update gate z, reset gate r and candidate c, h' = z * h + (1 - z) * c, computed as
 * c + z * (h - c) (at the first step, h = 0: c - z * c). With reset_after false (tfjs's only
 * kind) c = tanh(x Wc + b + (r * h) Uc); with reset_after (Keras's default) c = tanh(x Wc + b_in
 * + r * (h Uc + b_rec)), and the gates have an input and a recurrent bias each.
 */
const gru: LayerBuild = (r, [x]) => {
  const gate = r.activation('recurrent_activation');
  const act = r.activation();
  const resetAfter = r.get('reset_after') === true;
  const cell = ({ inputs: [xz, xr, xc], hidden, recur, recurrentBias, op, activate }: Step) => {
    const sum = (g: number, what: string) => (hidden === undefined ? [xz, xr][g] : op('add', [xz, xr][g], recur(g, hidden), what));
    const z = activate(gate, sum(0, 'z_sum'), 'z');
    const reset = () => activate(gate, sum(1, 'r_sum'), 'r');
    let candidate: number;
    if (hidden === undefined) {
      const b = resetAfter ? recurrentBias(2) : undefined;
      candidate = b === undefined ? xc : op('add', xc, op('mul', reset(), b, 'r_b'), 'c_sum');
    } else {
      const reached = resetAfter ? op('mul', reset(), recur(2, hidden), 'r_hu') : recur(2, op('mul', reset(), hidden, 'rh'));
      candidate = op('add', xc, reached, 'c_sum');
    }
    const c = activate(act, candidate, 'c');
    if (hidden === undefined) return op('sub', c, op('mul', z, c, 'zc'), 'h');
    return op('add', c, op('mul', z, op('sub', hidden, c, 'h_minus_c'), 'z_h_minus_c'), 'h');
  };
  return unrolled(r, x, 3, cell, resetAfter ? [0, 1] : []);
};

const RECURRENT: Record<string, LayerBuild> = { LSTM: lstm, GRU: gru, SimpleRNN: simpleRnn };

/**
 * Bidirectional(LSTM, GRU or SimpleRNN): the layer run forward and a copy with its own weights run
 * on the reversed sequence; the backward outputs are put back in step order before the two merge
 * (concatenated, summed, multiplied or averaged).
 */
const bidirectional: LayerBuild = (r, [x]) => {
  const inner = r.get('layer');
  if (!isJson(inner) || !isJson(inner.config) || typeof inner.class_name !== 'string' || !(inner.class_name in RECURRENT)) {
    return r.fail(`only Bidirectional(${Object.keys(RECURRENT).join(', ')}) is supported, got Bidirectional(${isJson(inner) ? String(inner.class_name) : '?'})`);
  }
  const mode = r.get('merge_mode') ?? 'concat';
  if (!['concat', 'sum', 'mul', 'ave'].includes(String(mode))) r.fail(`merge_mode ${JSON.stringify(mode)} is not supported (concat, sum, mul, ave)`);
  const className = inner.class_name;
  const config = inner.config;
  const direction = (which: 'forward' | 'backward') => {
    const scope = { name: `${r.layer.name}/${which}_${String(config.name)}`, base: `${r.base}/${which}` };
    const goBackwards = (config.go_backwards === true) !== (which === 'backward');
    return RECURRENT[className](r.wrapped(className, { ...config, go_backwards: goBackwards }, scope), [x]);
  };
  const forward = direction('forward');
  const backward = config.return_sequences === true ? reversed(r, direction('backward'), `${r.base}/backward_in_order`) : direction('backward');
  const binary = (kind: 'add' | 'mul', a: number, b: number, name: string) => r.b.op({ kind, inputs: [a, b], attrs: { activation: 'none' }, origin: r.origin }, name);
  switch (mode) {
    case 'sum':
      return binary('add', forward, backward, r.base);
    case 'mul':
      return binary('mul', forward, backward, r.base);
    case 'ave':
      return binary('mul', binary('add', forward, backward, `${r.base}/sum`), r.b.constant(`${r.base}/half`, [1], Float32Array.of(0.5)), r.base);
    default:
      return r.b.op({ kind: 'concatenation', inputs: [forward, backward], attrs: { axis: r.b.shape(forward).length - 1, activation: 'none' }, origin: r.origin }, r.base);
  }
};

/** Keras's Dense on the last axis keeps the others: on a sequence it is TimeDistributed(Dense) already. */
const timeDistributed: LayerBuild = (r, inputs) => {
  const inner = r.get('layer');
  if (!isJson(inner) || !isJson(inner.config) || inner.class_name !== 'Dense') {
    return r.fail(`only TimeDistributed(Dense) is supported, got TimeDistributed(${isJson(inner) ? String(inner.class_name) : '?'})`);
  }
  if (r.b.shape(inputs[0]).length < 3) r.fail(`needs an input with a time axis, got [${r.b.shape(inputs[0])}]`);
  return LAYERS.Dense(r.wrapped('Dense', inner.config), inputs);
};

/** Dropout and noise layers act only in training. */
const trainingOnly: LayerBuild = (r, [x]) => r.b.identity(x, r.base, r.origin);

/** [[before, after], [before, after]] for the two spatial axes, from n, [rows, columns] or the pairs themselves. */
function spatialPairs(r: LayerReader, key: string, fallback: number): [[number, number], [number, number]] {
  const raw = r.get(key) ?? fallback;
  const spec = typeof raw === 'number' ? [raw, raw] : raw;
  const sides = Array.isArray(spec) ? spec.map((s) => (typeof s === 'number' ? [s, s] : s)) : [];
  if (sides.length !== 2 || sides.some((s) => !Array.isArray(s) || s.length !== 2 || s.some((v) => !Number.isInteger(v) || v < 0))) {
    r.fail(`'${key}' must be n, [rows, columns] or [[top, bottom], [left, right]], got ${JSON.stringify(raw)}`);
  }
  return sides as [[number, number], [number, number]];
}

const LAYERS: Record<string, LayerBuild> = {
  Conv2D: (r, [x]) => {
    if (r.num('groups', 1) !== 1) r.fail('grouped convolutions (groups > 1) are not supported');
    const filter = r.constant('kernel', hwioToOhwi(r.weight('kernel')));
    return r.withActivation((name) => conv2d(r, r.nhwc(x), filter, r.bias(), r.pair('strides', 1), r.pair('dilation_rate', 1), r.padding(), name));
  },
  Conv1D: (r, [x]) => {
    if (r.num('groups', 1) !== 1) r.fail('grouped convolutions (groups > 1) are not supported');
    const k = r.weight('kernel');
    const size = k.shape[0];
    const filter = r.constant('kernel', hwioToOhwi({ shape: [1, ...k.shape], data: k.data }));
    const stride = r.single('strides', 1);
    const dilation = r.single('dilation_rate', 1);
    // Causal: the padding 'same' would split goes before the sequence only.
    const causal = r.get('padding') === 'causal';
    const padding = causal ? 'valid' : r.padding();
    r.sequence(x);
    const padded = causal ? r.b.op({ kind: 'pad', inputs: [x], attrs: { paddings: [[0, 0], [(size - 1) * dilation, 0], [0, 0]] }, origin: r.origin }, `${r.base}/causal`) : x;
    return r.asImage(padded, (image, name) => r.withActivation((n) => conv2d(r, image, filter, r.bias(), [1, stride], [1, dilation], padding, n), name));
  },
  DepthwiseConv2D: (r, [x]) => r.withActivation((name) => depthwise(r, x, r.bias(), name)),
  // Output size as tfjs computes it (deconvLength): input * stride, plus what a valid filter overhangs.
  Conv2DTranspose: (r, [x]) => {
    if (r.pair('dilation_rate', 1).some((d) => d !== 1)) r.fail('dilation_rate must be 1');
    const filter = r.constant('kernel', hwoiToOhwi(r.weight('kernel')));
    const [, height, width] = r.b.shape(r.nhwc(x));
    const [kh, kw] = r.pair('kernel_size');
    const stride = r.pair('strides', 1);
    const padding = r.padding();
    const length = (n: number, k: number, s: number) => n * s + (padding === 'valid' ? Math.max(k - s, 0) : 0);
    const attrs = { size: [length(height, kh, stride[0]), length(width, kw, stride[1])] as [number, number], stride, padding, activation: 'none' as const };
    return r.withActivation((name) => r.b.op({ kind: 'transpose_conv2d', inputs: [r.nhwc(x), filter, ...r.bias()], attrs, origin: r.origin }, name));
  },
  // A depthwise convolution (no bias) then a 1x1 convolution that carries the bias and the activation.
  SeparableConv2D: (r, [x]) => {
    const depthwiseOutput = depthwise(r, x, [], `${r.base}/depthwise`);
    const pointwise = r.constant('pointwise_kernel', hwioToOhwi(r.weight('pointwise_kernel')));
    return r.withActivation((name) => conv2d(r, depthwiseOutput, pointwise, r.bias(), [1, 1], [1, 1], 'valid', name));
  },
  Dense: (r, [x]) => {
    const weights = r.constant('kernel', transpose2d(r.weight('kernel')));
    // Keras applies Dense to the last axis and keeps the others.
    const keepNumDims = r.b.shape(x).length > 2;
    return r.withActivation((name) => r.b.op({ kind: 'fully_connected', inputs: [x, weights, ...r.bias()], attrs: { activation: 'none', keepNumDims }, origin: r.origin }, name));
  },
  BatchNormalization: (r, [x]) => {
    const rank = r.b.shape(x).length;
    if (r.axis('axis', -1, rank) !== rank - 1) r.fail('only batch normalization over the last (channel) axis is supported');
    const optional = (key: string, param: string) => (r.get(key) === false ? undefined : r.weight(param).data);
    const { scale, offset } = batchNormAffine(r.weight('moving_mean').data, r.weight('moving_variance').data, r.num('epsilon', 1e-3), optional('scale', 'gamma'), optional('center', 'beta'));
    return r.b.scaleAndShift(x, scale, offset, r.base, r.origin);
  },
  MaxPooling2D: pool('max_pool2d'),
  AveragePooling2D: pool('avg_pool2d'),
  MaxPooling1D: pool1d('max_pool2d'),
  AveragePooling1D: pool1d('avg_pool2d'),
  GlobalAveragePooling2D: reduce('mean', [1, 2], 4),
  GlobalMaxPooling2D: reduce('reduce_max', [1, 2], 4),
  GlobalAveragePooling1D: reduce('mean', [1], 3),
  GlobalMaxPooling1D: reduce('reduce_max', [1], 3),
  ...RECURRENT,
  Bidirectional: bidirectional,
  TimeDistributed: timeDistributed,
  Flatten: (r, [x]) => {
    const [batch] = r.b.shape(x);
    return r.b.op({ kind: 'reshape', inputs: [x], attrs: { shape: [batch, numel(r.b.shape(x)) / batch] }, origin: r.origin }, r.base);
  },
  Reshape: (r, [x]) => {
    const target = r.get('target_shape');
    if (!Array.isArray(target) || target.some((d) => !Number.isInteger(d))) return r.fail(`'target_shape' must be a list of integers, got ${JSON.stringify(target)}`);
    return r.b.op({ kind: 'reshape', inputs: [x], attrs: { shape: [r.b.shape(x)[0], ...target] }, origin: r.origin }, r.base);
  },
  Dropout: trainingOnly,
  SpatialDropout1D: trainingOnly,
  SpatialDropout2D: trainingOnly,
  GaussianNoise: trainingOnly,
  GaussianDropout: trainingOnly,
  Activation: (r, [x]) => {
    const kind = r.activation();
    return kind ? r.b.activate(kind, x, r.base, r.origin) : r.b.identity(x, r.base, r.origin);
  },
  ReLU: (r, [x]) => {
    const max = r.get('max_value');
    if ((r.get('negative_slope') ?? 0) !== 0 || (r.get('threshold') ?? 0) !== 0 || (max != null && max !== 6)) {
      r.fail('only ReLU without negative slope or threshold, capped at nothing or 6, is supported');
    }
    return r.b.activate(max === 6 ? 'relu6' : 'relu', x, r.base, r.origin);
  },
  ELU: (r, [x]) => {
    // TFLite's ELU has no alpha: it is 1.
    if (r.num('alpha', 1) !== 1) r.fail(`alpha ${r.num('alpha', 1)} is not supported: TFLite's ELU computes exp(x) - 1 below zero (alpha 1)`);
    return r.b.activate('elu', x, r.base, r.origin);
  },
  LeakyReLU: (r, [x]) =>
    r.b.op({ kind: 'leaky_relu', inputs: [x], attrs: { alpha: r.num(r.get('negative_slope') === undefined ? 'alpha' : 'negative_slope', 0.3) }, origin: r.origin }, r.base),
  Softmax: (r, [x]) => {
    const rank = r.b.shape(x).length;
    if (r.axis('axis', -1, rank) !== rank - 1) r.fail('only softmax over the last axis is supported');
    return r.b.activate('softmax', x, r.base, r.origin);
  },
  Add: (r, inputs) => {
    if (inputs.length < 2) r.fail(`needs at least 2 inputs, got ${inputs.length}`);
    return inputs.slice(1).reduce((sum, x, i) => {
      const name = i === inputs.length - 2 ? r.base : `${r.base}/sum${i}`;
      return r.b.op({ kind: 'add', inputs: [sum, x], attrs: { activation: 'none' }, origin: r.origin }, name);
    }, inputs[0]);
  },
  Concatenate: (r, inputs) => {
    const axis = r.axis('axis', -1, r.b.shape(inputs[0]).length);
    return r.b.op({ kind: 'concatenation', inputs, attrs: { axis, activation: 'none' }, origin: r.origin }, r.base);
  },
  ZeroPadding2D: (r, [x]) => {
    const [rows, columns] = spatialPairs(r, 'padding', 1);
    return r.b.op({ kind: 'pad', inputs: [r.nhwc(x)], attrs: { paddings: [[0, 0], rows, columns, [0, 0]] }, origin: r.origin }, r.base);
  },
  Cropping2D: (r, [x]) => {
    const [batch, height, width, channels] = r.b.shape(r.nhwc(x));
    const [rows, columns] = spatialPairs(r, 'cropping', 0);
    const size = [batch, height - rows[0] - rows[1], width - columns[0] - columns[1], channels];
    if (size[1] < 1 || size[2] < 1) r.fail(`cropping ${JSON.stringify(r.get('cropping'))} leaves nothing of a ${height}x${width} input`);
    const attrs = { begin: [0, rows[0], columns[0], 0], stride: [1, 1, 1, 1], size, shape: size };
    return r.b.op({ kind: 'strided_slice', inputs: [x], attrs, origin: r.origin }, r.base);
  },
  // Upsampling by whole factors as tfjs resizes (no aligned corners, no half-pixel centres): nearest
  // reads input pixel floor(i / factor), bilinear interpolates between the pixels around i / factor.
  UpSampling2D: (r, [x]) => {
    const interpolation = r.get('interpolation') ?? 'nearest';
    if (interpolation !== 'nearest' && interpolation !== 'bilinear') r.fail(`interpolation '${String(interpolation)}' is not supported (nearest, bilinear)`);
    const [, height, width] = r.b.shape(r.nhwc(x));
    const [a, b] = r.pair('size', 2);
    const attrs = { size: [height * a, width * b] as [number, number], alignCorners: false, halfPixelCenters: false };
    return r.b.op({ kind: interpolation === 'nearest' ? 'resize_nearest' : 'resize_bilinear', inputs: [x], attrs, origin: r.origin }, r.base);
  },
  // dims count the axes after the batch from 1.
  Permute: (r, [x]) => {
    const dims = r.get('dims');
    const rank = r.b.shape(x).length;
    if (!Array.isArray(dims) || dims.length !== rank - 1 || [...dims].sort((a, b) => a - b).some((d, i) => d !== i + 1)) r.fail(`'dims' ${JSON.stringify(dims)} is not a permutation of the axes 1..${rank - 1}`);
    return r.b.op({ kind: 'transpose', inputs: [x], attrs: { perm: [0, ...(dims as number[])] }, origin: r.origin }, r.base);
  },
  // [batch, features] -> [batch, n, features]: n copies of the one row, gathered from a view with one step.
  RepeatVector: (r, [x]) => {
    const shape = r.b.shape(x);
    if (shape.length !== 2) r.fail(`needs a 2-D input (batch, features), got [${shape}]`);
    const n = r.single('n');
    const row = r.reshape(x, [shape[0], 1, shape[1]], `${r.base}/row`);
    return r.b.op({ kind: 'gather', inputs: [row], attrs: { axis: 1, indices: new Array<number>(n).fill(0), indicesShape: [n] }, origin: r.origin }, r.base);
  },
};

const MODEL_CLASSES = ['Sequential', 'Model', 'Functional'];

/** Problems visible in a layer's configuration alone, so that layers after a failed one are still checked. */
function configProblems(layer: KerasLayer): string[] {
  const where = `layer '${layer.name}' (${layer.className})`;
  if (MODEL_CLASSES.includes(layer.className)) return [`${where}: nested models are not supported; build the model from its layers directly`];
  if (layer.className !== 'InputLayer' && !(layer.className in LAYERS)) {
    return [`${where}: ${layer.className} layers are not supported (edgec imports ${Object.keys(LAYERS).join(', ')}, InputLayer)`];
  }
  const problems: string[] = [];
  const c = layer.config;
  if (c.data_format === 'channels_first') {
    problems.push(`${where}: data_format 'channels_first' is not supported; edgec imports channels_last (NHWC) models, so rebuild the layer with data_format 'channels_last'`);
  }
  if (c.activation !== undefined && !(typeof c.activation === 'string' && c.activation in ACTIVATIONS)) {
    problems.push(`${where}: activation ${JSON.stringify(c.activation)} is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  }
  if (typeof c.dtype === 'string' && c.dtype !== 'float32') problems.push(`${where}: dtype ${c.dtype} is not supported (float32 models only)`);
  return problems;
}

function asLayer(raw: unknown, problems: string[]): KerasLayer | undefined {
  if (!isJson(raw) || typeof raw.class_name !== 'string' || !isJson(raw.config)) {
    problems.push(`a layer entry is not {class_name, config}: ${JSON.stringify(raw)?.slice(0, 80)}`);
    return undefined;
  }
  const name = typeof raw.name === 'string' ? raw.name : String(raw.config.name);
  return { name, className: raw.class_name, config: raw.config, calls: parseCalls(raw.inbound_nodes) };
}

/** Every [layer, call, output] reference in a Keras 3 call's arguments. */
function kerasHistory(value: unknown, refs: TensorRef[]): TensorRef[] {
  if (Array.isArray(value)) value.forEach((v) => kerasHistory(v, refs));
  else if (isJson(value)) {
    const history = isJson(value.config) ? value.config.keras_history : undefined;
    if (value.class_name === '__keras_tensor__' && Array.isArray(history)) refs.push(history.slice(0, 3) as TensorRef);
    else Object.values(value).forEach((v) => kerasHistory(v, refs));
  }
  return refs;
}

/** inbound_nodes: Keras 2 and tfjs write [[layer, call, output, kwargs], ...] per call; Keras 3 writes {args, kwargs}. */
function parseCalls(inbound: unknown): TensorRef[][] {
  if (!Array.isArray(inbound)) return [];
  return inbound.map((call) => (Array.isArray(call) ? call.map((ref) => (ref as unknown[]).slice(0, 3) as TensorRef) : kerasHistory(isJson(call) ? call.args : call, [])));
}

/** input_layers / output_layers: a list of references, or (Keras 3, one tensor) a single one. */
function parseRefs(value: unknown): TensorRef[] {
  if (!Array.isArray(value)) return [];
  return (typeof value[0] === 'string' ? [value] : value).map((ref) => (ref as unknown[]).slice(0, 3) as TensorRef);
}

interface KerasModel {
  layers: KerasLayer[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

/** A Sequential model as the functional model it stands for: each layer called once on the one before. */
function sequential(layers: KerasLayer[], problems: string[]): KerasModel {
  const first = layers[0];
  if (!first) {
    problems.push('the Sequential model has no layers');
    return { layers, inputs: [], outputs: [] };
  }
  const input: KerasLayer =
    first.className === 'InputLayer'
      ? first
      : { name: `${first.name}_input`, className: 'InputLayer', config: { batch_input_shape: first.config.batch_input_shape ?? first.config.batch_shape }, calls: [] };
  const rest = layers.filter((l) => l !== input);
  rest.forEach((layer, i) => (layer.calls = [[[i === 0 ? input.name : rest[i - 1].name, 0, 0]]]));
  const last = rest[rest.length - 1] ?? input;
  return { layers: [input, ...rest], inputs: [[input.name, 0, 0]], outputs: [[last.name, 0, 0]] };
}

function parseModel(topology: Json, problems: string[]): KerasModel {
  const root = isJson(topology.model_config) ? topology.model_config : topology;
  const config = root.config;
  const layerList = Array.isArray(config) ? config : isJson(config) && Array.isArray(config.layers) ? config.layers : undefined;
  if (!MODEL_CLASSES.includes(String(root.class_name)) || !layerList) {
    problems.push(`the topology is a ${String(root.class_name)} without a layer list; edgec imports Sequential and functional Keras models`);
    return { layers: [], inputs: [], outputs: [] };
  }
  const layers = layerList.map((raw) => asLayer(raw, problems)).filter((l): l is KerasLayer => l !== undefined);
  if (root.class_name === 'Sequential') return sequential(layers, problems);
  const c = config as Json;
  return { layers, inputs: parseRefs(c.input_layers), outputs: parseRefs(c.output_layers) };
}

function inputShape(layer: KerasLayer): number[] | string {
  const c = layer.config;
  const shape = c.batch_input_shape ?? c.batch_shape;
  if (!Array.isArray(shape) || shape.length === 0) return 'the model does not declare its input shape (batch_input_shape)';
  const unknown = shape.slice(1).findIndex((d) => !Number.isInteger(d) || d < 1);
  if (unknown >= 0) return `input dimension ${unknown + 1} is not fixed (${JSON.stringify(shape)}); the model needs a fixed input size`;
  // A free batch dimension becomes 1: the device runs one sample at a time.
  return [Number.isInteger(shape[0]) ? shape[0] : 1, ...shape.slice(1)];
}

export function importLayersModel(topology: Json, weights: Map<string, WeightValue>, name: string, fileName: string): Graph {
  const problems: string[] = [];
  const model = parseModel(topology, problems);
  const b = new GraphBuilder(name);
  const tensors = new Map<string, number>();
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const rejected = new Set<string>();
  for (const layer of model.layers) {
    const found = configProblems(layer);
    if (found.length > 0) rejected.add(layer.name);
    problems.push(...found);
  }

  const inputs = model.inputs.flatMap((ref) => {
    const layer = byName.get(ref[0]);
    const shape = layer && inputShape(layer);
    if (typeof shape !== 'object') {
      problems.push(`input layer '${ref[0]}': ${shape ?? 'no such layer'}`);
      return [];
    }
    const index = b.activation(ref[0], shape);
    tensors.set(refKey(ref), index);
    return [index];
  });

  // Calls are built once all their inputs exist; a failed call's dependents are skipped (its problem is already reported).
  const failed = new Set<string>();
  let pending = model.layers.filter((l) => l.className !== 'InputLayer').flatMap((layer) => layer.calls.map((refs, call) => ({ layer, call, refs })));
  for (let progress = true; progress; ) {
    progress = false;
    pending = pending.filter(({ layer, call, refs }) => {
      const key = refKey([layer.name, call, 0]);
      if (refs.some((ref) => failed.has(refKey(ref)))) {
        failed.add(key);
        return false;
      }
      if (!refs.every((ref) => tensors.has(refKey(ref)))) return true;
      progress = true;
      if (rejected.has(layer.name)) {
        failed.add(key);
        return false;
      }
      const r = new LayerReader(b, layer, call === 0 ? layer.name : `${layer.name}:${call}`, weights);
      try {
        tensors.set(key, LAYERS[layer.className](r, refs.map((ref) => tensors.get(refKey(ref))!)));
      } catch (e) {
        if (!(e instanceof EdgecError)) throw e;
        problems.push(e.message);
        failed.add(key);
      }
      return false;
    });
  }
  for (const { layer, refs } of pending) {
    problems.push(`layer '${layer.name}' (${layer.className}): its inputs ${refs.map((ref) => `'${ref[0]}'`).join(', ')} are never computed`);
  }
  const outputs = model.outputs.map((ref) => tensors.get(refKey(ref)));
  if (problems.length > 0) throw importFailure(fileName, problems);
  if (outputs.some((t) => t === undefined) || outputs.length === 0) throw importFailure(fileName, ['the model names no output that its layers compute']);
  return b.finish(inputs, outputs as number[]);
}
