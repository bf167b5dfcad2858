// Removes channels for real: every activation tensor named in `kept` shrinks on its last axis, and
// every constant that makes, reads or carries those channels is sliced to match. Op and tensor
// indices stay as they were, so the original and the pruned graph name the same values alike and
// every later stage (float execution, quantization, planning, code generation) takes the result.

import { numel } from '../ir/dtype.ts';
import { usageError } from '../ir/errors.ts';
import { type ChannelFlow, channelFlowOf, opTraits } from '../ir/op-traits.ts';
import type { Graph, Op, Tensor, TensorData } from '../ir/types.ts';
import { describeOp, verifyGraph } from '../ir/verify.ts';
import type { KeptChannels } from './types.ts';

const lastDim = (shape: number[]) => (shape.length === 0 ? 1 : shape[shape.length - 1]);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sameList = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Values of `data` (row-major, `shape`) at `indices` along `axis`; the typed array kind is kept. */
export function takeAlong(data: TensorData, shape: number[], axis: number, indices: number[]): TensorData {
  const inner = numel(shape.slice(axis + 1));
  const outer = numel(shape.slice(0, axis));
  const size = shape[axis];
  const out = new (data.constructor as new (n: number) => TensorData)(outer * indices.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const index of indices) {
      const from = (o * size + index) * inner;
      // Typed arrays of one kind copy into each other; the cast only quiets the union.
      (out as Float32Array).set((data as Float32Array).subarray(from, from + inner), at);
      at += inner;
    }
  }
  return out;
}

/**
 * How a reshape carries channels: channel c of its input becomes features {s * C + c : s < spread}
 * of its output's last axis (spread 1 when the channel axis stays last; H*W for a flatten of NHWC),
 * or undefined when the reshape splits or moves the channel axis.
 */
export function reshapeSpread(input: number[], output: number[]): number | undefined {
  const channels = lastDim(input);
  const features = lastDim(output);
  if (features % channels !== 0) return undefined;
  // The output's last axis must gather whole trailing axes of the input, the channel axis last.
  let product = 1;
  for (let axis = input.length - 1; axis >= 0 && product < features; axis--) product *= input[axis];
  if (product !== features) return undefined;
  return features / channels;
}

/** The output features a reshape keeps when its input keeps `kept` of `channels` channels. */
export function spreadChannels(kept: number[], channels: number, spread: number): number[] {
  const features: number[] = [];
  for (let s = 0; s < spread; s++) for (const c of kept) features.push(s * channels + c);
  return features;
}

/**
 * How channels cross `op` in this graph: the registry's flow, and a reshape that splits or moves
 * the channel axis (only shapes tell) mixes channels.
 */
export function effectiveFlow(graph: Graph, op: Op): ChannelFlow {
  const input = graph.tensors[op.inputs[0]].shape;
  const flow = channelFlowOf(op, input.length);
  if (flow !== 'reshape') return flow;
  return reshapeSpread(input, graph.tensors[op.outputs[0]].shape) === undefined ? 'opaque' : flow;
}

/** Collects, per constant, the indices it keeps along each axis; two readers must agree. */
class ConstantSlices {
  private readonly slices = new Map<number, Map<number, number[]>>();

  constructor(private readonly graph: Graph) {}

  take(tensor: number, axis: number, indices: number[], where: string): void {
    const { shape, name } = this.graph.tensors[tensor];
    if (sameList(indices, range(shape[axis]))) return;
    const axes = this.slices.get(tensor) ?? new Map<number, number[]>();
    const earlier = axes.get(axis);
    if (earlier && !sameList(earlier, indices)) {
      throw usageError(`${where}: constant ${tensor} '${name}' is shared with another op that keeps different channels of its axis ${axis}`);
    }
    axes.set(axis, indices);
    this.slices.set(tensor, axes);
  }

  apply(tensors: Tensor[]): void {
    for (const [t, axes] of this.slices) {
      let { shape, data } = tensors[t];
      for (const [axis, indices] of axes) {
        data = takeAlong(data!, shape, axis, indices);
        shape = shape.map((d, i) => (i === axis ? indices.length : d));
      }
      tensors[t] = { ...tensors[t], shape, data };
    }
  }
}

function checkKept(graph: Graph, kept: KeptChannels): void {
  const activations = new Set([...graph.inputs, ...graph.ops.map((op) => op.outputs[0])]);
  const ends = new Set([...graph.inputs, ...graph.outputs]);
  for (const [t, channels] of kept) {
    const tensor = graph.tensors[t];
    if (!activations.has(t)) throw usageError(`${graph.name}: tensor ${t} is not an activation of the graph; only activations' channels are pruned`);
    const count = lastDim(tensor.shape);
    if (channels.length === 0) throw usageError(`${graph.name}: tensor ${t} '${tensor.name}' would keep no channel`);
    if (channels.some((c, i) => !Number.isInteger(c) || c < 0 || c >= count || (i > 0 && c <= channels[i - 1]))) {
      throw usageError(`${graph.name}: the channels kept of tensor ${t} '${tensor.name}' must be ascending indices below ${count}`);
    }
    if (ends.has(t) && channels.length !== count) {
      throw usageError(`${graph.name}: tensor ${t} '${tensor.name}' is a graph input or output, whose channels are never pruned`);
    }
  }
}

/**
 * The graph with the channels of `kept` removed. Checks that the kept channels agree wherever an
 * op ties them (element-wise ops, depthwise, concatenation, reshape), so an inconsistent choice
 * fails here with the op named rather than later with a shape error.
 */
export function applyPruning(graph: Graph, kept: KeptChannels): Graph {
  checkKept(graph, kept);
  const keptOf = (t: number) => kept.get(t) ?? range(lastDim(graph.tensors[t].shape));
  const tensors = [...graph.tensors];
  for (const [t, channels] of kept) {
    const shape = graph.tensors[t].shape;
    tensors[t] = { ...graph.tensors[t], shape: shape.length === 0 ? shape : [...shape.slice(0, -1), channels.length] };
  }
  const constants = new ConstantSlices(graph);
  const ops = graph.ops.map((op, index) => pruneOp(graph, op, describeOp(op, index), keptOf, constants, tensors));
  constants.apply(tensors);
  const pruned: Graph = { ...graph, tensors, ops };
  verifyGraph(pruned);
  return pruned;
}

function pruneOp(
  graph: Graph,
  op: Op,
  where: string,
  keptOf: (t: number) => number[],
  constants: ConstantSlices,
  tensors: Tensor[],
): Op {
  const traits = opTraits(op);
  const out = op.outputs[0];
  const outKept = keptOf(out);
  const outChannels = lastDim(graph.tensors[out].shape);
  const isConstant = (t: number) => graph.tensors[t].data !== undefined;
  const mustMatch = (t: number, expected: number[]) => {
    if (!sameList(keptOf(t), expected)) {
      throw usageError(`${where}: ties the channels of tensor ${t} '${graph.tensors[t].name}' to its output's, but they keep different channels`);
    }
  };
  const flow = effectiveFlow(graph, op);

  if (traits.weights) {
    const { input, outputAxis, inputAxis } = traits.weights;
    const weights = op.inputs[input];
    constants.take(weights, outputAxis, outKept, where);
    if (inputAxis !== undefined) {
      const data = op.inputs[0];
      // A dense layer whose depth is not its input's last axis flattens the whole input: no channel maps to a column.
      if (graph.tensors[weights].shape[inputAxis] === lastDim(graph.tensors[data].shape)) constants.take(weights, inputAxis, keptOf(data), where);
      else if (keptOf(data).length !== lastDim(graph.tensors[data].shape)) throw usageError(`${where}: reads its whole input as one feature vector, so tensor ${data} cannot be pruned`);
    }
    if (traits.bias !== undefined && op.inputs[traits.bias] !== undefined) constants.take(op.inputs[traits.bias], 0, outKept, where);
  }
  switch (flow) {
    case 'none':
      return op;
    case 'same':
      for (const t of traits.dataInputs(op)) {
        const channels = lastDim(graph.tensors[t].shape);
        // An operand broadcast along the channel axis has nothing to lose.
        if (channels !== outChannels || channels === 1) continue;
        if (isConstant(t)) constants.take(t, graph.tensors[t].shape.length - 1, outKept, where);
        else mustMatch(t, outKept);
      }
      return op;
    case 'reduce':
      mustMatch(op.inputs[0], outKept);
      return op;
    case 'concat': {
      let offset = 0;
      const expected: number[] = [];
      for (const t of op.inputs) {
        expected.push(...keptOf(t).map((c) => c + offset));
        offset += lastDim(graph.tensors[t].shape);
      }
      if (!sameList(expected, outKept)) throw usageError(`${where}: its output keeps channels other than the ones its inputs keep`);
      return op;
    }
    case 'reshape': {
      const input = op.inputs[0];
      const inShape = graph.tensors[input].shape;
      const spread = reshapeSpread(inShape, graph.tensors[out].shape)!;
      if (!sameList(spreadChannels(keptOf(input), lastDim(inShape), spread), outKept)) {
        throw usageError(`${where}: its output keeps features other than the ones its input's channels become`);
      }
      return op.kind === 'reshape' ? { ...op, attrs: { ...op.attrs, shape: [...tensors[out].shape] } } : op;
    }
    case 'opaque':
      for (const t of [...traits.dataInputs(op), out]) {
        if (keptOf(t).length !== lastDim(graph.tensors[t].shape)) throw usageError(`${where}: mixes channels, so tensor ${t} '${graph.tensors[t].name}' cannot be pruned`);
      }
      return op;
  }
}
