// One tfjs-core computation per IR op kind, on float32. Every activation arrives with an extra
// leading sample axis ([samples, ...IR shape]); a kernel may return its result in any shape with
// the right element order, because the executor reshapes it to [samples, ...output shape].

import * as tf from '@tensorflow/tfjs-core';
import { modelError } from '../ir/errors.ts';
import { nearestIndex, transposeConvPadding, windowOutputSize, windowPadBefore } from '../ir/shape.ts';
import type { Activation, Graph, Op, Padding } from '../ir/types.ts';
import { describeOp } from '../ir/verify.ts';
import { lstmKernel } from './lstm.ts';

export interface FloatKernel {
  /** How many leading inputs carry samples; the rest (weights, biases) are bound at compile time. */
  dataInputs: number;
  run(inputs: tf.Tensor[]): tf.Tensor;
}

type Pair = [number, number];

function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'none':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'relu_n1_to_1':
      return tf.clipByValue(x, -1, 1);
  }
}

interface Window {
  stride: Pair;
  dilation: Pair;
  padding: Padding;
}

type WindowedOp = (x: tf.Tensor4D, stride: Pair, padding: Padding, dilation: Pair) => tf.Tensor4D;

/**
 * tfjs refuses a stride and a dilation both above 1. TFLite allows it: then pad the input as
 * TFLite would, run with stride 1 and no padding, and keep every stride-th output.
 */
function windowed(x: tf.Tensor4D, kernel: Pair, w: Window, apply: WindowedOp): tf.Tensor4D {
  const unit = (p: Pair) => p[0] === 1 && p[1] === 1;
  if (unit(w.stride) || unit(w.dilation)) return apply(x, w.stride, w.padding, w.dilation);
  const sizes = [x.shape[1], x.shape[2]];
  const out = [0, 1].map((a) => windowOutputSize(sizes[a], kernel[a], w.stride[a], w.dilation[a], w.padding));
  const pads = [0, 1].map((a) => {
    const before = windowPadBefore(sizes[a], kernel[a], w.stride[a], w.dilation[a], w.padding);
    const needed = (out[a] - 1) * w.stride[a] + (kernel[a] - 1) * w.dilation[a] + 1;
    return [before, Math.max(0, needed - sizes[a] - before)] as Pair;
  });
  const dense = apply(tf.pad(x, [[0, 0], pads[0], pads[1], [0, 0]]), [1, 1], 'valid', w.dilation);
  const [samples, , , channels] = dense.shape;
  const end = [samples, (out[0] - 1) * w.stride[0] + 1, (out[1] - 1) * w.stride[1] + 1, channels];
  return tf.stridedSlice(dense, [0, 0, 0, 0], end, [1, w.stride[0], w.stride[1], 1]) as tf.Tensor4D;
}

/** The IR's NHWC activation with the sample axis folded into the batch axis. */
function nhwc(x: tf.Tensor): tf.Tensor4D {
  const [h, w, c] = x.shape.slice(-3);
  return tf.reshape(x, [-1, h, w, c]);
}

/** Brings every input to rank `rank` + 1 (sample axis first) so tfjs broadcasts as numpy does on the IR shapes. */
function alignRanks(inputs: tf.Tensor[], rank: number): tf.Tensor[] {
  return inputs.map((x) => {
    const [samples, ...shape] = x.shape;
    return tf.reshape(x, [samples, ...new Array<number>(rank - shape.length).fill(1), ...shape]);
  });
}

/** The value of a constant input (weights, bias) as a tfjs tensor. */
export type ConstantSource = (tensor: number) => tf.Tensor;

/** Constants as the graph holds them; the trainer passes its variables instead, so gradients reach them. */
export const graphConstants =
  (graph: Graph): ConstantSource =>
  (index) => {
    const t = graph.tensors[index];
    return tf.tensor(t.data as Float32Array, t.shape, 'float32');
  };

/** Compiles one op; the weight tensors it makes live until the caller's tidy scope ends. */
export function compileFloatOp(graph: Graph, op: Op, index: number, constants: ConstantSource = graphConstants(graph)): FloatKernel {
  const constant = (t: number | undefined) => (t === undefined ? undefined : constants(t));
  const outRank = graph.tensors[op.outputs[0]].shape.length;
  const all = (run: (inputs: tf.Tensor[]) => tf.Tensor): FloatKernel => ({ dataInputs: op.inputs.length, run });
  switch (op.kind) {
    case 'conv2d': {
      const ohwi = constant(op.inputs[1]) as tf.Tensor4D;
      const filter = tf.transpose(ohwi, [1, 2, 3, 0]);
      const bias = constant(op.inputs[2]);
      const kernel: Pair = [ohwi.shape[1], ohwi.shape[2]];
      return {
        dataInputs: 1,
        run: ([x]) => {
          const y = windowed(nhwc(x), kernel, op.attrs, (input, strides, pad, dilations) =>
            tf.fused.conv2d({ x: input, filter, strides, pad, dilations, bias }),
          );
          return activate(y, op.attrs.activation);
        },
      };
    }
    case 'transpose_conv2d': {
      // A convolution of the stride-dilated input with the flipped filter: input pixel i lands on
      // output o = i * stride - pad + k, so the dilated input is padded by kernel - 1 - pad first.
      const ohwi = constant(op.inputs[1]) as tf.Tensor4D;
      const filter = tf.reverse(tf.transpose(ohwi, [1, 2, 3, 0]), [0, 1]) as tf.Tensor4D;
      const bias = constant(op.inputs[2]);
      const { size, stride, padding, activation } = op.attrs;
      const kernel: Pair = [ohwi.shape[1], ohwi.shape[2]];
      return {
        dataInputs: 1,
        run: ([x]) => {
          const input = nhwc(x);
          const [n, h, w, c] = input.shape;
          const spread = tf.pad(tf.reshape(input, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, stride[0] - 1], [0, 0], [0, stride[1] - 1], [0, 0]]);
          const dilated = tf.reshape(spread, [n, h * stride[0], w * stride[1], c]);
          const around = [0, 1].map((a) => {
            const before = kernel[a] - 1 - transposeConvPadding(size[a], kernel[a], stride[a], padding);
            return [before, size[a] + kernel[a] - 1 - before - dilated.shape[1 + a]];
          });
          // Negative padding crops: pad by the positive parts, then slice the window that remains.
          const padded = tf.pad(dilated, [[0, 0], ...around.map(([b, e]) => [Math.max(0, b), Math.max(0, e)] as Pair), [0, 0]]);
          const start = around.map(([b]) => Math.max(0, -b));
          const window = tf.slice(padded, [0, start[0], start[1], 0], [n, size[0] + kernel[0] - 1, size[1] + kernel[1] - 1, c]) as tf.Tensor4D;
          return activate(tf.fused.conv2d({ x: window, filter, strides: 1, pad: 'valid', bias }), activation);
        },
      };
    }
    case 'depthwise_conv2d': {
      const [, h, w, channels] = graph.tensors[op.inputs[1]].shape;
      const m = op.attrs.depthMultiplier;
      // 1HW(C*M) and HWCM hold the same values in the same order.
      const filter = tf.reshape(constant(op.inputs[1]) as tf.Tensor, [h, w, channels / m, m]) as tf.Tensor4D;
      const bias = constant(op.inputs[2]);
      return {
        dataInputs: 1,
        run: ([x]) => {
          const y = windowed(nhwc(x), [h, w], op.attrs, (input, strides, pad, dilations) =>
            tf.fused.depthwiseConv2d({ x: input, filter, strides, pad, dilations, bias }),
          );
          return activate(y, op.attrs.activation);
        },
      };
    }
    case 'fully_connected': {
      // [depth, units]: the wasm backend's fused matMul adds the bias wrongly with transposeB (tfjs 4.22).
      const weights = tf.transpose(constant(op.inputs[1]) as tf.Tensor2D);
      const bias = constant(op.inputs[2]);
      const depth = weights.shape[0];
      return {
        dataInputs: 1,
        run: ([x]) => activate(tf.fused.matMul({ a: tf.reshape(x, [-1, depth]), b: weights, bias }), op.attrs.activation),
      };
    }
    case 'avg_pool2d':
    case 'max_pool2d': {
      const pool = op.kind === 'avg_pool2d' ? tf.avgPool : tf.maxPool;
      const { filter, stride, padding, activation } = op.attrs;
      return all(([x]) => activate(pool(nhwc(x), filter, stride, padding), activation));
    }
    case 'add':
    case 'sub':
    case 'mul':
    case 'div': {
      const apply = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div }[op.kind];
      return all((inputs) => {
        const [a, b] = alignRanks(inputs, outRank);
        return activate(apply(a, b), op.attrs.activation);
      });
    }
    case 'maximum':
    case 'minimum': {
      const apply = op.kind === 'maximum' ? tf.maximum : tf.minimum;
      return all((inputs) => {
        const [a, b] = alignRanks(inputs, outRank);
        return apply(a, b);
      });
    }
    case 'batch_matmul':
      return all((inputs) => {
        // tfjs's matMul mixes up batch axes that broadcast both ways: broadcast them first.
        const batch = graph.tensors[op.outputs[0]].shape.slice(0, -2);
        const [a, b] = alignRanks(inputs, outRank).map((x) => tf.broadcastTo(x, [x.shape[0], ...batch, ...x.shape.slice(-2)]));
        return tf.matMul(a, b, op.attrs.adjX, op.attrs.adjY);
      });
    case 'squared_difference':
      return all((inputs) => {
        const [a, b] = alignRanks(inputs, outRank);
        return tf.squaredDifference(a, b);
      });
    case 'prelu':
      return all((inputs) => {
        const [x, alpha] = alignRanks(inputs, outRank);
        return tf.where(tf.greaterEqual(x, 0), x, tf.mul(x, alpha));
      });
    case 'reshape':
    case 'squeeze':
      return all(([x]) => x);
    case 'log_softmax':
      return all(([x]) => tf.logSoftmax(x));
    case 'softmax': {
      const beta = op.attrs.beta;
      return all(([x]) => tf.softmax(beta === 1 ? x : tf.mul(x, beta)));
    }
    case 'logistic':
      return all(([x]) => tf.sigmoid(x));
    case 'tanh':
      return all(([x]) => tf.tanh(x));
    case 'relu':
      return all(([x]) => tf.relu(x));
    case 'relu6':
      return all(([x]) => tf.relu6(x));
    case 'rsqrt':
      return all(([x]) => tf.rsqrt(x));
    case 'exp':
      return all(([x]) => tf.exp(x));
    case 'elu':
      return all(([x]) => tf.elu(x));
    case 'leaky_relu':
      return all(([x]) => tf.leakyRelu(x, op.attrs.alpha));
    case 'hard_swish':
      // x * relu6(x + 3) / 6, multiplied before dividing as TFLite does.
      return all(([x]) => tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6));
    case 'pad':
      return all(([x]) => tf.pad(x, [[0, 0], ...op.attrs.paddings]));
    case 'concatenation':
      return all((inputs) => activate(tf.concat(inputs, op.attrs.axis + 1), op.attrs.activation));
    case 'mean':
    case 'sum':
    case 'reduce_max': {
      const reduce = { mean: tf.mean, sum: tf.sum, reduce_max: tf.max }[op.kind];
      return all(([x]) => reduce(x, op.attrs.axes.map((a) => a + 1), op.attrs.keepDims));
    }
    case 'strided_slice': {
      const { begin, stride, size } = op.attrs;
      const inShape = graph.tensors[op.inputs[0]].shape;
      const picks = begin.flatMap((b, d) =>
        b === 0 && stride[d] === 1 && size[d] === inShape[d] ? [] : [{ axis: d + 1, at: Array.from({ length: size[d] }, (_, i) => b + i * stride[d]) }],
      );
      return all(([x]) => picks.reduce((y, p) => tf.gather(y, tf.tensor1d(p.at, 'int32'), p.axis), x));
    }
    case 'transpose':
      return all(([x]) => tf.transpose(x, [0, ...op.attrs.perm.map((p) => p + 1)]));
    case 'space_to_depth':
    case 'depth_to_space': {
      // Both swap the block-row axis with the column axis in a 6-D view of the same values.
      const [, h, w, c] = graph.tensors[op.inputs[0]].shape;
      const b = op.attrs.blockSize;
      const view = op.kind === 'space_to_depth' ? [-1, h / b, b, w / b, b, c] : [-1, h, w, b, b, c / (b * b)];
      return all(([x]) => tf.transpose(tf.reshape(x, view), [0, 1, 3, 2, 4, 5]));
    }
    case 'resize_nearest': {
      // TFLite's own pixel choice (tfjs refuses aligned corners with half-pixel centres).
      const { size, alignCorners, halfPixelCenters } = op.attrs;
      const [, h, w] = graph.tensors[op.inputs[0]].shape;
      const pick = (count: number, inSize: number) => tf.tensor1d(Array.from({ length: count }, (_, i) => nearestIndex(i, inSize, count, alignCorners, halfPixelCenters)), 'int32');
      return all(([x]) => tf.gather(tf.gather(nhwc(x), pick(size[0], h), 1), pick(size[1], w), 2));
    }
    case 'arg_max':
    case 'arg_min': {
      const apply = op.kind === 'arg_max' ? tf.argMax : tf.argMin;
      return all(([x]) => apply(x, op.attrs.axis + 1));
    }
    case 'resize_bilinear': {
      const { size, alignCorners, halfPixelCenters } = op.attrs;
      return all(([x]) => tf.image.resizeBilinear(nhwc(x), size, alignCorners, halfPixelCenters));
    }
    case 'pack':
      return all((inputs) => tf.stack(inputs, op.attrs.axis + 1));
    case 'gather': {
      const { axis, indices } = op.attrs;
      return all(([x]) => tf.gather(x, tf.tensor1d(indices, 'int32'), axis + 1));
    }
    case 'quantize':
    case 'dequantize':
      throw modelError(`${graph.name}: ${describeOp(op, index)} converts between float and integer; the float executor runs float32 graphs only`);
    case 'unidirectional_sequence_lstm': {
      const lstm = lstmKernel(op, constants);
      return { dataInputs: 1, run: ([x]) => lstm(x) };
    }
    case 'svdf':
      throw modelError(`${graph.name}: ${describeOp(op, index)}: SVDF runs in int8 only (the model builds and runs as it is)`);
  }
}
