// Lowering: what it rejects (as model errors naming the op and tensor) and the TFLite rules the
// golden cases do not show directly.

import test from 'ava';
import { EdgecError } from '../src/ir/errors.ts';
import type { Activation, Graph, Op, Quantization, Tensor } from '../src/ir/types.ts';
import { lowerConcatenation } from '../src/lower/concat.ts';
import { lowerConv2D } from '../src/lower/conv.ts';
import { lowerFullyConnected } from '../src/lower/fully_connected.ts';
import { lowerMean } from '../src/lower/mean.ts';
import { lowerPad } from '../src/lower/pad.ts';
import { lowerPool2D } from '../src/lower/pool.ts';
import { lowerQuantize } from '../src/lower/quantize.ts';

const quant = (scale: number | number[], zeroPoint: number | number[] = 0, axis = 0): Quantization => {
  const scales = Array.isArray(scale) ? scale : [scale];
  return { scale: scales, zeroPoint: Array.isArray(zeroPoint) ? zeroPoint : scales.map(() => zeroPoint), axis };
};

const int8 = (name: string, shape: number[], q?: Quantization, data?: number[]): Tensor => ({
  name,
  shape,
  dtype: 'int8',
  ...(q ? { quant: q } : {}),
  ...(data ? { data: Int8Array.from(data) } : {}),
});

/** A one-op graph over `tensors`; the last tensor is the op's output. */
function graphOf(kind: Op['kind'], attrs: object, tensors: Tensor[], origin = 'operator 7'): { graph: Graph; op: never } {
  const out = tensors.length - 1;
  const op = { kind, attrs, inputs: tensors.slice(0, out).map((_, i) => i), outputs: [out], origin } as unknown as Op;
  return { graph: { name: 'g', tensors, ops: [op], inputs: [0], outputs: [out] }, op: op as never };
}

const CONV_ATTRS = { stride: [1, 1], dilation: [1, 1], padding: 'valid', activation: 'none' as Activation };

/** int8 conv: input [1,2,2,2] -> output [1,2,2,3] with a 1x1 filter. */
function conv(filterQuant: Quantization) {
  return graphOf('conv2d', CONV_ATTRS, [
    int8('x', [1, 2, 2, 2], quant(0.5, -3)),
    int8('w', [3, 1, 1, 2], filterQuant, [1, 2, 3, 4, 5, 6]),
    int8('y', [1, 2, 2, 3], quant(0.25, 4)),
  ]);
}

function throwsModelError(t: import('ava').ExecutionContext, fn: () => unknown, ...fragments: string[]): void {
  const error = t.throws(fn, { instanceOf: EdgecError });
  t.is(error?.kind, 'model');
  for (const f of fragments) t.true(error?.message.includes(f), `"${error?.message}" should mention "${f}"`);
}

test('errors name the op, its origin and the tensor', (t) => {
  const { graph, op } = conv(quant([0.1, 0.1, 0.1]));
  delete graph.tensors[0].quant;
  throwsModelError(t, () => lowerConv2D(graph, op), 'op 0 (conv2d, operator 7)', "input 'x'", 'no quantization');
});

test('int8 weights must be symmetric: TFLite ignores a weight zero point', (t) => {
  const { graph, op } = conv(quant([0.1, 0.1, 0.1], [0, 2, 0]));
  throwsModelError(t, () => lowerConv2D(graph, op), "'w'", 'symmetric');
});

test('per-channel weight scales must match the output channels along the right axis', (t) => {
  const wrongCount = conv(quant([0.1, 0.2]));
  throwsModelError(t, () => lowerConv2D(wrongCount.graph, wrongCount.op), '2 scales', 'expected 1 or 3 along axis 0');
  const wrongAxis = conv(quant([0.1, 0.2, 0.3], 0, 3));
  throwsModelError(t, () => lowerConv2D(wrongAxis.graph, wrongAxis.op), 'along axis 3');
});

test('a per-tensor filter scale is repeated over the output channels', (t) => {
  const { graph, op } = conv(quant(0.1));
  const p = lowerConv2D(graph, op);
  if (p.dtype !== 'int8') return t.fail();
  t.is(p.outputMultiplier.length, 3);
  t.true(p.outputMultiplier.every((m) => m === p.outputMultiplier[0]));
  t.is(p.inputOffset, 3);
  t.is(p.outputOffset, 4);
});

test('an effective scale of 2^30 or more cannot be requantized', (t) => {
  const { graph, op } = conv(quant([1e9, 1e9, 1e9]));
  throwsModelError(t, () => lowerConv2D(graph, op), 'too large');
});

test('int8 and float32 operands cannot be mixed', (t) => {
  const { graph, op } = conv(quant(0.1));
  graph.tensors[1] = { name: 'w', shape: [3, 1, 1, 2], dtype: 'float32', data: new Float32Array(6) };
  throwsModelError(t, () => lowerConv2D(graph, op), "input 'w' is float32, expected int8");
});

function fullyConnected(biasScale: number | undefined) {
  const bias: Tensor = { name: 'b', shape: [2], dtype: 'int32', data: Int32Array.from([5, -5]), ...(biasScale ? { quant: quant(biasScale) } : {}) };
  return graphOf('fully_connected', { activation: 'none', keepNumDims: false }, [
    int8('x', [1, 3], quant(0.5, 1)),
    int8('w', [2, 3], quant(0.02), [1, 2, 3, 4, 5, 6]),
    bias,
    int8('y', [1, 2], quant(0.1, 0)),
  ]);
}

test('a per-tensor fully connected layer needs its bias quantized at input scale x weight scale', (t) => {
  const good = fullyConnected(0.01);
  t.is(lowerFullyConnected(good.graph, good.op).dtype, 'int8');
  const bad = fullyConnected(0.02);
  throwsModelError(t, () => lowerFullyConnected(bad.graph, bad.op), "input 'b'", 'the bias must be quantized with their product');
});

test('a per-tensor fully connected layer keeps one multiplier from the float32 product of the scales', (t) => {
  const { graph, op } = fullyConnected(0.01);
  const p = lowerFullyConnected(graph, op);
  if (p.dtype !== 'int8') return t.fail();
  t.false(p.perChannel);
  t.is(p.outputMultiplier.length, 1);
  // float32(0.5 * 0.02) / float32(0.1) is 0.0999999962..., i.e. 0.7999... * 2^-3.
  t.is(p.outputShift[0], -3);
});

test('int8 pooling needs equal input and output quantization', (t) => {
  const attrs = { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' };
  const { graph, op } = graphOf('avg_pool2d', attrs, [int8('x', [1, 2, 2, 1], quant(0.1, 0)), int8('y', [1, 1, 1, 1], quant(0.1, 1))]);
  throwsModelError(t, () => lowerPool2D(graph, op), 'same quantization');
  graph.tensors[1].quant = quant(0.1 + 1e-7, 0);
  t.is(lowerPool2D(graph, op).dtype, 'int8', 'scales within 1e-6 are accepted, as TFLite does');
});

test('concatenation needs one quantization and no fused activation', (t) => {
  const tensors = () => [int8('a', [1, 2], quant(0.1, 3)), int8('b', [1, 1], quant(0.1, 3)), int8('y', [1, 3], quant(0.1, 3))];
  const ok = graphOf('concatenation', { axis: 1, activation: 'none' }, tensors());
  t.deepEqual(lowerConcatenation(ok.graph, ok.op), { dtype: 'int8', outer: 1, chunks: [2, 1] });
  const relu = graphOf('concatenation', { axis: 1, activation: 'relu' }, tensors());
  throwsModelError(t, () => lowerConcatenation(relu.graph, relu.op), 'fused relu');
  const mixed = graphOf('concatenation', { axis: 1, activation: 'none' }, tensors());
  mixed.graph.tensors[1].quant = quant(0.1, 4);
  throwsModelError(t, () => lowerConcatenation(mixed.graph, mixed.op), "input 'b'", 'zero point 4');
});

test('int8 pad fills with the zero point and needs equal quantization', (t) => {
  const { graph, op } = graphOf('pad', { paddings: [[0, 0], [1, 2]] }, [int8('x', [1, 2], quant(0.1, -7)), int8('y', [1, 5], quant(0.1, -7))]);
  t.deepEqual(lowerPad(graph, op), { dtype: 'int8', inShape: [1, 2], outShape: [1, 5], before: [0, 1], padValue: -7 });
  graph.tensors[1].quant = quant(0.2, -7);
  throwsModelError(t, () => lowerPad(graph, op), 'same quantization');
});

test('mean folds the element count into its multiplier', (t) => {
  const { graph, op } = graphOf('mean', { axes: [1], keepDims: false }, [int8('x', [2, 8], quant(0.5, 0)), int8('y', [2], quant(0.5, 0))]);
  const p = lowerMean(graph, op);
  if (p.dtype !== 'int8') return t.fail();
  // Ratio 1 is 2^30 with shift 1; dividing by 8 = 2^3 keeps the multiplier and takes 3 off the shift.
  t.deepEqual([p.multiplier, p.shift, p.count], [2 ** 30, -2, 8]);
});

test('quantize only converts between the types TFLite Micro supports', (t) => {
  const { graph, op } = graphOf('quantize', {}, [
    { name: 'x', shape: [4], dtype: 'float32' },
    { name: 'y', shape: [4], dtype: 'int32', quant: quant(0.1) },
  ]);
  throwsModelError(t, () => lowerQuantize(graph, op), "output 'y' is int32, expected int8 or int16");
});
