// Empirical bias correction: int8 weights (and the int8 activations a layer reads) shift the mean
// of the layer's output, channel by channel; the next layers see that shift as a systematic error
// that no rounding averages away. For each conv, depthwise and dense layer, in graph order, the
// mean of its pre-activation output computed from the quantized model's actual int8 input with its
// int8 weights is compared with the float model's on the calibration data, and the difference is
// taken off its float bias before it is quantized. Each layer is corrected with the layers before
// it already corrected (the quantized model is run op by op and a layer's int8 bias is replaced
// before the layer runs), so a shift is not corrected twice.
// Pre-activation, because a fused ReLU hides the part of the shift below zero and the bias sits in
// front of the activation. A layer without a bias gets one.

import { numel } from '../ir/dtype.ts';
import type { Conv2DOp, DepthwiseConv2DOp, FullyConnectedOp, Graph, Op, Tensor, TensorData } from '../ir/types.ts';
import { runFloat } from '../float/run.ts';
import { outputChannelAxis } from '../ir/op-traits.ts';
import { type ActivationSource, type CalibrationSet, sliceSamples } from './activations.ts';
import { channelIndexer, quantizeBias } from './params.ts';
import { type GraphRunner, int8Inputs, quantizedLayerOf, realValues } from './report.ts';

/** Samples per float run: bounds the layer inputs held at once. */
const BATCH = 64;

type Layer = Conv2DOp | DepthwiseConv2DOp | FullyConnectedOp;

const isLayer = (op: Op): op is Layer => op.kind === 'conv2d' || op.kind === 'depthwise_conv2d' || op.kind === 'fully_connected';

export interface BiasCorrection {
  /** The float graph with every layer's bias corrected: quantize this one. */
  corrected: Graph;
  /** The same graph with the biases as they were (zero where a layer had none): the function to compare against. */
  reference: Graph;
  /** Float graph op index -> the shift taken off each channel's bias. */
  shifts: Map<number, Float64Array>;
}

/**
 * `quantize` turns a float graph into the int8 graph the correction is measured on (with the
 * caller's ranges, I/O types and weight rounding); `runner` runs int8 graphs bit-exactly.
 */
export async function correctBiases(
  graph: Graph,
  data: CalibrationSet,
  source: ActivationSource,
  quantize: (float: Graph) => Promise<Graph>,
  runner: GraphRunner,
): Promise<BiasCorrection> {
  const reference = withBiases(graph);
  const layers = reference.ops.flatMap((op, k) => (isLayer(op) ? [k] : []));
  const floatMeans = await floatPreActivationMeans(reference, layers, data, source);
  const corrected: Graph = { ...reference, tensors: [...reference.tensors] };
  const int8 = await quantize(reference);
  const tensors = [...int8.tensors];
  const quantized: Graph = { ...int8, tensors };
  const int8Layer = quantizedLayerOf(quantized);
  const shifts = new Map<number, Float64Array>();
  const layerAt = new Map(layers.map((k) => [int8Layer(reference.ops[k].outputs[0]), k]));

  const values = new Map<number, TensorData[]>();
  quantized.inputs.forEach((t, k) => {
    values.set(t, Array.from({ length: data.count }, (_, s) => int8Inputs(quantized, sliceSamples(reference, data, s, s + 1))[k]));
  });
  const lastUse = new Map<number, number>();
  quantized.ops.forEach((op, j) => op.inputs.forEach((t) => lastUse.set(t, j)));
  for (const [j, op] of quantized.ops.entries()) {
    const k = layerAt.get(j);
    if (k !== undefined) {
      const layer = quantized.ops[j] as Layer;
      const shift = await quantizedMean(quantized, layer, values.get(layer.inputs[0])!, data.count);
      floatMeans.get(k)!.forEach((mean, c) => (shift[c] -= mean));
      const biasIndex = reference.ops[k].inputs[2];
      const bias = Float32Array.from(reference.tensors[biasIndex].data as Float32Array, (b, c) => b - shift[c]);
      corrected.tensors[biasIndex] = { ...corrected.tensors[biasIndex], data: bias };
      // The int8 bias for the rest of the run; quantize(corrected) makes the same one.
      const inputScale = tensors[layer.inputs[0]].quant!.scale[0];
      const q = quantizeBias(bias, inputScale, tensors[layer.inputs[1]].quant!.scale, tensors[layer.inputs[2]].dtype === 'int64' ? 'int64' : 'int32');
      tensors[layer.inputs[2]] = { ...tensors[layer.inputs[2]], ...q };
      shifts.set(k, shift);
    }
    runOp(quantized, j, runner, values, data.count);
    for (const t of op.inputs) if (lastUse.get(t) === j && !quantized.outputs.includes(t)) values.delete(t);
  }
  return { corrected, reference, shifts };
}

/** Every layer without a bias given a zero one (a new tensor at the end): the same function. */
export function withBiases(graph: Graph): Graph {
  const tensors = [...graph.tensors];
  const ops = graph.ops.map((op) => {
    if (!isLayer(op) || op.inputs[2] !== undefined) return op;
    const weights = graph.tensors[op.inputs[1]];
    const channels = weights.shape[outputChannelAxis(op.kind)!];
    tensors.push({ name: `${weights.name}/bias`, shape: [channels], dtype: 'float32', data: new Float32Array(channels) });
    return { ...op, inputs: [...op.inputs, tensors.length - 1] };
  });
  return { ...graph, tensors, ops };
}

/** Runs int8 op `j` on every sample's values of its inputs and stores its outputs. */
function runOp(graph: Graph, j: number, runner: GraphRunner, values: Map<number, TensorData[]>, count: number): void {
  const op = graph.ops[j];
  const inputs = op.inputs.filter((t) => values.has(t));
  const run = runner({ ...graph, ops: [op], inputs, outputs: [op.outputs[0]] });
  const sample = (s: number) => {
    run.reset?.();
    return run(inputs.map((t) => values.get(t)![s]))[0];
  };
  values.set(op.outputs[0], Array.from({ length: count }, (_, s) => sample(s)));
}

/** Per channel mean over the calibration data of each layer's pre-activation output in the float model. */
async function floatPreActivationMeans(graph: Graph, layers: number[], data: CalibrationSet, source: ActivationSource): Promise<Map<number, Float64Array>> {
  const sums = new Map(layers.map((k) => [k, new ChannelMean(channelsOf(graph, graph.ops[k]))]));
  const inputs = [...new Set(layers.map((k) => graph.ops[k].inputs[0]))];
  const alone = new Map(layers.map((k) => [k, preActivation(graph, graph.ops[k] as Layer, graph.tensors[graph.ops[k].inputs[1]].data as Float32Array)]));
  for (let start = 0; start < data.count; start += BATCH) {
    const batch = await source(graph, sliceSamples(graph, data, start, Math.min(data.count, start + BATCH)), inputs);
    for (const [k, layer] of alone) sums.get(k)!.add((await runFloat(layer, [batch.get(graph.ops[k].inputs[0])!])).get(layer.outputs[0])!);
  }
  return new Map([...sums].map(([k, mean]) => [k, mean.result()]));
}

/** Per channel mean of the layer's pre-activation output from its int8 input and int8 weights, dequantized. */
async function quantizedMean(int8: Graph, layer: Layer, inputs: TensorData[], count: number): Promise<Float64Array> {
  const weights = int8.tensors[layer.inputs[1]];
  const { scale, axis } = weights.quant!;
  const channelOf = channelIndexer(weights.shape, axis);
  const real = Float32Array.from(weights.data as Int8Array, (q, i) => q * scale[channelOf(i)]);
  const alone = preActivation(int8, layer, real);
  const size = numel(int8.tensors[layer.inputs[0]].shape);
  const x = new Float32Array(count * size);
  inputs.forEach((values, s) => x.set(realValues(int8, layer.inputs[0], values), s * size));
  const mean = new ChannelMean(weights.shape[axis]);
  mean.add((await runFloat(alone, [x])).get(alone.outputs[0])!);
  return mean.result();
}

/** The layer alone, in float, without its activation and with a zero bias: input -> layer -> output. */
function preActivation(graph: Graph, op: Layer, weights: Float32Array): Graph {
  const float = (t: Tensor): Tensor => ({ name: t.name, shape: t.shape, dtype: 'float32' });
  const w = graph.tensors[op.inputs[1]];
  const tensors: Tensor[] = [float(graph.tensors[op.inputs[0]]), { ...float(w), data: weights }, float(graph.tensors[op.outputs[0]])];
  return {
    name: `${graph.name}/${op.kind}`,
    tensors,
    ops: [{ ...op, inputs: [0, 1], outputs: [2], attrs: { ...op.attrs, activation: 'none' } } as Op],
    inputs: [0],
    outputs: [2],
  };
}

const channelsOf = (graph: Graph, op: Op) => graph.tensors[op.outputs[0]].shape.at(-1) ?? 1;

/** Running mean of each channel (last axis) over everything added. */
class ChannelMean {
  private readonly sums: Float64Array;
  private count = 0;

  constructor(channels: number) {
    this.sums = new Float64Array(channels);
  }

  add(values: Float32Array): void {
    const channels = this.sums.length;
    for (let i = 0; i < values.length; i++) this.sums[i % channels] += values[i];
    this.count += values.length / channels;
  }

  result(): Float64Array {
    return this.sums.map((s) => s / Math.max(1, this.count));
  }
}
