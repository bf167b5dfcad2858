import { readFileSync } from 'node:fs';
import test from 'ava';
import { runFloat } from '../src/float/run.ts';
import type { FloatBackend } from '../src/float/backend.ts';
import { numel } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Activation, Graph, Padding } from '../src/ir/types.ts';
import { GraphBuilder, type OpSpec } from '../src/import/tfjs-builder.ts';
import { importTflite } from '../src/import/tflite.ts';
import { readNpy } from '../src/npy/npy.ts';
import { assertClose, randomFloats, randomInputs, referenceOutputs } from './fixtures/tfjs/support.ts';

const oracles = new URL('../../shared/oracles/', import.meta.url);

type Build = (b: GraphBuilder, inputs: number[]) => number;

let seed = 1;
const weights = (b: GraphBuilder, shape: number[]) => b.constant(`w${seed}`, shape, randomFloats(numel(shape), seed++));

/** A graph of one or a few ops on activations of `shapes`. */
function graph(name: string, shapes: number[][], build: Build): Graph {
  const b = new GraphBuilder(name);
  const inputs = shapes.map((shape, i) => b.activation(`in${i}`, shape));
  return b.finish(inputs, [build(b, inputs)]);
}

const single = (spec: (b: GraphBuilder, inputs: number[]) => OpSpec): Build => (b, inputs) => b.op(spec(b, inputs), 'out');

function conv(padding: Padding, stride: [number, number], dilation: [number, number], activation: Activation, bias = true): Build {
  return single((b, [x]) => ({
    kind: 'conv2d',
    inputs: [x, weights(b, [4, 3, 2, 3]), ...(bias ? [weights(b, [4])] : [])],
    attrs: { stride, dilation, padding, activation },
  }));
}

function depthwise(padding: Padding, stride: [number, number], dilation: [number, number], multiplier: number): Build {
  return single((b, [x]) => ({
    kind: 'depthwise_conv2d',
    inputs: [x, weights(b, [1, 3, 3, 3 * multiplier]), weights(b, [3 * multiplier])],
    attrs: { stride, dilation, padding, depthMultiplier: multiplier, activation: 'relu6' },
  }));
}

const pool = (kind: 'avg_pool2d' | 'max_pool2d', padding: Padding, activation: Activation): Build =>
  single((_, [x]) => ({ kind, inputs: [x], attrs: { filter: [3, 2], stride: [2, 2], padding, activation } }));

const unary = (kind: 'logistic' | 'tanh' | 'relu' | 'relu6' | 'hard_swish'): Build => single((_, [x]) => ({ kind, inputs: [x], attrs: {} }));

const CASES: [string, number[][], Build][] = [
  ['conv2d same', [[2, 7, 6, 3]], conv('same', [1, 1], [1, 1], 'none')],
  ['conv2d valid stride 2 relu', [[1, 7, 6, 3]], conv('valid', [2, 2], [1, 1], 'relu')],
  ['conv2d same dilation 2 relu6 no bias', [[1, 7, 7, 3]], conv('same', [1, 1], [2, 2], 'relu6', false)],
  ['conv2d same stride 2 dilation 2', [[1, 9, 8, 3]], conv('same', [2, 2], [2, 2], 'relu_n1_to_1')],
  ['conv2d valid stride 2x1 dilation 1x2', [[1, 9, 8, 3]], conv('valid', [2, 1], [1, 2], 'none')],
  ['conv2d valid stride 3 dilation 2', [[1, 11, 10, 3]], conv('valid', [3, 3], [2, 2], 'none')],
  ['depthwise same multiplier 1', [[2, 6, 5, 3]], depthwise('same', [1, 1], [1, 1], 1)],
  ['depthwise valid stride 2 multiplier 2', [[1, 7, 7, 3]], depthwise('valid', [2, 2], [1, 1], 2)],
  ['depthwise same stride 2 dilation 2', [[1, 9, 9, 3]], depthwise('same', [2, 2], [2, 2], 2)],
  [
    'fully_connected',
    [[1, 12]],
    single((b, [x]) => ({ kind: 'fully_connected', inputs: [x, weights(b, [5, 12]), weights(b, [5])], attrs: { activation: 'relu', keepNumDims: false } })),
  ],
  [
    'fully_connected flattens rows, no bias',
    [[2, 3, 2, 4]],
    single((b, [x]) => ({ kind: 'fully_connected', inputs: [x, weights(b, [5, 8])], attrs: { activation: 'none', keepNumDims: false } })),
  ],
  [
    'fully_connected keepNumDims',
    [[2, 3, 4]],
    single((b, [x]) => ({ kind: 'fully_connected', inputs: [x, weights(b, [5, 4]), weights(b, [5])], attrs: { activation: 'relu6', keepNumDims: true } })),
  ],
  ['avg_pool2d same', [[1, 7, 6, 3]], pool('avg_pool2d', 'same', 'none')],
  ['avg_pool2d valid relu6', [[2, 7, 6, 3]], pool('avg_pool2d', 'valid', 'relu6')],
  ['max_pool2d same relu', [[1, 7, 6, 3]], pool('max_pool2d', 'same', 'relu')],
  ['max_pool2d valid', [[1, 7, 6, 3]], pool('max_pool2d', 'valid', 'none')],
  ['add with a constant', [[1, 4, 4, 3]], single((b, [x]) => ({ kind: 'add', inputs: [x, weights(b, [3])], attrs: { activation: 'relu' } }))],
  ['sub of two activations', [[1, 4, 4, 3], [1, 4, 4, 3]], single((_, [x, y]) => ({ kind: 'sub', inputs: [x, y], attrs: { activation: 'none' } }))],
  ['mul broadcasting', [[4, 3], [2, 1, 3]], single((_, [x, y]) => ({ kind: 'mul', inputs: [x, y], attrs: { activation: 'relu_n1_to_1' } }))],
  ['mul with a constant on the left', [[1, 2, 3]], single((b, [x]) => ({ kind: 'mul', inputs: [weights(b, [2, 1]), x], attrs: { activation: 'none' } }))],
  ['reshape', [[1, 4, 3]], single((_, [x]) => ({ kind: 'reshape', inputs: [x], attrs: { shape: [2, -1] } }))],
  ['squeeze', [[1, 4, 1, 3]], single((_, [x]) => ({ kind: 'squeeze', inputs: [x], attrs: { axes: [2] } }))],
  ['softmax', [[3, 7]], single((_, [x]) => ({ kind: 'softmax', inputs: [x], attrs: { beta: 1 } }))],
  ['softmax beta 0.5', [[1, 2, 5]], single((_, [x]) => ({ kind: 'softmax', inputs: [x], attrs: { beta: 0.5 } }))],
  ['logistic', [[2, 9]], unary('logistic')],
  ['tanh', [[2, 9]], unary('tanh')],
  ['relu', [[2, 9]], unary('relu')],
  ['relu6', [[2, 9]], unary('relu6')],
  ['hard_swish', [[2, 9]], unary('hard_swish')],
  ['leaky_relu', [[2, 9]], single((_, [x]) => ({ kind: 'leaky_relu', inputs: [x], attrs: { alpha: 0.2 } }))],
  ['pad', [[1, 3, 2, 2]], single((_, [x]) => ({ kind: 'pad', inputs: [x], attrs: { paddings: [[0, 0], [1, 2], [0, 1], [0, 0]] } }))],
  [
    'concatenation with a constant',
    [[1, 3, 2, 2], [1, 3, 2, 1]],
    single((b, [x, y]) => ({ kind: 'concatenation', inputs: [x, weights(b, [1, 3, 2, 3]), y], attrs: { axis: 3, activation: 'none' } })),
  ],
  ['mean over H, W', [[2, 4, 3, 5]], single((_, [x]) => ({ kind: 'mean', inputs: [x], attrs: { axes: [1, 2], keepDims: false } }))],
  ['mean over the batch axis keeping dims', [[3, 4]], single((_, [x]) => ({ kind: 'mean', inputs: [x], attrs: { axes: [0], keepDims: true } }))],
];

const SAMPLES = 5;
const BACKENDS: FloatBackend[] = ['wasm', 'cpu'];

for (const [name, shapes, build] of CASES) {
  test(`${name} matches the float reference`, async (t) => {
    // Values up to 4 in magnitude drive tanh, logistic, relu6 and hard_swish into saturation too.
    const g = graph(name, shapes, build);
    const inputs = randomInputs(g, SAMPLES, 1000, 4);
    const [expected] = referenceOutputs(g, inputs, SAMPLES);
    for (const backend of BACKENDS) {
      const actual = await runFloat(g, inputs, { backend, batchSize: 2 });
      assertClose(t, actual.get(g.outputs[0])!, expected, 1e-5, backend);
    }
  });
}

test('a chain of ops returns every kept intermediate tensor', async (t) => {
  const b = new GraphBuilder('chain');
  const x = b.activation('x', [1, 6, 6, 2]);
  const c = b.op({ kind: 'conv2d', inputs: [x, weights(b, [3, 3, 3, 2])], attrs: { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'none' } }, 'c');
  const r = b.op({ kind: 'relu', inputs: [c], attrs: {} }, 'r');
  const m = b.op({ kind: 'mean', inputs: [r], attrs: { axes: [1, 2], keepDims: false } }, 'm');
  const g = b.finish([x], [m]);
  const inputs = randomInputs(g, 3, 7);
  const values = await runFloat(g, inputs, { keep: [x, c, r] });
  t.deepEqual([...values.keys()].sort(), [x, c, r, m].sort());
  t.deepEqual(values.get(x), inputs[0]);
  const relu = values.get(c)!.map((v) => Math.max(0, v));
  assertClose(t, values.get(r)!, relu, 0, 'relu of the kept conv output');
  t.is(values.get(m)!.length, 3 * 3);
});

test('hello_world_float: the oracle outputs within 1e-5', async (t) => {
  const g = importTflite(new Uint8Array(readFileSync(new URL('hello_world_float/model.tflite', oracles))), 'model.tflite');
  const input = readNpy(new Uint8Array(readFileSync(new URL('hello_world_float/input.npy', oracles))));
  const output = readNpy(new Uint8Array(readFileSync(new URL('hello_world_float/output.npy', oracles))));
  t.is(input.shape[0], 256);
  for (const backend of BACKENDS) {
    const result = await runFloat(g, [input.data as Float32Array], { backend });
    assertClose(t, result.get(g.outputs[0])!, output.data as Float32Array, 1e-5, backend);
  }
});

// Serial: concurrent tests would switch the backend while this one looks at it.
test.serial('the backend in use before a run is active again after it', async (t) => {
  const tf = await import('@tensorflow/tfjs-core');
  const g = graph('relu', [[2]], unary('relu'));
  const before = tf.getBackend();
  await runFloat(g, [new Float32Array([-1, 2])], { backend: before === 'cpu' ? 'wasm' : 'cpu' });
  t.is(tf.getBackend(), before);
});

test('wrong inputs, int8 graphs and non-activation keeps are clear errors', async (t) => {
  const b = new GraphBuilder('fc');
  const x = b.activation('x', [1, 4]);
  const w = weights(b, [2, 4]);
  const y = b.op({ kind: 'fully_connected', inputs: [x, w], attrs: { activation: 'none', keepNumDims: false } }, 'y');
  const g = b.finish([x], [y]);
  const data = await t.throwsAsync(runFloat(g, [new Float32Array(6)]), { instanceOf: EdgecError });
  t.is(data?.kind, 'data');
  t.regex(data?.message ?? '', /'x' needs float32 samples of shape \[1,4\]/);
  const keep = await t.throwsAsync(runFloat(g, [new Float32Array(4)], { keep: [w] }), { instanceOf: EdgecError });
  t.is(keep?.kind, 'usage');
  const int8: Graph = { ...g, tensors: g.tensors.map((tensor) => ({ ...tensor, dtype: 'int8', data: tensor.data && new Int8Array(tensor.data.length) })) };
  const model = await t.throwsAsync(runFloat(int8, [new Float32Array(4)]), { instanceOf: EdgecError });
  t.is(model?.kind, 'model');
  t.regex(model?.message ?? '', /float32 graphs only/);
});
