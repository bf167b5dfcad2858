import test, { type ExecutionContext } from 'ava';
import { runFloat } from '../src/float/run.ts';
import { numel } from '../src/ir/dtype.ts';
import type { Activation, Graph, Op } from '../src/ir/types.ts';
import { verifyGraph } from '../src/ir/verify.ts';
import { GraphBuilder } from '../src/import/tfjs-builder.ts';
import { foldBatchNorm, fuseActivations, removeIdentities, runPasses } from '../src/passes/index.ts';
import { assertClose, randomFloats, randomInputs } from './fixtures/tfjs/support.ts';

let seed = 1;
const weights = (b: GraphBuilder, shape: number[], scale = 1) => b.constant(`c${seed}`, shape, randomFloats(numel(shape), seed++, scale));

const kinds = (g: Graph) => g.ops.map((op) => op.kind);

function conv(b: GraphBuilder, x: number, channels: number, activation: Activation = 'none', bias = true): number {
  const inChannels = b.shape(x)[3];
  const inputs = [x, weights(b, [channels, 3, 3, inChannels]), ...(bias ? [weights(b, [channels])] : [])];
  return b.op({ kind: 'conv2d', inputs, attrs: { stride: [1, 1], dilation: [1, 1], padding: 'same', activation } }, `conv${seed}`);
}

const binary = (b: GraphBuilder, kind: 'add' | 'mul' | 'sub', x: number, y: number, activation: Activation = 'none') =>
  b.op({ kind, inputs: [x, y], attrs: { activation } }, `${kind}${seed++}`);

const unary = (b: GraphBuilder, kind: 'relu' | 'relu6', x: number) => b.op({ kind, inputs: [x], attrs: {} }, `${kind}${seed++}`);

const reshape = (b: GraphBuilder, x: number, shape = b.shape(x)) => b.op({ kind: 'reshape', inputs: [x], attrs: { shape } }, `reshape${seed++}`);

/** The pass keeps the graph valid and computes the same outputs (within float rounding of a reordered product). */
async function sameOutputs(t: ExecutionContext, before: Graph, after: Graph, tolerance = 1e-5): Promise<void> {
  verifyGraph(after);
  t.deepEqual(
    after.outputs.map((o) => after.tensors[o].name),
    before.outputs.map((o) => before.tensors[o].name),
    'outputs keep their names',
  );
  const inputs = randomInputs(before, 4, 99, 2);
  const [x, y] = [await runFloat(before, inputs, { backend: 'cpu' }), await runFloat(after, inputs, { backend: 'cpu' })];
  before.outputs.forEach((o, k) => assertClose(t, y.get(after.outputs[k])!, x.get(o)!, tolerance, `output ${k}`));
}

test('removeIdentities drops same-shape reshapes, zero pads and one-input concatenations', async (t) => {
  const b = new GraphBuilder('identities');
  const x = b.activation('x', [1, 5, 5, 2]);
  const dropout = reshape(b, x);
  const padded = b.op({ kind: 'pad', inputs: [conv(b, dropout, 3)], attrs: { paddings: [[0, 0], [0, 0], [0, 0], [0, 0]] } }, 'pad');
  const concat = b.op({ kind: 'concatenation', inputs: [padded], attrs: { axis: 3, activation: 'none' } }, 'concat');
  const flat = reshape(b, concat, [1, 75]);
  const out = reshape(b, flat);
  const g = b.finish([x], [out]);
  const after = removeIdentities(g);
  t.deepEqual(kinds(after), ['conv2d', 'reshape']);
  t.deepEqual(after.tensors[after.ops[1].inputs[0]].shape, [1, 5, 5, 3], 'the real reshape reads the conv directly');
  t.is(after.tensors.length, 5, 'unused tensors are gone');
  await sameOutputs(t, g, after);
});

test('removeIdentities keeps identities it cannot drop: graph input to graph output, a change of int8 scale', (t) => {
  const b = new GraphBuilder('kept');
  const x = b.activation('x', [2, 3]);
  const g = b.finish([x], [reshape(b, x)]);
  t.deepEqual(kinds(removeIdentities(g)), ['reshape']);

  const b2 = new GraphBuilder('int8');
  const y = b2.activation('y', [2, 3]);
  const float = b2.finish([y], [reshape(b2, reshape(b2, y))]);
  // Tensors y and its first reshape share a scale; the second reshape's output has another one.
  const scales = [0.25, 0.25, 0.5];
  const int8: Graph = { ...float, tensors: float.tensors.map((tensor, i) => ({ ...tensor, dtype: 'int8', quant: { scale: [scales[i]], zeroPoint: [0], axis: 0 } })) };
  const after = removeIdentities(int8);
  t.deepEqual(kinds(after), ['reshape']);
  t.deepEqual(after.ops[0].inputs, after.inputs, 'the reshape to another scale now reads the graph input');
  t.is(after.tensors[after.outputs[0]].quant?.scale[0], 0.5);
});

test('foldBatchNorm folds per-channel mul and add into conv, depthwise and dense layers', async (t) => {
  const b = new GraphBuilder('bn');
  const x = b.activation('x', [1, 6, 6, 3]);
  const c = conv(b, x, 4);
  const bn1 = binary(b, 'add', binary(b, 'mul', c, weights(b, [4])), weights(b, [1, 1, 1, 4]), 'relu6');
  const dwFilter = weights(b, [1, 3, 3, 8]);
  const dw = b.op({ kind: 'depthwise_conv2d', inputs: [bn1, dwFilter], attrs: { stride: [2, 2], dilation: [1, 1], padding: 'same', depthMultiplier: 2, activation: 'none' } }, 'dw');
  const bn2 = binary(b, 'add', binary(b, 'mul', weights(b, [8]), dw), weights(b, [8]));
  const fc = b.op({ kind: 'fully_connected', inputs: [b.op({ kind: 'reshape', inputs: [bn2], attrs: { shape: [1, 72] } }, 'flat'), weights(b, [5, 72])], attrs: { activation: 'none', keepNumDims: false } }, 'fc');
  const biased = binary(b, 'add', fc, weights(b, [1]));
  const g = b.finish([x], [biased]);
  const after = foldBatchNorm(g);
  t.deepEqual(kinds(after), ['conv2d', 'depthwise_conv2d', 'reshape', 'fully_connected']);
  t.is((after.ops[0] as Extract<Op, { kind: 'conv2d' }>).attrs.activation, 'relu6', 'the add activation moves onto the conv');
  t.is(after.ops[1].inputs.length, 3, 'the depthwise conv gained a bias');
  t.is(after.ops[3].inputs.length, 3, 'the dense layer gained a bias');
  await sameOutputs(t, g, after);
});

test('foldBatchNorm leaves what it cannot fold', (t) => {
  const b = new GraphBuilder('no-fold');
  const x = b.activation('x', [1, 4, 4, 2]);
  const spatial = binary(b, 'mul', conv(b, x, 2), weights(b, [4, 4, 2]));
  const activated = binary(b, 'add', conv(b, x, 2, 'relu'), weights(b, [2]));
  const shared = conv(b, x, 2);
  const twice = binary(b, 'add', binary(b, 'mul', shared, weights(b, [2])), shared);
  const nonConstant = binary(b, 'mul', conv(b, x, 2), x);
  const g = b.finish([x], [spatial, activated, twice, nonConstant]);
  t.is(foldBatchNorm(g), g);
});

test('fuseActivations fuses relu and relu6 into conv, dense and add, chains included', async (t) => {
  const b = new GraphBuilder('fuse');
  const x = b.activation('x', [1, 5, 5, 2]);
  const r = unary(b, 'relu', conv(b, x, 3));
  const sum = unary(b, 'relu6', binary(b, 'add', r, weights(b, [3])));
  const flat = b.op({ kind: 'reshape', inputs: [sum], attrs: { shape: [1, 75] } }, 'flat');
  const fc = b.op({ kind: 'fully_connected', inputs: [flat, weights(b, [4, 75], 0.2)], attrs: { activation: 'none', keepNumDims: false } }, 'fc');
  const g = b.finish([x], [unary(b, 'relu6', unary(b, 'relu', fc))]);
  const after = fuseActivations(g);
  t.deepEqual(kinds(after), ['conv2d', 'add', 'reshape', 'fully_connected']);
  t.deepEqual(
    after.ops.map((op) => ('activation' in op.attrs ? op.attrs.activation : '-')),
    ['relu', 'relu6', '-', 'relu6'],
  );
  await sameOutputs(t, g, after);
});

test('fuseActivations leaves a producer that is read twice, a pool and a relu_n1_to_1 producer', (t) => {
  const b = new GraphBuilder('no-fuse');
  const x = b.activation('x', [1, 4, 4, 2]);
  const c = conv(b, x, 2);
  const pool = b.op({ kind: 'max_pool2d', inputs: [x], attrs: { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' } }, 'pool');
  const clamped = conv(b, x, 2, 'relu_n1_to_1');
  const g = b.finish([x], [unary(b, 'relu', c), c, unary(b, 'relu', pool), unary(b, 'relu6', clamped)]);
  t.is(fuseActivations(g), g);
});

test('runPasses: a conv, batch norm, relu and dropout become one conv', async (t) => {
  const b = new GraphBuilder('block');
  const x = b.activation('x', [1, 6, 6, 2]);
  const c = conv(b, x, 4, 'none', false);
  const bn = b.scaleAndShift(c, randomFloats(4, 5), randomFloats(4, 6), 'bn', 'bn');
  const out = b.identity(unary(b, 'relu', bn), 'dropout', 'dropout');
  const g = b.finish([x], [out]);
  const after = runPasses(g);
  t.deepEqual(kinds(after), ['conv2d']);
  t.is(after.tensors[after.outputs[0]].name, 'dropout');
  await sameOutputs(t, g, after);
});
