// The float executor: runs a float32 Graph on many samples at once through tfjs-core and hands
// back any activation tensor (calibration records every activation's range; the per-layer error
// report compares each int8 layer with its float twin).

import * as tf from '@tensorflow/tfjs-core';
import { numel } from '../ir/dtype.ts';
import { dataError, modelError, usageError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';
import { verifyGraph } from '../ir/verify.ts';
import { type FloatBackend, onBackend } from './backend.ts';
import { type FloatKernel, compileFloatOp } from './kernels.ts';

export interface RunFloatOptions {
  /** Activation tensors (graph inputs or op outputs) to return besides the graph outputs. */
  keep?: number[];
  /** Samples per tfjs call: bounds the memory tfjs holds at once. Default 64. */
  batchSize?: number;
  /** Default 'wasm', the faster one for inference. */
  backend?: FloatBackend;
}

/**
 * Runs `graph` on N samples. `inputs[k]` holds N samples of graph input k back to back
 * ([N, ...shape], row-major). Returns, for every graph output and every kept tensor, its N values
 * as [N, ...shape].
 */
export async function runFloat(graph: Graph, inputs: Float32Array[], options: RunFloatOptions = {}): Promise<Map<number, Float32Array>> {
  verifyGraph(graph);
  checkFloat(graph);
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw usageError(`batch size must be a positive integer, got ${batchSize}`);
  const samples = countSamples(graph, inputs);
  const wanted = [...new Set([...graph.outputs, ...checkKeep(graph, options.keep ?? [])])];
  const results = new Map(wanted.map((t) => [t, new Float32Array(samples * numel(graph.tensors[t].shape))]));

  await onBackend(options.backend ?? 'wasm', () =>
    tf.tidy(() => {
      const kernels = graph.ops.map((op, index) => compileFloatOp(graph, op, index));
      for (let start = 0; start < samples; start += batchSize) {
        tf.tidy(() => runChunk(graph, kernels, inputs, start, Math.min(samples, start + batchSize), results));
      }
    }),
  );
  return results;
}

function runChunk(
  graph: Graph,
  kernels: FloatKernel[],
  inputs: Float32Array[],
  start: number,
  end: number,
  results: Map<number, Float32Array>,
): void {
  const count = end - start;
  const lastUse = new Map<number, number>();
  graph.ops.forEach((op, i) => op.inputs.forEach((t) => lastUse.set(t, i)));
  const values = new Map<number, tf.Tensor>();

  const store = (t: number, value: tf.Tensor) => {
    values.set(t, value);
    const out = results.get(t);
    if (out) out.set(value.dataSync(), start * numel(graph.tensors[t].shape));
  };
  /** A constant used as data is repeated for every sample. */
  const sampled = (t: number): tf.Tensor => {
    const value = values.get(t);
    if (value) return value;
    const { shape, data } = graph.tensors[t];
    return tf.broadcastTo(tf.tensor(data as Float32Array, [1, ...shape], 'float32'), [count, ...shape]);
  };

  graph.inputs.forEach((t, k) => {
    const size = numel(graph.tensors[t].shape);
    store(t, tf.tensor(inputs[k].subarray(start * size, end * size), [count, ...graph.tensors[t].shape], 'float32'));
  });
  graph.ops.forEach((op, i) => {
    const kernel = kernels[i];
    const output = op.outputs[0];
    const value = tf.tidy(() => {
      const data = op.inputs.slice(0, kernel.dataInputs).map(sampled);
      return tf.reshape(kernel.run(data), [count, ...graph.tensors[output].shape]);
    });
    store(output, value);
    // Wanted values were copied out when stored; tfjs memory is freed as soon as the last reader ran.
    for (const t of op.inputs) if (lastUse.get(t) === i) values.get(t)?.dispose();
  });
}

function checkFloat(graph: Graph): void {
  const used = new Set([...graph.inputs, ...graph.outputs, ...graph.ops.flatMap((op) => [...op.inputs, ...op.outputs])]);
  // Indices (ARG_MAX, ARG_MIN) are the one int32 result a float model has; they come out as floats.
  const indices = new Set(graph.ops.filter((op) => op.kind === 'arg_max' || op.kind === 'arg_min').map((op) => op.outputs[0]));
  const other = [...used].filter((t) => graph.tensors[t].dtype !== 'float32' && !indices.has(t));
  if (other.length > 0) {
    throw modelError(
      `${graph.name}: the float executor runs float32 graphs only; run it on the model before quantization`,
      other.map((t) => `tensor ${t} '${graph.tensors[t].name}' is ${graph.tensors[t].dtype}`),
    );
  }
}

function countSamples(graph: Graph, inputs: Float32Array[]): number {
  if (inputs.length !== graph.inputs.length) {
    throw dataError(`${graph.name}: the model takes ${graph.inputs.length} input(s), ${inputs.length} given`);
  }
  const counts = graph.inputs.map((t, k) => {
    const { name, shape } = graph.tensors[t];
    const size = numel(shape);
    if (!(inputs[k] instanceof Float32Array) || size === 0 || inputs[k].length % size !== 0) {
      throw dataError(`${graph.name}: input ${k} '${name}' needs float32 samples of shape [${shape}] (${size} values each), got ${inputs[k].length} values`);
    }
    return inputs[k].length / size;
  });
  if (counts.some((n) => n !== counts[0])) {
    throw dataError(`${graph.name}: the inputs hold different numbers of samples (${counts.join(', ')})`);
  }
  // A graph without inputs computes one constant sample.
  return counts[0] ?? 1;
}

function checkKeep(graph: Graph, keep: number[]): number[] {
  const activations = new Set([...graph.inputs, ...graph.ops.map((op) => op.outputs[0])]);
  const bad = keep.filter((t) => !activations.has(t));
  if (bad.length > 0) throw usageError(`${graph.name}: tensors [${bad}] are not activations of the graph (graph inputs or op outputs)`);
  return keep;
}
