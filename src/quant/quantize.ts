// Float graph + activation ranges -> int8 graph, per the TFLite int8 quantization spec and the
// choices TFLite's converter makes per op:
//   conv / depthwise / fully connected: per-channel symmetric weights (output channel axis 0, 3, 0),
//     int32 bias at input scale x weight scale, output from its calibrated range;
//   softmax, logistic: output fixed at 1/256, -128; tanh: 1/128, 0 (what the int8 kernels produce);
//   pooling, reshape, squeeze, pad, relu6: output keeps the input's quantization (their int8
//     kernels move or clamp raw values; TFLite Micro's relu6 ignores the output's parameters);
//   concatenation, pack, maximum, minimum: inputs whose quantization differs from the output's are requantized by a
//     QUANTIZE op in front (TFLite Micro's kernel only copies);
//   unidirectional sequence LSTM (TFLite's integer LSTM recipe): each of the eight weight matrices
//     symmetric int8 with one scale, each gate's int32 bias at input scale x that gate's input
//     weight scale, the hidden state the output's calibrated int8 parameters, the int16 cell
//     state symmetric with the power-of-two scale that covers its calibrated magnitude (the gates
//     are Q3.12 in, Q0.15 out, fixed by the kernel);
//   everything else (add, sub, mul, mean, relu, leaky relu, hard swish): output from its range.
// Ops given int16 activations (TFLite's 16x8 scheme, for the kinds with a 16x8 kernel) get
// symmetric int16 inputs and outputs, per-channel int8 weights and an int64 bias; where an int8
// and an int16 layer meet, a QUANTIZE requantizes the activation from its calibrated range (as
// TFLite's converter does between mixed-precision layers), and the model's inputs and outputs
// keep the type `io` gives them.
// Fused activations stay attributes: the int8 kernels turn them into clamps.
// Original tensors keep their index (so the float and int8 graphs line up layer by layer);
// tensors added at float I/O boundaries or for requantization are appended.

import { numel } from '../ir/dtype.ts';
import { modelError, usageError } from '../ir/errors.ts';
import type { ConcatenationOp, Conv2DOp, MaxMinOp, PackOp, DepthwiseConv2DOp, FullyConnectedOp, Graph, LstmOp, Op, OpKind, Quantization, Tensor } from '../ir/types.ts';
import { describeOp, verifyGraph } from '../ir/verify.ts';
import { checkFiniteConstants } from './finite.ts';
import { MinMaxObserver } from './observers.ts';
import { type ActivationDtype, type Affine, affineFromRange, BIAS_DTYPE, biasScaleFloor, perTensor, quantizeBias, quantizeValues, quantizeWeights } from './params.ts';
import { MIN_SCALE, type Range, stateRangeKey } from './range.ts';
import { OP_TRAITS, opTraits, outputChannelAxis } from '../ir/op-traits.ts';

export interface QuantizeOptions {
  /**
   * 'int8' (default): the graph's inputs and outputs become int8 with their scale and zero point.
   * 'float': they stay float32, with QUANTIZE after each input and DEQUANTIZE before each output.
   */
  io?: 'int8' | 'float';
  /** Puts a layer's weights on their per-channel grid; default round to nearest. Where adaptive rounding plugs in. */
  roundWeights?: WeightRounding;
  /**
   * Ops (indices in the float graph) whose activations are int16 (TFLite's 16x8 scheme); each
   * must have a 16x8 kernel (op trait int16Kernel). The rest are int8, with a QUANTIZE wherever
   * an int8 and an int16 layer meet.
   */
  int16?: ReadonlySet<number>;
}

/**
 * A weighted layer's int8 weights from its float ones and the per-channel scales already chosen:
 * `op` is the layer's index in the float graph, `axis` the output channel axis of `shape`.
 */
export type WeightRounding = (layer: { op: number; weights: Float32Array; shape: number[]; axis: number; scales: number[] }) => Int8Array;

/** Output parameters that the int8 kernels fix whatever the calibration says. */
export const FIXED_OUTPUT: Partial<Record<Op['kind'], Affine>> = {
  softmax: { scale: 1 / 256, zeroPoint: -128 },
  logistic: { scale: 1 / 256, zeroPoint: -128 },
  tanh: { scale: 1 / 128, zeroPoint: 0 },
  log_softmax: { scale: 16 / 256, zeroPoint: 127 },
};

/** `ranges`: real [min, max] of every activation tensor (graph inputs and op outputs), by index. */
export function quantizeGraph(graph: Graph, ranges: Map<number, Range>, options: QuantizeOptions = {}): Graph {
  verifyGraph(graph);
  checkFloatModel(graph);
  checkFiniteConstants(graph);
  const io = options.io ?? 'int8';
  if (io !== 'int8' && io !== 'float') throw usageError(`the model's input/output type must be 'int8' or 'float', got '${String(io)}'`);
  const int16 = options.int16 ?? new Set<number>();
  checkInt16Layers(graph, int16);
  const result = new Quantizer(graph, ranges, io, int16, options.roundWeights).run();
  verifyGraph(result);
  return result;
}

function checkFloatModel(graph: Graph): void {
  const problems = graph.tensors.flatMap((t, i) => (t.dtype === 'float32' ? [] : [`tensor ${i} '${t.name}' is ${t.dtype}`]));
  graph.ops.forEach((op, i) => {
    if (op.kind === 'quantize' || op.kind === 'dequantize') problems.push(`${describeOp(op, i)} is already a quantization op`);
  });
  if (problems.length > 0) {
    throw modelError(`${graph.name}: only float32 models can be quantized; this one is (partly) quantized already`, problems);
  }
}

/** Refuses int16 activations for an op that is not in the graph or has no 16x8 kernel. */
export function checkInt16Layers(graph: Graph, int16: ReadonlySet<number>): void {
  for (const index of int16) {
    const op = graph.ops[index];
    if (!op) throw usageError(`${graph.name}: no op ${index} to give int16 activations (the graph has ${graph.ops.length})`);
    if (!opTraits(op).int16Kernel) {
      throw usageError(`${graph.name}: ${describeOp(op, index)} has no 16x8 kernel, so its activations cannot be int16 (ops with one: ${INT16_KINDS.join(', ')})`);
    }
  }
}

/** The op kinds with a 16x8 kernel. */
export const INT16_KINDS = (Object.keys(OP_TRAITS) as OpKind[]).filter((kind) => OP_TRAITS[kind].int16Kernel);

class Quantizer {
  private readonly tensors: Tensor[];
  private readonly ops: Op[] = [];
  /** Where the quantized value of an original activation lives; differs from its index only at graph outputs. */
  private readonly valueOf = new Map<number, number>();
  /** An activation requantized to the other type for the ops that run in it, by `${tensor}:${dtype}`: one QUANTIZE serves them all. */
  private readonly copies = new Map<string, number>();
  /** Original constants already replaced by their quantized version (a second user gets its own copy). */
  private readonly converted = new Set<number>();

  constructor(
    private readonly graph: Graph,
    private readonly ranges: Map<number, Range>,
    private readonly io: 'int8' | 'float',
    private readonly int16: ReadonlySet<number>,
    private readonly roundWeights?: WeightRounding,
  ) {
    this.tensors = graph.tensors.map((t) => ({ ...t }));
  }

  run(): Graph {
    const { graph } = this;
    // int8 inputs in place; float ones are quantized where an op reads them, to the type it takes.
    if (this.io === 'int8') for (const t of graph.inputs) this.activation(t, this.calibrated(t, `graph input '${graph.tensors[t].name}'`, 'int8'), 'int8', false);
    graph.ops.forEach((op, index) => this.convert(op, index, describeOp(op, index)));
    for (const t of graph.outputs) {
      const value = this.valueOf.get(t)!;
      if (this.io === 'float') this.ops.push({ kind: 'dequantize', inputs: [value], outputs: [t], attrs: {}, origin: 'float output' });
      else if (value !== t) {
        this.tensors[t] = { ...graph.tensors[t], dtype: 'int8', quant: this.calibrated(t, `graph output '${graph.tensors[t].name}'`, 'int8') };
        this.ops.push({ kind: 'quantize', inputs: [value], outputs: [t], attrs: {}, origin: 'int8 output' });
      }
    }
    return { name: graph.name, tensors: this.tensors, ops: this.ops, inputs: [...graph.inputs], outputs: [...graph.outputs] };
  }

  private convert(op: Op, index: number, where: string): void {
    const dtype = this.int16.has(index) ? 'int16' : 'int8';
    switch (op.kind) {
      case 'conv2d':
      case 'depthwise_conv2d':
      case 'fully_connected':
        return this.weighted(op, index, where, dtype);
      case 'concatenation':
      case 'pack':
      case 'maximum':
      case 'minimum':
        return this.concatenation(op, where);
      case 'unidirectional_sequence_lstm':
        return this.lstm(op, index, where);
      default: {
        const inputs = op.inputs.map((t) => this.input(t, where, dtype));
        const fixed = FIXED_OUTPUT[op.kind];
        let quant: Quantization;
        if (fixed) quant = perTensor(fixed);
        else if (opTraits(op).keepsInputQuantization) quant = this.tensors[inputs[0]].quant!;
        else quant = this.calibratedOutput(op, where, dtype);
        this.ops.push({ ...op, inputs, outputs: [this.output(op, quant, dtype)] } as Op);
      }
    }
  }

  private weighted(op: Conv2DOp | DepthwiseConv2DOp | FullyConnectedOp, index: number, where: string, dtype: ActivationDtype): void {
    const input = this.input(op.inputs[0], where, dtype);
    const inputScale = this.tensors[input].quant!.scale[0];
    const [, weightsIndex, biasIndex] = op.inputs;
    const weights = this.graph.tensors[weightsIndex];
    const bias = biasIndex === undefined ? undefined : this.graph.tensors[biasIndex];
    const biasData = bias?.data as Float32Array | undefined;
    const biasDtype = BIAS_DTYPE[dtype];
    // Only an int32 bias can overflow: its weight scales are raised until it fits.
    const floor = biasData && biasDtype === 'int32' ? biasScaleFloor(biasData, inputScale) : undefined;
    const rounding = this.roundWeights;
    const round = rounding && ((values: Float32Array, shape: number[], axis: number, scales: number[]) => rounding({ op: index, weights: values, shape, axis, scales }));
    const w = quantizeWeights(weights.data as Float32Array, weights.shape, outputChannelAxis(op.kind)!, floor, round);
    const inputs = [input, this.constant(weightsIndex, { ...weights, dtype: 'int8', ...w })];
    if (bias && biasData) inputs.push(this.constant(biasIndex, { ...bias, dtype: biasDtype, ...quantizeBias(biasData, inputScale, w.quant.scale, biasDtype) }));
    this.ops.push({ ...op, inputs, outputs: [this.output(op, this.calibratedOutput(op, where, dtype), dtype)] });
  }

  private lstm(op: LstmOp, index: number, where: string): void {
    const input = this.input(op.inputs[0], where, 'int8');
    const inputScale = this.tensors[input].quant!.scale[0];
    const cell = this.ranges.get(stateRangeKey(index));
    if (!cell) throw usageError(`${this.graph.name}: no calibrated cell state range for ${where}; calibrate the model first`);
    const matrices = op.inputs.slice(1, 9).map((t, k) => {
      const { data, shape } = this.graph.tensors[t];
      const bias = k < 4 ? (this.graph.tensors[op.inputs[9 + k]].data as Float32Array) : undefined;
      // One channel: TFLite Micro's LSTM keeps one scale per matrix.
      const floor = bias && Float64Array.of(Math.max(0, ...biasScaleFloor(bias, inputScale)));
      const w = quantizeWeights(data as Float32Array, [1, numel(shape)], 0, floor);
      return this.constant(t, { ...this.graph.tensors[t], dtype: 'int8', data: w.data, quant: w.quant });
    });
    const biases = op.inputs.slice(9, 13).map((t, g) => {
      const weightScale = this.tensors[matrices[g]].quant!.scale[0];
      const bias = this.graph.tensors[t].data as Float32Array;
      const { data } = quantizeBias(bias, inputScale, new Array<number>(bias.length).fill(weightScale));
      return this.constant(t, { ...this.graph.tensors[t], dtype: 'int32', data, quant: perTensor({ scale: Math.fround(inputScale * weightScale), zeroPoint: 0 }) });
    });
    const hidden = this.calibratedOutput(op, where, 'int8');
    // 2^ceil(log2 |c|max) in int16 steps: the cell state's integer bits cover its largest magnitude.
    const power = Math.ceil(Math.log2(Math.max(cell[1], -cell[0], MIN_SCALE)));
    const state = { hiddenScale: hidden.scale[0], hiddenZeroPoint: hidden.zeroPoint[0], cellScale: 2 ** (power - 15) };
    this.ops.push({ ...op, inputs: [input, ...matrices, ...biases], attrs: { ...op.attrs, state }, outputs: [this.output(op, hidden, 'int8')] });
  }

  private concatenation(op: ConcatenationOp | PackOp | MaxMinOp, where: string): void {
    const inputs = op.inputs.map((t) => this.input(t, where, 'int8'));
    const quants = inputs.map((t) => this.tensors[t].quant!);
    const shared = quants.every((q) => sameQuant(q, quants[0]));
    const quant = shared ? quants[0] : this.calibratedOutput(op, where, 'int8');
    const aligned = inputs.map((t, k) => {
      if (sameQuant(quants[k], quant)) return t;
      return this.requantized(t, quant, `requantization for ${where}`, '/requantized');
    });
    this.ops.push({ ...op, inputs: aligned, outputs: [this.output(op, quant, 'int8')] });
  }

  /** A QUANTIZE from tensor `t` (float or quantized) into a new tensor with `quant` (and dtype, int8 unless given). */
  private requantized(t: number, quant: Quantization, origin: string, suffix: string, dtype: ActivationDtype = 'int8'): number {
    const copy = this.add({ name: `${this.tensors[t].name}${suffix}`, shape: [...this.tensors[t].shape], dtype, quant });
    this.ops.push({ kind: 'quantize', inputs: [t], outputs: [copy], attrs: {}, origin });
    return copy;
  }

  private calibrated(t: number, what: string, dtype: ActivationDtype): Quantization {
    const range = this.ranges.get(t);
    if (!range) throw usageError(`${this.graph.name}: no calibration range for ${what} (tensor ${t}); calibrate the model first`);
    return perTensor(affineFromRange(range, `${this.graph.name}: ${what}`, dtype));
  }

  private calibratedOutput(op: Op, where: string, dtype: ActivationDtype): Quantization {
    return this.calibrated(op.outputs[0], `${where}: output '${this.graph.tensors[op.outputs[0]].name}'`, dtype);
  }

  private add(tensor: Tensor): number {
    this.tensors.push(tensor);
    return this.tensors.length - 1;
  }

  /**
   * Makes original activation `t` `dtype` with `quant`: in place, or as a new tensor when `t` must
   * keep the type the model's inputs and outputs have (an I/O boundary).
   */
  private activation(t: number, quant: Quantization, dtype: ActivationDtype, boundary: boolean): number {
    const original = this.graph.tensors[t];
    const value: Tensor = { name: original.name, shape: [...original.shape], dtype, quant };
    const index = boundary ? this.add({ ...value, name: `${original.name}/${dtype}` }) : t;
    if (!boundary) this.tensors[t] = value;
    this.valueOf.set(t, index);
    return index;
  }

  /** An op's output; a graph output becomes a new tensor unless it is already the type the model's outputs have (int8 I/O). */
  private output(op: Op, quant: Quantization, dtype: ActivationDtype): number {
    const t = op.outputs[0];
    return this.activation(t, quant, dtype, this.graph.outputs.includes(t) && (this.io === 'float' || dtype !== 'int8'));
  }

  /**
   * The `dtype` tensor of an op's data input: the activation itself, or where it has the other
   * type a copy requantized to this one from its calibrated range (the QUANTIZE TFLite's converter
   * puts between int8 and 16x8 layers); a float model input quantized straight to `dtype`. A float
   * constant there is quantized per tensor from its own values.
   */
  private input(t: number, where: string, dtype: ActivationDtype): number {
    const floatInput = this.io === 'float' && this.graph.inputs.includes(t);
    const known = this.valueOf.get(t);
    if (known === undefined && !floatInput) return this.constantInput(t, dtype);
    if (known !== undefined && this.tensors[known].dtype === dtype) return known;
    const key = `${t}:${dtype}`;
    if (!this.copies.has(key)) {
      const name = this.graph.tensors[t].name;
      const quant = this.converted.has(t) ? perTensor(this.constantAffine(t, dtype)) : this.calibrated(t, `${floatInput ? 'graph' : `${where}:`} input '${name}'`, dtype);
      this.copies.set(key, this.requantized(floatInput ? t : known!, quant, floatInput ? 'float input' : `${dtype} input of ${where}`, `/${dtype}`, dtype));
    }
    return this.copies.get(key)!;
  }

  private constantInput(t: number, dtype: ActivationDtype): number {
    const original = this.graph.tensors[t];
    if (!(original.data instanceof Float32Array)) throw new Error(`input tensor ${t} '${original.name}' has no quantized value yet`);
    const affine = this.constantAffine(t, dtype);
    this.tensors[t] = { ...original, dtype, data: quantizeValues(original.data, affine, dtype), quant: perTensor(affine) };
    this.converted.add(t);
    this.valueOf.set(t, t);
    return t;
  }

  private constantAffine(t: number, dtype: ActivationDtype): Affine {
    const original = this.graph.tensors[t];
    return affineFromRange(valueRange(original.data as Float32Array), `${this.graph.name}: constant '${original.name}'`, dtype);
  }

  /** Puts a quantized weight or bias in place of original constant `t`, or beside it if an earlier op already did. */
  private constant(t: number, tensor: Tensor): number {
    if (this.converted.has(t)) return this.add({ ...tensor, name: `${tensor.name}/${this.ops.length}` });
    this.converted.add(t);
    this.tensors[t] = tensor;
    return t;
  }
}

function valueRange(values: Float32Array): Range {
  const observer = new MinMaxObserver();
  observer.observe(values);
  return observer.range();
}

const sameQuant = (a: Quantization, b: Quantization) => a.scale[0] === b.scale[0] && a.zeroPoint[0] === b.zeroPoint[0];
