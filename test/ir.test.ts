import test from 'ava';
import { EdgecError } from '../src/ir/errors.ts';
import { broadcastShapes, inferShapes, resolveReshape, windowOutputSize, windowPadBefore } from '../src/ir/shape.ts';
import type { Graph, Op, Tensor } from '../src/ir/types.ts';
import { verifyGraph } from '../src/ir/verify.ts';

const act = (shape: number[]): Tensor => ({ name: `x${shape}`, shape, dtype: 'float32' });
const constant = (shape: number[]): Tensor => ({ name: `w${shape}`, shape, dtype: 'float32', data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

function graphOf(tensors: Tensor[], ops: Op[], inputs = [0], outputs = [tensors.length - 1]): Graph {
  return { name: 'g', tensors, ops, inputs, outputs };
}

test('window sizes and SAME padding follow TFLite', (t) => {
  t.is(windowOutputSize(96, 3, 2, 1, 'same'), 48);
  t.is(windowOutputSize(96, 3, 2, 1, 'valid'), 47);
  t.is(windowOutputSize(5, 3, 1, 2, 'valid'), 1);
  t.is(windowPadBefore(96, 3, 2, 1, 'same'), 0); // total padding 1 goes after
  t.is(windowPadBefore(5, 3, 1, 1, 'same'), 1);
  t.is(windowPadBefore(7, 3, 1, 2, 'same'), 2);
  t.is(windowPadBefore(5, 3, 1, 1, 'valid'), 0);
});

test('broadcast and reshape resolution', (t) => {
  t.deepEqual(broadcastShapes([1, 4, 4, 3], [3]), [1, 4, 4, 3]);
  t.deepEqual(broadcastShapes([2, 1], [1, 5]), [2, 5]);
  t.is(broadcastShapes([2, 3], [4, 3]), undefined);
  t.deepEqual(resolveReshape([-1, 4], 12), [3, 4]);
  t.is(resolveReshape([-1, -1], 12), undefined);
  t.is(resolveReshape([5], 12), undefined);
});

test('conv, depthwise and fully connected shapes', (t) => {
  const conv: Op = { kind: 'conv2d', inputs: [0, 1, 2], outputs: [3], attrs: { stride: [2, 2], dilation: [1, 1], padding: 'same', activation: 'none' } };
  const g = graphOf([act([1, 9, 8, 3]), constant([5, 3, 3, 3]), constant([5]), act([1, 5, 4, 5])], [conv]);
  t.deepEqual(inferShapes(g, conv), { shapes: [[1, 5, 4, 5]] });
  const dw: Op = { kind: 'depthwise_conv2d', inputs: [0, 1], outputs: [2], attrs: { stride: [1, 1], dilation: [2, 2], padding: 'valid', depthMultiplier: 2, activation: 'relu' } };
  t.deepEqual(inferShapes(graphOf([act([1, 7, 7, 3]), constant([1, 3, 3, 6]), act([1, 3, 3, 6])], [dw]), dw), { shapes: [[1, 3, 3, 6]] });
  const fc: Op = { kind: 'fully_connected', inputs: [0, 1], outputs: [2], attrs: { activation: 'none', keepNumDims: false } };
  t.deepEqual(inferShapes(graphOf([act([2, 3, 4]), constant([7, 4]), act([6, 7])], [fc]), fc), { shapes: [[6, 7]] });
  const mismatched = graphOf([act([1, 9, 8, 4]), constant([5, 3, 3, 3]), constant([5]), act([1, 5, 4, 5])], [conv]);
  t.regex((inferShapes(mismatched, conv) as { error: string }).error, /expects 3 input channels/);
});

test('verifyGraph reports every problem at once', (t) => {
  const relu: Op = { kind: 'relu', inputs: [5], outputs: [1], attrs: {} };
  const conv: Op = { kind: 'conv2d', inputs: [1, 2], outputs: [3], attrs: { stride: [1, 1], dilation: [1, 1], padding: 'valid', activation: 'none' } };
  const g = graphOf([act([1, 4, 4, 2]), act([1, 4, 4, 2]), act([3, 1, 1, 2]), act([1, 4, 4, 9])], [relu, conv]);
  const error = t.throws(() => verifyGraph(g), { instanceOf: EdgecError })!;
  t.is(error.kind, 'model');
  const text = error.details.join('\n');
  t.regex(text, /op 0 \(relu\): tensor indices 5 out of range/);
  t.regex(text, /op 1 \(conv2d\): input 0 .* used before it is computed/);
  t.regex(text, /op 1 \(conv2d\): input 1 .* must be a constant/);
});

test('verifyGraph accepts a valid chain and checks output shapes', (t) => {
  const pool: Op = { kind: 'max_pool2d', inputs: [0], outputs: [1], attrs: { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' } };
  const reshape: Op = { kind: 'reshape', inputs: [1], outputs: [2], attrs: { shape: [1, -1] } };
  const good = graphOf([act([1, 4, 4, 3]), act([1, 2, 2, 3]), act([1, 12])], [pool, reshape]);
  t.notThrows(() => verifyGraph(good));
  const wrong = graphOf([act([1, 4, 4, 3]), act([1, 2, 2, 3]), act([1, 13])], [pool, reshape]);
  t.throws(() => verifyGraph(wrong), { message: /1 problem/ });
});
