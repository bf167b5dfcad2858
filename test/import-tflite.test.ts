import test, { type ExecutionContext } from 'ava';
import { importTflite } from '../src/import/tflite.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph, Op, OpKind } from '../src/ir/types.ts';
import { ActivationFunctionType as A, BuiltinOperator as B, BuiltinOptionsType as O, Padding as P } from '../src/tflite/schema.ts';
import { ModelBuilder, oracleModel } from './helpers/tflite-models.ts';

const importModel = (m: ModelBuilder, inputs: number[], outputs: number[], fileName = 'test.tflite'): Graph =>
  importTflite(m.bytes(inputs, outputs), fileName);

/** The problems (details) of the import error. */
function problems(t: ExecutionContext, m: ModelBuilder, inputs: number[], outputs: number[]): string[] {
  const error = t.throws(() => importModel(m, inputs, outputs), { instanceOf: EdgecError });
  t.is(error?.kind, 'model');
  return error?.details ?? [];
}

const conv2dOptions = { padding: P.SAME, strideW: 1, strideH: 1, activation: A.NONE, dilationW: 1, dilationH: 1, quantizedBiasType: 0 };
const fcOptions = { activation: A.NONE, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 };
const dwOptions = { padding: P.SAME, strideW: 1, strideH: 1, depthMultiplier: 0, activation: A.NONE, dilationW: 1, dilationH: 1 };

// Oracles

const kinds = (g: Graph) => g.ops.map((op) => op.kind);

test('hello_world models import as three fully connected layers', (t) => {
  for (const [name, dtype] of [
    ['hello_world_int8', 'int8'],
    ['hello_world_float', 'float32'],
  ] as const) {
    const g = importTflite(oracleModel(name), `${name}.tflite`);
    t.is(g.name, name);
    t.deepEqual(kinds(g), ['fully_connected', 'fully_connected', 'fully_connected']);
    t.deepEqual(
      g.ops.map((op) => op.attrs),
      [
        { activation: 'relu', keepNumDims: false },
        { activation: 'relu', keepNumDims: false },
        { activation: 'none', keepNumDims: false },
      ],
    );
    const input = g.tensors[g.inputs[0]];
    t.deepEqual([input.shape, input.dtype], [[1, 1], dtype]);
    t.is(g.tensors[g.outputs[0]].dtype, dtype);
    t.is(g.ops[0].origin, 'operator 0 (FULLY_CONNECTED)');
  }
  const int8 = importTflite(oracleModel('hello_world_int8'));
  t.deepEqual(int8.tensors[int8.inputs[0]].quant?.zeroPoint, [-128]);
  t.is(int8.tensors[int8.ops[0].inputs[2]].dtype, 'int32');
});

test('micro_speech imports; the reshape shape operand is folded', (t) => {
  const g = importTflite(oracleModel('micro_speech'));
  t.deepEqual(kinds(g), ['reshape', 'depthwise_conv2d', 'fully_connected', 'softmax']);
  t.deepEqual(g.ops[0].attrs, { shape: [1, 49, 40, 1] });
  t.deepEqual(g.ops[0].inputs.length, 1);
  t.deepEqual(g.ops[1].attrs, { stride: [2, 2], dilation: [1, 1], padding: 'same', depthMultiplier: 8, activation: 'relu' });
  t.deepEqual(g.tensors[g.outputs[0]].shape, [1, 4]);
  t.false(g.tensors.some((tensor) => tensor.dtype === 'int32' && tensor.shape.length === 1 && tensor.shape[0] === 4 && tensor.name.endsWith('shape')));
});

test('person_detect imports with per-channel weights', (t) => {
  const g = importTflite(oracleModel('person_detect'));
  const blocks = Array.from({ length: 13 }, () => ['depthwise_conv2d', 'conv2d'] as OpKind[]).flat();
  t.deepEqual(kinds(g), ['depthwise_conv2d', ...blocks, 'avg_pool2d', 'conv2d', 'reshape', 'softmax']);
  const first = g.ops[0];
  const filter = g.tensors[first.inputs[1]];
  t.deepEqual(filter.shape, [1, 3, 3, 8]);
  t.is(filter.quant?.axis, 3);
  t.is(filter.quant?.scale.length, 8);
  // The bias carries its filter's quantized dimension (3) in the file; its channels are axis 0.
  const bias = g.tensors[first.inputs[2]];
  t.deepEqual([bias.shape, bias.quant?.axis, bias.quant?.scale.length], [[8], 0, 8]);
  t.is(g.tensors[g.inputs[0]].dtype, 'int8');
  t.deepEqual(g.tensors[g.outputs[0]].shape, [1, 2]);
});

// One model per operator kind

test('CONV_2D: per-channel int8 with bias, strides, dilation, padding, activation', (t) => {
  const m = new ModelBuilder();
  const x = m.act('x', [1, 5, 6, 3], -128);
  const w = m.tensor('w', [4, 3, 2, 3], 'int8', { data: Int8Array.from({ length: 72 }, (_, i) => i - 36), scale: [0.1, 0.2, 0.3, 0.4] });
  const b = m.tensor('b', [4], 'int32', { data: new Int32Array([1, -2, 3, -4]), scale: [1, 2, 3, 4] });
  const y = m.act('y', [1, 2, 4, 4]);
  m.op(B.CONV_2D, [x, w, b], [y], {
    type: O.Conv2DOptions,
    value: { ...conv2dOptions, padding: P.VALID, strideH: 2, strideW: 1, dilationH: 1, dilationW: 2, activation: A.RELU6 },
  });
  const g = importModel(m, [x], [y]);
  const expected: Op = {
    kind: 'conv2d',
    inputs: [0, 1, 2],
    outputs: [3],
    origin: 'operator 0 (CONV_2D)',
    attrs: { stride: [2, 1], dilation: [1, 2], padding: 'valid', activation: 'relu6' },
  };
  t.deepEqual(g.ops, [expected]);
  t.deepEqual(g.tensors[1].quant, { scale: [0.1, 0.2, 0.3, 0.4].map(Math.fround), zeroPoint: [0, 0, 0, 0], axis: 0 });
  t.deepEqual(g.tensors[1].data, Int8Array.from({ length: 72 }, (_, i) => i - 36));
  t.deepEqual(g.tensors[2].data, new Int32Array([1, -2, 3, -4]));
  t.deepEqual(g.tensors[0].quant, { scale: [Math.fround(0.05)], zeroPoint: [-128], axis: 0 });
  t.deepEqual([g.inputs, g.outputs], [[0], [3]]);
});

test('an omitted optional input (-1) is dropped; unnamed tensors get t<index>', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('', [1, 4, 4, 2], 'float32');
  const w = m.tensor('w', [3, 1, 1, 2], 'float32', { data: new Float32Array(6).fill(0.5) });
  const y = m.tensor('', [1, 4, 4, 3], 'float32');
  m.op(B.CONV_2D, [x, w, -1], [y], { type: O.Conv2DOptions, value: conv2dOptions });
  const g = importModel(m, [x], [y], 'some/dir/net.v2.tflite');
  t.is(g.name, 'net.v2');
  t.deepEqual(g.ops[0].inputs, [0, 1]);
  t.deepEqual(
    g.tensors.map((tensor) => tensor.name),
    ['t0', 'w', 't2'],
  );
  t.deepEqual(g.tensors[1].data, new Float32Array(6).fill(0.5));
});

function depthwiseModel(declared: number) {
  const m = new ModelBuilder();
  const x = m.act('x', [1, 6, 6, 2]);
  const w = m.tensor('w', [1, 3, 3, 4], 'int8', { data: new Int8Array(36).fill(1), scale: [1, 2, 3, 4], axis: 3 });
  const b = m.tensor('b', [4], 'int32', { data: new Int32Array(4), scale: [1, 2, 3, 4], axis: 3 });
  const y = m.act('y', [1, 3, 3, 4]);
  m.op(B.DEPTHWISE_CONV_2D, [x, w, b], [y], {
    type: O.DepthwiseConv2DOptions,
    value: { ...dwOptions, strideH: 2, strideW: 2, depthMultiplier: declared, activation: A.RELU_N1_TO_1 },
  });
  return { m, x, y };
}

test('DEPTHWISE_CONV_2D: depth multiplier from the filter, per-channel axis kept', (t) => {
  for (const declared of [2, 0]) {
    const { m, x, y } = depthwiseModel(declared);
    const g = importModel(m, [x], [y]);
    t.deepEqual(g.ops[0].attrs, { stride: [2, 2], dilation: [1, 1], padding: 'same', depthMultiplier: 2, activation: 'relu_n1_to_1' });
    t.is(g.tensors[1].quant?.axis, 3);
    t.is(g.tensors[2].quant?.axis, 0);
  }
  const { m, x, y } = depthwiseModel(3);
  t.deepEqual(problems(t, m, [x], [y]), [
    'operator 0 (DEPTHWISE_CONV_2D): depth_multiplier 3 disagrees with filter [1,3,3,4] over input [1,6,6,2] (2)',
  ]);
});

test('FULLY_CONNECTED: keep_num_dims, optional bias, weights format', (t) => {
  for (const keepNumDims of [true, false]) {
    const m = new ModelBuilder();
    const x = m.tensor('x', [2, 3, 5], 'float32');
    const w = m.tensor('w', [4, 5], 'float32', { data: new Float32Array(20) });
    const b = m.tensor('b', [4], 'float32', { data: new Float32Array(4) });
    const y = m.tensor('y', keepNumDims ? [2, 3, 4] : [6, 4], 'float32');
    m.op(B.FULLY_CONNECTED, [x, w, b], [y], { type: O.FullyConnectedOptions, value: { ...fcOptions, keepNumDims, activation: A.RELU } });
    const g = importModel(m, [x], [y]);
    t.deepEqual(g.ops[0].attrs, { activation: 'relu', keepNumDims });
  }
  const m = new ModelBuilder();
  const x = m.act('x', [1, 16]);
  const w = m.tensor('w', [4, 16], 'int8', { data: new Int8Array(64), scale: [1] });
  const y = m.act('y', [1, 4]);
  m.op(B.FULLY_CONNECTED, [x, w], [y], { type: O.FullyConnectedOptions, value: { ...fcOptions, weightsFormat: 1 } });
  t.deepEqual(problems(t, m, [x], [y]), ['operator 0 (FULLY_CONNECTED): weights format 1 (shuffled) is not supported, only DEFAULT']);
});

test('AVERAGE_POOL_2D and MAX_POOL_2D: filter, stride, padding as [height, width]', (t) => {
  const m = new ModelBuilder();
  const x = m.act('x', [1, 4, 6, 2]);
  const a = m.act('a', [1, 2, 3, 2]);
  const b = m.act('b', [1, 4, 6, 2]);
  m.op(B.AVERAGE_POOL_2D, [x], [a], {
    type: O.Pool2DOptions,
    value: { padding: P.VALID, strideH: 2, strideW: 2, filterH: 2, filterW: 2, activation: A.NONE },
  });
  m.op(B.MAX_POOL_2D, [x], [b], {
    type: O.Pool2DOptions,
    value: { padding: P.SAME, strideH: 1, strideW: 1, filterH: 3, filterW: 1, activation: A.RELU },
  });
  const g = importModel(m, [x], [a, b]);
  t.deepEqual(
    g.ops.map((op) => [op.kind, op.attrs]),
    [
      ['avg_pool2d', { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' }],
      ['max_pool2d', { filter: [3, 1], stride: [1, 1], padding: 'same', activation: 'relu' }],
    ],
  );
});

test('ADD, SUB, MUL: broadcasting operands and fused activations', (t) => {
  const m = new ModelBuilder();
  const x = m.act('x', [1, 2, 3]);
  const c = m.tensor('c', [3], 'int8', { data: new Int8Array([1, 2, 3]), scale: [0.1] });
  const s = m.act('s', [1, 2, 3]);
  const d = m.act('d', [1, 2, 3]);
  const p = m.act('p', [1, 2, 3]);
  m.op(B.ADD, [x, c], [s], { type: O.AddOptions, value: { activation: A.RELU, potScaleInt16: true } });
  m.op(B.SUB, [s, x], [d], { type: O.SubOptions, value: { activation: A.NONE, potScaleInt16: true } });
  m.op(B.MUL, [d, c], [p], { type: O.MulOptions, value: { activation: A.RELU6 } });
  const g = importModel(m, [x], [p]);
  t.deepEqual(
    g.ops.map((op) => [op.kind, op.inputs, op.attrs]),
    [
      ['add', [0, 1], { activation: 'relu' }],
      ['sub', [2, 0], { activation: 'none' }],
      ['mul', [3, 1], { activation: 'relu6' }],
    ],
  );
});

test('RESHAPE: target from a constant operand, from options, from the output, legacy scalar; -1 resolved', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [2, 2, 2], 'float32');
  const shape = m.tensor('shape', [3], 'int32', { data: new Int32Array([1, -1, 4]) });
  const a = m.tensor('a', [1, 2, 4], 'float32');
  const b = m.tensor('b', [4, 2], 'float32');
  const c = m.tensor('c', [8], 'float32');
  const one = m.tensor('one', [1], 'float32');
  const scalar = m.tensor('scalar', [], 'float32');
  m.op(B.RESHAPE, [x, shape], [a], { type: O.ReshapeOptions, value: { newShape: [9, 9] } });
  m.op(B.RESHAPE, [a], [b], { type: O.ReshapeOptions, value: { newShape: [-1, 2] } });
  m.op(B.RESHAPE, [b], [c]);
  m.op(B.RESHAPE, [one], [scalar], { type: O.ReshapeOptions, value: { newShape: [0] } });
  const g = importModel(m, [x, one], [c, scalar]);
  t.deepEqual(
    g.ops.map((op) => [op.inputs.length, op.attrs]),
    [
      [1, { shape: [1, 2, 4] }],
      [1, { shape: [4, 2] }],
      [1, { shape: [8] }],
      [1, { shape: [] }],
    ],
  );
  t.false(g.tensors.some((tensor) => tensor.name === 'shape'));

  const bad = new ModelBuilder();
  const i = bad.tensor('i', [2, 3], 'float32');
  const s = bad.tensor('s', [2], 'int32');
  const o = bad.tensor('o', [3, 2], 'float32');
  const o2 = bad.tensor('o2', [4, 2], 'float32');
  bad.op(B.RESHAPE, [i, s], [o]);
  bad.op(B.RESHAPE, [o], [o2], { type: O.ReshapeOptions, value: { newShape: [4, -1] } });
  t.deepEqual(problems(t, bad, [i, s], [o2]), [
    "operator 0 (RESHAPE): the shape operand (tensor 1 's') is computed at run time; needs: shape operand: constant INT32 or INT64",
    'operator 1 (RESHAPE): cannot reshape [3,2] to [4,-1]',
  ]);
});

test('SQUEEZE: explicit (negative) axes and all size-1 axes', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 3, 1, 2], 'float32');
  const a = m.tensor('a', [1, 3, 2], 'float32');
  const b = m.tensor('b', [3, 2], 'float32');
  m.op(B.SQUEEZE, [x], [a], { type: O.SqueezeOptions, value: { squeezeDims: [-2, 2] } });
  m.op(B.SQUEEZE, [x], [b], { type: O.SqueezeOptions, value: {} });
  const g = importModel(m, [x], [a, b]);
  t.deepEqual(
    g.ops.map((op) => op.attrs),
    [{ axes: [2] }, { axes: [0, 2] }],
  );
});

test('SOFTMAX beta, LEAKY_RELU alpha and the attribute-free element-wise operators', (t) => {
  const m = new ModelBuilder();
  const chain = [B.SOFTMAX, B.LOGISTIC, B.TANH, B.RELU, B.RELU6, B.HARD_SWISH, B.LEAKY_RELU];
  const ids = [m.tensor('x', [2, 5], 'float32')];
  for (const code of chain) {
    const out = m.tensor(`y${code}`, [2, 5], 'float32');
    if (code === B.SOFTMAX) m.op(code, [ids[ids.length - 1]], [out], { type: O.SoftmaxOptions, value: { beta: 0.5 } });
    else if (code === B.LEAKY_RELU) m.op(code, [ids[ids.length - 1]], [out], { type: O.LeakyReluOptions, value: { alpha: 0.25 } });
    else if (code === B.HARD_SWISH) m.op(code, [ids[ids.length - 1]], [out], { type: O.HardSwishOptions, value: {} });
    else m.op(code, [ids[ids.length - 1]], [out]);
    ids.push(out);
  }
  const g = importModel(m, [ids[0]], [ids[ids.length - 1]]);
  t.deepEqual(
    g.ops.map((op) => [op.kind, op.attrs]),
    [
      ['softmax', { beta: 0.5 }],
      ['logistic', {}],
      ['tanh', {}],
      ['relu', {}],
      ['relu6', {}],
      ['hard_swish', {}],
      ['leaky_relu', { alpha: 0.25 }],
    ],
  );
});

test('QUANTIZE and DEQUANTIZE', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 4], 'float32');
  const q = m.act('q', [1, 4], 3);
  const d = m.tensor('d', [1, 4], 'float32');
  m.op(B.QUANTIZE, [x], [q]);
  m.op(B.DEQUANTIZE, [q], [d]);
  const g = importModel(m, [x], [d]);
  t.deepEqual(
    g.ops.map((op) => [op.kind, op.inputs, op.outputs]),
    [
      ['quantize', [0], [1]],
      ['dequantize', [1], [2]],
    ],
  );
  t.deepEqual(g.tensors[1].quant?.zeroPoint, [3]);
});

test('PAD, and PADV2 when it pads with the zero point', (t) => {
  const m = new ModelBuilder();
  const x = m.act('x', [1, 2, 2, 1], -5);
  const paddings = m.tensor('paddings', [4, 2], 'int32', { data: new Int32Array([0, 0, 1, 2, 0, 1, 0, 0]) });
  const zp = m.tensor('zp', [1], 'int8', { data: new Int8Array([-5]), scale: [0.05], zeroPoint: [-5] });
  const a = m.act('a', [1, 5, 3, 1], -5);
  const b = m.act('b', [1, 5, 3, 1], -5);
  const c = m.act('c', [1, 5, 3, 1], -5);
  m.op(B.PAD, [x, paddings], [a], { type: O.PadOptions, value: {} });
  m.op(B.PADV2, [x, paddings, zp], [b]);
  m.op(B.PADV2, [x, paddings, -1], [c]);
  const g = importModel(m, [x], [a, b, c]);
  const expected = { paddings: [[0, 0], [1, 2], [0, 1], [0, 0]] };
  t.deepEqual(
    g.ops.map((op) => [op.kind, op.inputs.length, op.attrs]),
    [
      ['pad', 1, expected],
      ['pad', 1, expected],
      ['pad', 1, expected],
    ],
  );

  const bad = new ModelBuilder();
  const fx = bad.tensor('x', [2, 2], 'float32');
  const fp = bad.tensor('p', [2, 2], 'int64', { data: new BigInt64Array([0n, 1n, 1n, 0n]) });
  const one = bad.tensor('one', [], 'float32', { data: new Float32Array([1]) });
  const short = bad.tensor('short', [3], 'int32', { data: new Int32Array([0, 1, 1]) });
  const fy = bad.tensor('y', [3, 3], 'float32');
  const fz = bad.tensor('z', [3, 3], 'float32');
  bad.op(B.PADV2, [fx, fp, one], [fy]);
  bad.op(B.PAD, [fx, short], [fz]);
  t.deepEqual(problems(t, bad, [fx], [fy, fz]), [
    'operator 0 (PADV2): padding with 1 is not supported (only with 0, the zero point)',
    'operator 1 (PAD): paddings hold 3 values, a 2-D input needs 4',
  ]);
});

test('CONCATENATION: negative axis normalised; MEAN: constant axes normalised, sorted, de-duplicated', (t) => {
  const m = new ModelBuilder();
  const a = m.tensor('a', [1, 4, 4, 3], 'float32');
  const b = m.tensor('b', [1, 4, 4, 5], 'float32');
  const cat = m.tensor('cat', [1, 4, 4, 8], 'float32');
  const axes = m.tensor('axes', [3], 'int32', { data: new Int32Array([2, -3, 1]) });
  const mean = m.tensor('mean', [1, 1, 1, 8], 'float32');
  const flat = m.tensor('flat', [1, 8], 'float32');
  m.op(B.CONCATENATION, [a, b], [cat], { type: O.ConcatenationOptions, value: { axis: -1, activation: A.NONE } });
  m.op(B.MEAN, [cat, axes], [mean], { type: O.ReducerOptions, value: { keepDims: true } });
  m.op(B.MEAN, [cat, axes], [flat], { type: O.ReducerOptions, value: { keepDims: false } });
  const g = importModel(m, [a, b], [mean, flat]);
  t.deepEqual(
    g.ops.map((op) => [op.kind, op.inputs, op.attrs]),
    [
      ['concatenation', [0, 1], { axis: 3, activation: 'none' }],
      ['mean', [2], { axes: [1, 2], keepDims: true }],
      ['mean', [2], { axes: [1, 2], keepDims: false }],
    ],
  );
});

// Problems

test('all unsupported operators and attributes are reported together, in operator order', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 4, 4, 2], 'float32');
  const w = m.tensor('w', [2, 1, 1, 2], 'float32', { data: new Float32Array(4) });
  const ids = Array.from({ length: 6 }, (_, i) => m.tensor(`y${i}`, [1, 4, 4, 2], 'float32'));
  m.op(B.LSTM, [x], [ids[0]]);
  m.op(B.RELU, [x], [ids[1]]);
  m.op(B.CONV_2D, [x, w], [ids[2]], { type: O.Conv2DOptions, value: { ...conv2dOptions, activation: A.TANH } });
  m.op(B.CUSTOM, [x], [ids[3]], undefined, 'MyOp');
  m.op(B.CONV_2D, [x, w], [ids[4]], { type: O.Pool2DOptions, value: { padding: 0, strideW: 1, strideH: 1, filterW: 1, filterH: 1, activation: 0 } });
  m.op(B.AVERAGE_POOL_2D, [x], [ids[5]], {
    type: O.Pool2DOptions,
    value: { padding: 7, strideW: 1, strideH: 1, filterW: 1, filterH: 1, activation: A.SIGN_BIT },
  });
  const error = t.throws(() => importModel(m, [x], ids, 'bad.tflite'), { instanceOf: EdgecError });
  t.deepEqual(error?.details, [
    'operator 0: LSTM is not supported',
    'operator 2 (CONV_2D): fused activation TANH; needs: fused activation NONE, RELU, RELU_N1_TO_1 or RELU6',
    "operator 3: custom operator 'MyOp' is not supported",
    'operator 4 (CONV_2D): has builtin options of type 5, expected 1',
    'operator 5 (AVERAGE_POOL_2D): unknown padding 7',
    'operator 5 (AVERAGE_POOL_2D): fused activation SIGN_BIT; needs: fused activation NONE, RELU, RELU_N1_TO_1 or RELU6',
  ]);
  t.is(error?.message, 'bad.tflite: cannot import the model: operator 0: LSTM is not supported (and 5 more problems)');
});

test('unsupported types in operator positions are named with the tensor', (t) => {
  const m = new ModelBuilder();
  const x = m.act('x', [1, 4]);
  const w = m.tensor('w', [2, 4], 'float32', { data: new Float32Array(8) });
  const b = m.tensor('b', [2], 'int64', { data: new BigInt64Array(2) });
  const y = m.act('y', [1, 2]);
  const h = m.tensor('h', [1, 2], 'int16', { scale: [1] });
  const f = m.tensor('f', [1, 2], 'float16');
  const z = m.tensor('z', [1, 2], 'float16');
  const u = m.tensor('u', [1, 2], 'int8');
  m.op(B.FULLY_CONNECTED, [x, w, b], [y], { type: O.FullyConnectedOptions, value: fcOptions });
  m.op(B.ADD, [y, h], [h], { type: O.AddOptions, value: { activation: 0, potScaleInt16: true } });
  m.op(B.RELU, [f], [z]);
  m.op(B.RELU, [u], [u]);
  t.deepEqual(problems(t, m, [x, f, u], [y, z]), [
    "operator 0 (FULLY_CONNECTED): weights (tensor 1 'w') is FLOAT32, expected INT8",
    "operator 0 (FULLY_CONNECTED): bias (tensor 2 'b') is INT64, expected INT32",
    "operator 1 (ADD): input 1 (tensor 4 'h') is INT16, expected INT8",
    "operator 1 (ADD): output (tensor 4 'h') is INT16, expected INT8",
    "operator 2 (RELU): input (tensor 5 'f') is FLOAT16, expected INT8 or FLOAT32",
    "tensor 5 'f': type FLOAT16 is not supported",
    "tensor 6 'z': type FLOAT16 is not supported",
    "tensor 7 'u': int8 tensor without quantization parameters",
  ]);
});

test('graph-level problems are reported by the graph verifier with the operator origin', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 4, 4, 2], 'float32');
  const w = m.tensor('w', [3, 1, 1, 2], 'float32', { data: new Float32Array(6) });
  const y = m.tensor('y', [1, 4, 4, 5], 'float32');
  m.op(B.CONV_2D, [x, w], [y], { type: O.Conv2DOptions, value: conv2dOptions });
  const error = t.throws(() => importModel(m, [x], [y]), { instanceOf: EdgecError });
  t.is(error?.details.length, 1);
  t.regex(error?.details[0] ?? '', /operator 0 \(CONV_2D\).*\[1,4,4,5\].*\[1,4,4,3\]/);
});

test('operand counts are checked before anything reads the operands', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 4], 'float32');
  const y = m.tensor('y', [1, 4], 'float32');
  m.op(B.ADD, [x], [y], { type: O.AddOptions, value: { activation: 0, potScaleInt16: true } });
  m.op(B.CONV_2D, [x, -1], [y], { type: O.Conv2DOptions, value: conv2dOptions });
  m.op(B.RELU, [x], [x, y]);
  t.deepEqual(problems(t, m, [x], [y]), [
    'operator 0 (ADD): has 1 inputs, expected 2',
    'operator 1 (CONV_2D): required input 1 is missing',
    'operator 2 (RELU): has 2 outputs, expected 1',
  ]);
});
