// UNIDIRECTIONAL_SEQUENCE_LSTM in float32 on tfjs-core, for the float executor (calibration,
// the per-layer error report, fine-tuning) and for calibrating the cell state, which is no tensor
// of the graph: its range sets the int16 cell state's scale.

import * as tf from '@tensorflow/tfjs-core';
import { numel } from '../ir/dtype.ts';
import type { Graph, LstmOp } from '../ir/types.ts';
import { onBackend } from './backend.ts';
import { type ConstantSource, graphConstants } from './kernels.ts';

/** The four gates' weights side by side, [features, 4 x units], and likewise the recurrent weights and the biases. */
interface LstmWeights {
  kernel: tf.Tensor2D;
  recurrent: tf.Tensor2D;
  bias: tf.Tensor1D;
}

/** The op's per-gate constants (input, forget, cell, output) stacked as one matrix product can use them. */
export function lstmWeights(op: LstmOp, constants: ConstantSource): LstmWeights {
  const stack = (from: number) => tf.concat([0, 1, 2, 3].map((g) => tf.transpose(constants(op.inputs[from + g]) as tf.Tensor2D)), 1) as tf.Tensor2D;
  return { kernel: stack(1), recurrent: stack(5), bias: tf.concat([9, 10, 11, 12].map((i) => constants(op.inputs[i]) as tf.Tensor1D)) };
}

/**
 * Runs sequences x [sequences, steps, features] from zero state and returns every step's hidden
 * state [sequences, steps, units]; `onCell` sees each step's cell state. `cellClip` > 0 clamps it.
 */
export function lstmSequence(x: tf.Tensor3D, w: LstmWeights, cellClip: number, onCell?: (cell: tf.Tensor2D) => void): tf.Tensor3D {
  const [sequences, steps] = x.shape;
  const units = w.recurrent.shape[0];
  let hidden: tf.Tensor2D = tf.zeros([sequences, units]);
  let cell: tf.Tensor2D = tf.zeros([sequences, units]);
  const outputs: tf.Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    const xt = tf.reshape(tf.slice(x, [0, t, 0], [sequences, 1, -1]), [sequences, -1]) as tf.Tensor2D;
    const z = tf.add(tf.add(tf.matMul(xt, w.kernel), w.bias), tf.matMul(hidden, w.recurrent));
    const [i, f, c, o] = tf.split(z, 4, 1);
    cell = tf.add(tf.mul(tf.sigmoid(f), cell), tf.mul(tf.sigmoid(i), tf.tanh(c)));
    if (cellClip > 0) cell = tf.clipByValue(cell, -cellClip, cellClip);
    onCell?.(cell);
    hidden = tf.mul(tf.sigmoid(o), tf.tanh(cell));
    outputs.push(hidden);
  }
  return tf.stack(outputs, 1) as tf.Tensor3D;
}

/** [samples, ...IR input shape] -> [samples x sequences, steps, features], batch-major. */
function sequencesOf(x: tf.Tensor, timeMajor: boolean): tf.Tensor3D {
  const [, a, b, features] = x.shape;
  const batchMajor = timeMajor ? tf.transpose(x, [0, 2, 1, 3]) : x;
  return tf.reshape(batchMajor, [-1, timeMajor ? a : b, features]);
}

/** The float executor's kernel: [samples, ...input shape] in, [samples, ...output shape] out. */
export function lstmKernel(op: LstmOp, constants: ConstantSource): (x: tf.Tensor) => tf.Tensor {
  const w = lstmWeights(op, constants);
  const { timeMajor, cellClip } = op.attrs;
  return (x) => {
    const [samples, a, b] = x.shape;
    const out = lstmSequence(sequencesOf(x, timeMajor), w, cellClip);
    const units = out.shape[2];
    if (!timeMajor) return out;
    return tf.transpose(tf.reshape(out, [samples, b, a, units]), [0, 2, 1, 3]);
  };
}

/**
 * The largest magnitude the op's cell state reaches over `input` ([samples, ...the op's input
 * shape], float32), each sample from zero state.
 */
export function lstmCellMagnitude(graph: Graph, op: LstmOp, input: Float32Array): Promise<number> {
  return onBackend('cpu', () =>
    tf.tidy(() => {
      const shape = graph.tensors[op.inputs[0]].shape;
      let largest = 0;
      const x = tf.tensor(input, [input.length / numel(shape), ...shape], 'float32');
      lstmSequence(sequencesOf(x, op.attrs.timeMajor), lstmWeights(op, graphConstants(graph)), op.attrs.cellClip, (cell) => {
        largest = Math.max(largest, tf.max(tf.abs(cell)).dataSync()[0]);
      });
      return largest;
    }),
  );
}
