// Models in the forms TensorFlow Lite's converter writes, built through edgec's own TFLite writer
// (there is no TensorFlow here):
// - one small float CNN stored four ways: float32; dynamic range (Optimize.DEFAULT without a
//   representative dataset: int8 weights with symmetric scales, per channel or per tensor, read
//   by CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED themselves, float32 biases, and a constant
//   of an op without a hybrid kernel behind a DEQUANTIZE); float16 (every constant FLOAT16
//   behind a DEQUANTIZE);
// - an int8 model with the edges `inference_input_type` / `inference_output_type` give it:
//   uint8 inputs and outputs through QUANTIZE, float ones through QUANTIZE and DEQUANTIZE.
// The float16 and int8 encodings here are the test's own, so that they check the importer's.

import type { TensorData } from '../../src/ir/types.ts';
import type { Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions } from '../../src/tflite/model.ts';
import { ActivationFunctionType as A, BuiltinOperator as B, BuiltinOptionsType as O, Padding as P } from '../../src/tflite/schema.ts';
import { random } from './op-graphs.ts';
import { ModelBuilder } from './tflite-models.ts';

export type Storage = 'float32' | 'dynamic-per-channel' | 'dynamic-per-tensor' | 'float16';

/** The nearest half-precision value (ties to even) as its bits; finite values of normal float range only. */
export function halfBits(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude === 0) return sign;
  const roundEven = (x: number) => {
    const f = Math.floor(x);
    return x - f > 0.5 || (x - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  };
  if (magnitude < 2 ** -14) return sign | roundEven(magnitude / 2 ** -24); // subnormal (the carry into 0x400 is right)
  let exponent = Math.floor(Math.log2(magnitude));
  let mantissa = roundEven(magnitude / 2 ** (exponent - 10));
  if (mantissa === 2048) [exponent, mantissa] = [exponent + 1, 1024];
  return sign | ((exponent + 15) << 10) | (mantissa - 1024);
}

/** The value of half-precision bits, computed independently of the importer's decoder (normal and subnormal only). */
export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 31;
  const mantissa = bits & 1023;
  return exponent === 0 ? sign * mantissa * 2 ** -24 : sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Symmetric int8 along `axis` (one scale when `axis` is undefined): the converter's weight quantization. */
export function symmetricInt8(values: Float32Array, shape: number[], axis?: number) {
  const channels = axis === undefined ? 1 : shape[axis];
  const inner = axis === undefined ? values.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => (channels === 1 ? 0 : Math.floor(i / inner) % channels);
  const maxAbs = new Array<number>(channels).fill(0);
  values.forEach((v, i) => (maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)], Math.abs(v))));
  const scale = maxAbs.map((m) => Math.fround(m / 127));
  const data = Int8Array.from(values, (v, i) => Math.round(v / scale[channelOf(i)]));
  return { data, scale, channelOf };
}

const convOptions: Conv2DOptions = { padding: P.SAME, strideW: 1, strideH: 1, activation: A.RELU, dilationW: 1, dilationH: 1, quantizedBiasType: 0 };
const dwOptions: DepthwiseConv2DOptions = { padding: P.SAME, strideW: 2, strideH: 2, depthMultiplier: 1, activation: A.RELU6, dilationW: 1, dilationH: 1 };
const fcOptions: FullyConnectedOptions = { activation: A.NONE, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 };

function values(count: number, seed: number, range: number): Float32Array {
  const rand = random(seed);
  return Float32Array.from({ length: count }, () => (rand() * 2 - 1) * range);
}

/** The CNN's float constants, by tensor name. */
export const CNN_CONSTANTS: Record<string, { shape: number[]; values: Float32Array; axis: number }> = {
  conv_w: { shape: [8, 3, 3, 3], values: values(216, 1, 0.5), axis: 0 },
  conv_b: { shape: [8], values: values(8, 2, 0.2), axis: 0 },
  dw_w: { shape: [1, 3, 3, 8], values: values(72, 3, 0.6), axis: 3 },
  dw_b: { shape: [8], values: values(8, 4, 0.2), axis: 0 },
  offset: { shape: [8], values: values(8, 5, 0.3), axis: 0 },
  fc_w: { shape: [5, 8], values: values(40, 6, 0.7), axis: 0 },
  fc_b: { shape: [5], values: values(5, 7, 0.1), axis: 0 },
};

export const CNN_INPUT_SHAPE = [1, 8, 8, 3];

/**
 * input [1,8,8,3] -> CONV_2D 3x3 relu -> DEPTHWISE_CONV_2D 3x3 stride 2 relu6 -> ADD constant
 * -> MEAN over space -> FULLY_CONNECTED -> SOFTMAX, its constants stored as `storage` says.
 * Without `offset`, no ADD (whose constant ties the channels, so that nothing could be pruned).
 * Returns the file and, per constant name, the float values the stored form stands for.
 */
export function cnnModel(storage: Storage, offset = true): { bytes: Uint8Array; stored: Map<string, Float32Array> } {
  const m = new ModelBuilder();
  const stored = new Map<string, Float32Array>();
  /** A constant the way this storage writes it; returns the tensor the op reads. */
  const constant = (name: string, role: 'weights' | 'bias' | 'other'): number => {
    const { shape, values: v, axis } = CNN_CONSTANTS[name];
    if (storage === 'float16') {
      const bits = Int16Array.from(v, halfBits);
      stored.set(name, Float32Array.from(bits, (b) => halfValue(b & 0xffff)));
      const half = m.tensor(`${name}_fp16`, shape, 'float16', { data: bits });
      const out = m.tensor(name, shape, 'float32');
      m.op(B.DEQUANTIZE, [half], [out]);
      return out;
    }
    if (storage === 'float32' || role === 'bias') {
      stored.set(name, v);
      return m.tensor(name, shape, 'float32', { data: v });
    }
    if (role === 'other') {
      // A constant of an op without a hybrid kernel: int8 (asymmetric here) behind a DEQUANTIZE.
      const scale = Math.fround(0.8 / 255);
      const zeroPoint = 5;
      const data = Int8Array.from(v, (x) => Math.round(x / scale) + zeroPoint);
      stored.set(name, Float32Array.from(data, (q) => scale * (q - zeroPoint)));
      const q = m.tensor(`${name}_int8`, shape, 'int8', { data, scale: [scale], zeroPoint: [zeroPoint] });
      const out = m.tensor(name, shape, 'float32');
      m.op(B.DEQUANTIZE, [q], [out]);
      return out;
    }
    const perChannel = storage === 'dynamic-per-channel';
    const { data, scale, channelOf } = symmetricInt8(v, shape, perChannel ? axis : undefined);
    stored.set(name, Float32Array.from(data, (q, i) => scale[channelOf(i)] * q));
    return m.tensor(name, shape, 'int8', { data, scale, axis: perChannel ? axis : 0 });
  };

  const x = m.tensor('input', CNN_INPUT_SHAPE, 'float32');
  const c1 = m.tensor('conv', [1, 8, 8, 8], 'float32');
  m.op(B.CONV_2D, [x, constant('conv_w', 'weights'), constant('conv_b', 'bias')], [c1], { type: O.Conv2DOptions, value: convOptions });
  const c2 = m.tensor('dw', [1, 4, 4, 8], 'float32');
  m.op(B.DEPTHWISE_CONV_2D, [c1, constant('dw_w', 'weights'), constant('dw_b', 'bias')], [c2], { type: O.DepthwiseConv2DOptions, value: dwOptions });
  let c3 = c2;
  if (offset) {
    c3 = m.tensor('shifted', [1, 4, 4, 8], 'float32');
    m.op(B.ADD, [c2, constant('offset', 'other')], [c3], { type: O.AddOptions, value: { activation: A.NONE, potScaleInt16: true } });
  }
  const axes = m.tensor('axes', [2], 'int32', { data: Int32Array.from([1, 2]) });
  const c4 = m.tensor('pooled', [1, 8], 'float32');
  m.op(B.MEAN, [c3, axes], [c4], { type: O.ReducerOptions, value: { keepDims: false } });
  const c5 = m.tensor('logits', [1, 5], 'float32');
  m.op(B.FULLY_CONNECTED, [c4, constant('fc_w', 'weights'), constant('fc_b', 'bias')], [c5], { type: O.FullyConnectedOptions, value: fcOptions });
  const y = m.tensor('probabilities', [1, 5], 'float32');
  m.op(B.SOFTMAX, [c5], [y], { type: O.SoftmaxOptions, value: { beta: 1 } });
  return { bytes: m.bytes([x], [y]), stored };
}

/** Quantization of each tensor of the edges model that a test checks by hand. */
export const EDGES = {
  in0: { scale: 0.02, zeroPoint: 128 }, // uint8 -> int8 at the same scale: the converter's 128 shift
  in1: { scale: 0.1, zeroPoint: 255 }, // uint8 at the top zero point
  in2: { scale: 0.5, zeroPoint: -128 }, // int8 at the bottom zero point
  b0: { scale: 0.03, zeroPoint: 127 }, // in1 -> int8, ratio 3.33: saturates both ways
  out1: { scale: 0.07, zeroPoint: 0 }, // b0 -> uint8, ratio 0.43: negatives clamp to 0
  out2: { scale: 0.1, zeroPoint: 0 }, // in1 -> int8 at the same scale, zero point 255 -> 0
  out3: { scale: 0.5, zeroPoint: 0 }, // in2 -> uint8 at the same scale: the 128 shift
  out4: { scale: 0.25, zeroPoint: 0 }, // in2 -> uint8, ratio 2: saturates at 255
};

/**
 * An int8 model with every kind of edge: inputs uint8 [1,6,6,3] (QUANTIZE to int8, a conv, QUANTIZE
 * back to uint8: what inference_input/output_type=tf.uint8 writes), uint8 [1,256], int8 [1,256]
 * and float32 [1,6,6,3] (QUANTIZE, max pool, DEQUANTIZE: float I/O); outputs out0..out6 as listed
 * in the body, requantizing between uint8 and int8 at equal and unequal scales.
 */
export function edgesModel(): Uint8Array {
  const m = new ModelBuilder();
  const q = (name: string, shape: number[], type: 'int8' | 'uint8', p: { scale: number; zeroPoint: number }, data?: TensorData) =>
    m.tensor(name, shape, type, { scale: [p.scale], zeroPoint: [p.zeroPoint], ...(data ? { data } : {}) });
  const quantize = (input: number, output: number) => m.op(B.QUANTIZE, [input], [output], { type: O.QuantizeOptions, value: {} });
  const dequantize = (input: number, output: number) => m.op(B.DEQUANTIZE, [input], [output], { type: O.DequantizeOptions, value: {} });

  const in0 = q('in0', [1, 6, 6, 3], 'uint8', EDGES.in0);
  const in1 = q('in1', [1, 256], 'uint8', EDGES.in1);
  const in2 = q('in2', [1, 256], 'int8', EDGES.in2);
  const in3 = m.tensor('in3', [1, 6, 6, 3], 'float32');

  // out0: uint8 in, int8 conv, uint8 out, both edges the converter's zero-point shift.
  const a0 = q('a0', [1, 6, 6, 3], 'int8', { scale: 0.02, zeroPoint: 0 });
  quantize(in0, a0);
  const w = symmetricInt8(values(108, 11, 0.5), [4, 3, 3, 3], 0);
  const weights = m.tensor('conv_w', [4, 3, 3, 3], 'int8', { data: w.data, scale: w.scale, axis: 0 });
  const biasScale = w.scale.map((s) => Math.fround(0.02 * s));
  const bias = m.tensor('conv_b', [4], 'int32', { data: Int32Array.from(values(4, 12, 0.3), (b, c) => Math.round(b / biasScale[c])), scale: biasScale, axis: 0 });
  const a1 = q('a1', [1, 6, 6, 4], 'int8', { scale: 0.05, zeroPoint: -3 });
  m.op(B.CONV_2D, [a0, weights, bias], [a1], { type: O.Conv2DOptions, value: convOptions });
  const out0 = q('out0', [1, 6, 6, 4], 'uint8', { scale: 0.05, zeroPoint: 125 });
  quantize(a1, out0);

  // out1: uint8 -> int8 -> uint8 at unequal scales; out2: uint8 -> int8 at the same scale.
  const b0 = q('b0', [1, 256], 'int8', EDGES.b0);
  quantize(in1, b0);
  const out1 = q('out1', [1, 256], 'uint8', EDGES.out1);
  quantize(b0, out1);
  const out2 = q('out2', [1, 256], 'int8', EDGES.out2);
  quantize(in1, out2);

  // out3, out4: int8 -> uint8 at the same scale and at half of it.
  const out3 = q('out3', [1, 256], 'uint8', EDGES.out3);
  quantize(in2, out3);
  const out4 = q('out4', [1, 256], 'uint8', EDGES.out4);
  quantize(in2, out4);

  // out5: uint8 -> float32; out6: float in and out around an int8 max pool.
  const out5 = m.tensor('out5', [1, 256], 'float32');
  dequantize(in1, out5);
  const d0 = q('d0', [1, 6, 6, 3], 'int8', { scale: 0.02, zeroPoint: -10 });
  quantize(in3, d0);
  const d1 = q('d1', [1, 3, 3, 3], 'int8', { scale: 0.02, zeroPoint: -10 });
  m.op(B.MAX_POOL_2D, [d0], [d1], { type: O.Pool2DOptions, value: { padding: P.VALID, strideW: 2, strideH: 2, filterW: 2, filterH: 2, activation: A.NONE } });
  const out6 = m.tensor('out6', [1, 3, 3, 3], 'float32');
  dequantize(d1, out6);

  return m.bytes([in0, in1, in2, in3], [out0, out1, out2, out3, out4, out5, out6]);
}
