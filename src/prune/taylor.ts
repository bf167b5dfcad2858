// First-order Taylor importance (Molchanov et al.): removing channel c of an activation a changes
// the loss by about -sum over positions of a * dL/da for that channel. Its size, per sample,
// summed over the samples, scores the channel. The loss is the one recovery trains on:
// cross-entropy on the labels, or on the model's own top-1 class without labels (distillation's
// hard targets: against itself the softened KL has no gradient), for a softmax output; for
// other outputs, a seeded random projection of the output, so the score follows how far the
// output moves whatever the direction.

import * as tf from '@tensorflow/tfjs-core';
import { onBackend } from '../float/backend.ts';
import { runFloat } from '../float/run.ts';
import { gatherBatch, seededRandom, TrainableGraph } from '../float/train.ts';
import { numel } from '../ir/dtype.ts';
import { usageError } from '../ir/errors.ts';
import { opTraits } from '../ir/op-traits.ts';
import type { Graph } from '../ir/types.ts';
import { distillTargets, type DistillTarget } from './distill.ts';
import type { Dataset } from './types.ts';

export interface TaylorOptions {
  /** Samples used (the first ones). Default 256. */
  samples?: number;
  /** Samples per gradient computation. Default 32. */
  batchSize?: number;
  /** Seeds the projections of outputs that are not a softmax. Default 1. */
  seed?: number;
}

/** The output tensor of every layer with weights, each once, in graph order. */
export function weightedOutputs(graph: Graph): number[] {
  return [...new Set(graph.ops.filter((op) => opTraits(op).weights).map((op) => op.outputs[0]))];
}

/** Per sample and target: the class to score against (softmax outputs), or the projection (others). */
async function lossTargets(graph: Graph, targets: DistillTarget[], data: Dataset, count: number, seed: number): Promise<Map<number, Float32Array>> {
  const random = seededRandom(seed);
  const inputs = graph.inputs.map((t, k) => data.inputs[k].subarray(0, count * numel(graph.tensors[t].shape)));
  const needOwnClasses = targets.some((t, k) => t.kind === 'softmax' && !(k === 0 && data.labels));
  const own = needOwnClasses ? await runFloat(graph, inputs, { keep: targets.map((t) => t.tensor) }) : undefined;
  return new Map(
    targets.map((target, k) => {
      const shape = graph.tensors[target.tensor].shape;
      const size = numel(shape);
      if (target.kind === 'values') return [target.tensor, Float32Array.from({ length: count * size }, () => (random() < 0.5 ? -1 : 1))];
      const width = shape.at(-1) ?? 1;
      const rows = (count * size) / width;
      if (k === 0 && data.labels) return [target.tensor, Float32Array.from({ length: rows }, (_, r) => data.labels![Math.floor(r / (rows / count))])];
      const values = own!.get(target.tensor)!;
      return [
        target.tensor,
        Float32Array.from({ length: rows }, (_, r) => {
          let best = 0;
          for (let c = 1; c < width; c++) if (values[r * width + c] > values[r * width + best]) best = c;
          return best;
        }),
      ];
    }),
  );
}

/**
 * Per output tensor of every layer with weights (conv, depthwise, dense), a score per channel
 * (its last axis): the sum over samples of |sum over positions of activation * gradient|. Larger
 * means removing the channel moves the loss more. Scores are raw: normalise before comparing layers.
 */
export async function taylorImportance(graph: Graph, data: Dataset, options: TaylorOptions = {}): Promise<Map<number, Float32Array>> {
  const count = Math.min(data.count, options.samples ?? 256);
  const batchSize = options.batchSize ?? 32;
  if (count < 1) throw usageError('Taylor importance needs at least one sample');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw usageError(`batch size must be a positive integer, got ${batchSize}`);
  const targets = distillTargets(graph);
  const goals = await lossTargets(graph, targets, data, count, options.seed ?? 1);
  const scored = weightedOutputs(graph);
  const channels = (t: number) => graph.tensors[t].shape.at(-1) ?? 1;
  const scores = new Map(scored.map((t) => [t, new Float64Array(channels(t))]));
  const samples = { inputs: data.inputs, count };

  const trainable = await onBackend('cpu', () => new TrainableGraph(graph));
  try {
    for (let start = 0; start < count; start += batchSize) {
      const indices = Int32Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
      const batch = await onBackend('cpu', () =>
        tf.tidy(() => {
          const inputs = gatherBatch(graph, samples, indices);
          const zeros = scored.map((t) => tf.zeros([indices.length, ...graph.tensors[t].shape]));
          let activations: tf.Tensor[] = [];
          const loss = (...probes: tf.Tensor[]) => {
            const wanted = [...new Set([...scored, ...targets.map((t) => t.tensor)])];
            const values = trainable.forward(inputs, wanted, new Map(scored.map((t, k) => [t, probes[k]])));
            // Kept past the gradient's own scope, which disposes everything but the loss.
            activations = scored.map((t) => tf.keep(values.get(t)!));
            return tf.addN(targets.map((target) => targetLoss(graph, target, values.get(target.tensor)!, goals.get(target.tensor)!, indices))) as tf.Scalar;
          };
          const gradients = tf.grads(loss)(zeros);
          // Per sample and channel: |sum over positions of a * g|, then summed over the batch.
          const sums = scored.map((t, k) => tf.sum(tf.abs(tf.sum(tf.reshape(tf.mul(activations[k], gradients[k]), [indices.length, -1, channels(t)]), 1)), 0).dataSync() as Float32Array);
          tf.dispose(activations);
          return sums;
        }),
      );
      scored.forEach((t, k) => batch[k].forEach((v, c) => (scores.get(t)![c] += v)));
    }
  } finally {
    await onBackend('cpu', () => trainable.dispose());
  }
  return new Map([...scores].map(([t, s]) => [t, Float32Array.from(s)]));
}

/** The loss of one output for the samples at `indices`, summed over them (scores add up per sample). */
function targetLoss(graph: Graph, target: DistillTarget, value: tf.Tensor, goal: Float32Array, indices: Int32Array): tf.Scalar {
  const shape = graph.tensors[target.tensor].shape;
  const size = numel(shape);
  if (target.kind === 'values') {
    const projection = new Float32Array(indices.length * size);
    indices.forEach((s, i) => projection.set(goal.subarray(s * size, (s + 1) * size), i * size));
    return tf.sum(tf.mul(value, tf.tensor(projection, value.shape)));
  }
  const width = shape.at(-1) ?? 1;
  const rows = size / width;
  const classes = new Int32Array(indices.length * rows);
  indices.forEach((s, i) => classes.set(goal.subarray(s * rows, (s + 1) * rows), i * rows));
  const logits = tf.mul(tf.reshape(value, [-1, width]), target.beta);
  return tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(classes, 'int32'), width), tf.logSoftmax(logits)))) as tf.Scalar;
}
