// Folds inference batch normalization into the convolution or dense layer before it. The importers
// write a batch norm as x * scale + offset with per-channel constants (and a bias add as + offset):
// a mul by such a constant scales the weights and bias of each output channel, an add shifts the
// bias. Only float32 ops are folded; the reader's activation moves onto the folded op.

import { broadcastShapes } from '../ir/shape.ts';
import type { Graph, Op, Tensor } from '../ir/types.ts';
import { compact } from '../ir/compact.ts';
import { copyOp, isFloat, onlyReadBy, readersOf } from './graph-edit.ts';
import { outputChannelAxis } from '../ir/op-traits.ts';

/** A constant that changes each channel (the last axis) of `shape` without broadcasting it further. */
function perChannel(constant: number[], shape: number[]): boolean {
  const broadcast = broadcastShapes(shape, constant);
  if (!broadcast || broadcast.length !== shape.length || broadcast.some((d, i) => d !== shape[i])) return false;
  return constant.every((d, i) => d === 1 || i === constant.length - 1);
}

function scaleChannels(data: Float32Array, shape: number[], axis: number, factor: (channel: number) => number): Float32Array {
  const channels = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return data.map((v, i) => v * factor(Math.floor(i / inner) % channels));
}

/** Folds the first foldable pair, or returns undefined when there is none. */
function foldOnce(graph: Graph): Graph | undefined {
  const readers = readersOf(graph);
  for (const [pi, p] of graph.ops.entries()) {
    const axis = outputChannelAxis(p.kind);
    if (axis === undefined || !('activation' in p.attrs) || p.attrs.activation !== 'none' || !isFloat(graph, p)) continue;
    const t = p.outputs[0];
    const qi = readers[t][0];
    const q = graph.ops[qi];
    if (!q || (q.kind !== 'mul' && q.kind !== 'add') || !isFloat(graph, q) || !onlyReadBy(graph, readers, t, qi)) continue;
    const c = q.inputs[0] === t ? q.inputs[1] : q.inputs[0];
    const constant = graph.tensors[c];
    const shape = graph.tensors[t].shape;
    if (c === t || !constant.data || !perChannel(constant.shape, shape)) continue;

    const values = constant.data as Float32Array;
    const value = (channel: number) => (values.length === 1 ? values[0] : values[channel]);
    const channels = shape[shape.length - 1];
    const name = graph.tensors[q.outputs[0]].name;
    const tensors = [...graph.tensors];
    const add = (tensor: Tensor) => tensors.push(tensor) - 1;
    const inputs = [...p.inputs];
    const bias = p.inputs[2] === undefined ? undefined : graph.tensors[p.inputs[2]];
    if (q.kind === 'mul') {
      const w = graph.tensors[p.inputs[1]];
      inputs[1] = add({ ...w, name: `${name}/weights`, data: scaleChannels(w.data as Float32Array, w.shape, axis, value) });
      if (bias) inputs[2] = add({ ...bias, name: `${name}/bias`, data: (bias.data as Float32Array).map((v, ch) => v * value(ch)) });
    } else {
      const old = bias ? (bias.data as Float32Array) : new Float32Array(channels);
      inputs[2] = add({ name: `${name}/bias`, shape: bias ? bias.shape : [channels], dtype: 'float32', data: old.map((v, ch) => v + value(ch)) });
    }
    const folded = { ...copyOp(p), inputs, outputs: [...q.outputs], attrs: { ...p.attrs, activation: q.attrs.activation } } as Op;
    const ops = graph.ops.flatMap((op, i) => (i === pi ? [folded] : i === qi ? [] : [op]));
    return { ...graph, tensors, ops };
  }
  return undefined;
}

export function foldBatchNorm(graph: Graph): Graph {
  let current = graph;
  for (let next = foldOnce(current); next; next = foldOnce(current)) current = next;
  return current === graph ? graph : compact(current);
}
