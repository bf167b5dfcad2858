// Knowledge distillation: a pruned (student) graph fine-tuned to reproduce the unpruned (teacher)
// graph's outputs on the user's data, with cross-entropy on labels when the user has them. The
// teacher runs once, up front, on the fast inference backend; training sees only the IR, so a
// TF.js model and a float TFLite model are tuned alike.

import * as tf from '@tensorflow/tfjs-core';
import { runFloat } from '../float/run.ts';
import { trainGraph, type BatchLoss, type TrainOptions, type TrainResult } from '../float/train.ts';
import { numel } from '../ir/dtype.ts';
import { usageError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';
import type { Dataset } from './types.ts';

/** What the student is trained to match for one graph output. */
export interface DistillTarget {
  /** The graph output. */
  output: number;
  /** The tensor compared: the softmax's input for an output that is a softmax, else the output itself. */
  tensor: number;
  /** Softmax outputs are compared as distributions (on logits times `beta`); others by squared error. */
  kind: 'softmax' | 'values';
  beta: number;
}

/** Per graph output, what distillation compares. */
export function distillTargets(graph: Graph): DistillTarget[] {
  return graph.outputs.map((output) => {
    const producer = graph.ops.find((op) => op.outputs[0] === output);
    if (producer?.kind === 'softmax') return { output, tensor: producer.inputs[0], kind: 'softmax', beta: producer.attrs.beta };
    return { output, tensor: output, kind: 'values', beta: 1 };
  });
}

export interface DistillOptions extends TrainOptions {
  /** Softens both distributions: KL(teacher_T || student_T) * T^2. Default 4. */
  temperature?: number;
  /** Weight of the soft targets against cross-entropy on the labels (when given). Default 0.7. */
  softWeight?: number;
}

/** Values of `tensor` for the samples at `indices`, [indices.length * rows, width]. */
function rowsOf(values: Float32Array, size: number, width: number, indices: Int32Array): tf.Tensor2D {
  const out = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) out.set(values.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
  return tf.tensor2d(out, [(indices.length * size) / width, width]);
}

/**
 * The distillation loss for a batch: per output, KL on softened distributions (scaled by T^2 so
 * its gradients keep their size whatever T) or squared error relative to the teacher's mean
 * square; plus, with labels, cross-entropy on the first output when it is a softmax.
 */
export function distillationLoss(
  graph: Graph,
  targets: DistillTarget[],
  teacher: Map<number, Float32Array>,
  labels: Int32Array | undefined,
  temperature: number,
  softWeight: number,
): BatchLoss {
  const scale = new Map(
    targets.map(({ tensor }) => {
      const values = teacher.get(tensor)!;
      let sum = 0;
      for (const v of values) sum += v * v;
      return [tensor, values.length > 0 && sum > 0 ? values.length / sum : 1];
    }),
  );
  return (outputs, indices) => {
    const terms = targets.map(({ tensor, kind, beta }, k) => {
      const shape = graph.tensors[tensor].shape;
      const width = shape.at(-1) ?? 1;
      const target = rowsOf(teacher.get(tensor)!, numel(shape), width, indices);
      const student = tf.reshape(outputs.get(tensor)!, target.shape);
      if (kind === 'values') return tf.mul(tf.mean(tf.squaredDifference(student, target)), scale.get(tensor)!);
      const logits = tf.mul(student, beta);
      const soft = tf.softmax(tf.mul(target, beta / temperature));
      const kl = tf.sum(tf.mul(soft, tf.sub(tf.log(tf.add(soft, 1e-12)), tf.logSoftmax(tf.div(logits, temperature)))), -1);
      const distilled = tf.mul(tf.mean(kl), temperature * temperature);
      if (!labels || k !== 0) return distilled;
      const rows = target.shape[0] / indices.length;
      const picked = Int32Array.from({ length: target.shape[0] }, (_, r) => labels[indices[Math.floor(r / rows)]]);
      const hard = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(picked, 'int32'), width), logits);
      return tf.add(tf.mul(distilled, softWeight), tf.mul(hard, 1 - softWeight));
    });
    return tf.addN(terms) as tf.Scalar;
  };
}

/**
 * Fine-tunes `student` (the pruned graph: same inputs and outputs as `teacher`) toward the
 * teacher's outputs on `data`. Returns the tuned graph and how training went.
 */
export async function distill(teacher: Graph, student: Graph, data: Dataset, options: DistillOptions = {}): Promise<TrainResult> {
  const temperature = options.temperature ?? 4;
  const softWeight = options.softWeight ?? 0.7;
  if (!(temperature > 0)) throw usageError(`the distillation temperature must be positive, got ${temperature}`);
  if (!(softWeight >= 0 && softWeight <= 1)) throw usageError(`the soft-target weight must lie in [0, 1], got ${softWeight}`);
  const targets = distillTargets(teacher);
  const mismatch = targets.find(({ tensor }) => numel(teacher.tensors[tensor].shape) !== numel(student.tensors[tensor]?.shape ?? []));
  if (mismatch) throw usageError(`${student.name}: tensor ${mismatch.tensor} differs in size from the teacher's; the student must keep the teacher's outputs`);
  const tensors = targets.map((t) => t.tensor);
  const teacherValues = await runFloat(teacher, data.inputs, { keep: tensors });
  const loss = distillationLoss(teacher, targets, teacherValues, data.labels, temperature, softWeight);
  return trainGraph(student, data, tensors, loss, options);
}
