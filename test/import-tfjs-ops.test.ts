// A TF.js graph model of the slicing, stacking, comparing and reducing TensorFlow ops (StridedSlice,
// Slice, Transpose, Maximum, Minimum, Prelu, Square, AddN, ExpandDims, Pack, GatherV2, Sum, Max,
// ResizeNearestNeighbor), written by hand as tensorflowjs_converter writes graph models: edgec's
// float executor and host reference against tfjs-converter executing the same file.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import test from 'ava';
import { runFloat } from '../src/float/run.ts';
import { loadModel } from '../src/import/index.ts';
import { tfjsFileHandler } from '../src/import/tfjs-io.ts';
import { assertClose, randomFloats, referenceOutputs } from './fixtures/tfjs/support.ts';
import { HandGraph, bool, int, intList, str, strings } from './helpers/tfjs-graph-writer.ts';

const workDir = mkdtempSync(join(tmpdir(), 'edgec-tfjs-ops-'));
test.after.always(() => rmSync(workDir, { recursive: true, force: true }));

const g = new HandGraph();
const node = g.node.bind(g);
const ints = g.ints.bind(g);
const constant = g.constant.bind(g);

g.placeholder('x', [-1, 4, 6, 2]);
const ss = node('ss', 'StridedSlice', ['x', ints('ss/b', [0, 3, 0, 0]), ints('ss/e', [1, 0, 6, 2]), ints('ss/s', [1, -1, 2, 1])], { begin_mask: int(1), end_mask: int(9), shrink_axis_mask: int(0) });
const tr = node('tr', 'Transpose', [ss, ints('tr/perm', [0, 2, 1, 3])]);
const mx = node('mx', 'Maximum', [tr, constant('mx/floor', 'float32', [2], [0.1, -0.2])]);
const pr = node('pr', 'Prelu', [mx, constant('pr/alpha', 'float32', [2], [0.25, -0.5])]);
const sq = node('sq', 'Square', [pr]);
const an = node('an', 'AddN', [sq, pr, tr], { N: int(3) });
const ed = node('ed', 'ExpandDims', [an, ints('ed/axis', [-1], [])]);
const es = node('es', 'Squeeze', [ed], { squeeze_dims: { list: { i: ['4'] } } });
const pk = node('pk', 'Pack', [an, es], { N: int(2), axis: int(1) });
const gt = node('gt', 'GatherV2', [pk, ints('gt/idx', [1, 0, 1]), ints('gt/axis', [3], [])], { batch_dims: int(0) });
const sm = node('sm', 'Sum', [gt, ints('sm/axes', [1])], { keep_dims: { b: false } });
const mr = node('mr', 'Max', [sm, ints('mr/axes', [-2])], { keep_dims: { b: true } });
const rs = node('rs', 'ResizeNearestNeighbor', [mr, ints('rs/size', [6, 4])], { align_corners: { b: false }, half_pixel_centers: { b: true } });
const sl = node('sl', 'Slice', [rs, ints('sl/b', [0, 1, 0, 0]), ints('sl/s', [-1, 4, -1, 2])]);
node('Identity', 'Minimum', [sl, constant('mn/ceiling', 'float32', [1, 1, 1, 2], [3, 2.5])]);

test('the graph imports and runs as tfjs-converter executes it', async (t) => {
  await tf.setBackend('cpu');
  const path = g.write(join(workDir, 'ops'));
  const model = await loadGraphModel(tfjsFileHandler(path));
  const graph = await loadModel(path);
  t.deepEqual(graph.tensors[graph.outputs[0]].shape, [1, 4, 4, 2]);
  const samples = 3;
  const x = randomFloats(samples * 48, 7, 2);
  const expected = (model.predict(tf.tensor(x, [samples, 4, 6, 2])) as tf.Tensor).dataSync() as Float32Array;
  const float = await runFloat(graph, [x]);
  assertClose(t, float.get(graph.outputs[0])!, expected, 1e-5, 'float executor');
  assertClose(t, referenceOutputs(graph, [x], samples)[0], expected, 1e-5, 'host reference');
});

// The ops of image-to-image models and their heads, under their TensorFlow names: ResizeBilinear,
// SquaredDifference, Rsqrt, Exp, Conv2DBackpropInput (a transpose conv), _FusedConv2D with a fused
// Prelu, ArgMax, ArgMin and LogSoftmax.
const h = new HandGraph();
h.placeholder('y', [-1, 3, 4, 2]);
const rb = h.node('rb', 'ResizeBilinear', ['y', h.ints('rb/size', [5, 7])], { align_corners: bool(false), half_pixel_centers: bool(true) });
const sd = h.node('sd', 'SquaredDifference', [rb, h.constant('sd/c', 'float32', [2], [0.3, -0.4])]);
const ad = h.node('ad', 'AddV2', [sd, h.constant('ad/c', 'float32', [1], [0.5])]);
const rq = h.node('rq', 'Rsqrt', [ad]);
const ex = h.node('ex', 'Exp', [rq]);
const tcFilter = h.constant('tc/filter', 'float32', [3, 3, 3, 2], Array.from(randomFloats(54, 11, 1)));
const tc = h.node('tc', 'Conv2DBackpropInput', [h.ints('tc/sizes', [1, 10, 14, 3]), tcFilter, ex], { strides: intList([1, 2, 2, 1]), padding: str('SAME'), dilations: intList([1, 1, 1, 1]) });
const fcArgs = [h.constant('fc/filter', 'float32', [1, 1, 3, 4], Array.from(randomFloats(12, 12, 1))), h.constant('fc/bias', 'float32', [4], [0.1, -0.2, 0.3, 0]), h.constant('fc/alpha', 'float32', [4], [0.2, -0.1, 0.5, 1])];
const fc = h.node('fc', '_FusedConv2D', [tc, ...fcArgs], { strides: intList([1, 1, 1, 1]), padding: str('VALID'), dilations: intList([1, 1, 1, 1]), fused_ops: strings(['BiasAdd', 'Prelu']), num_args: int(2) });
h.node('am', 'ArgMax', [fc, h.ints('am/axis', [-1], [])]);
h.node('an', 'ArgMin', [fc, h.ints('an/axis', [1], [])]);
h.node('Identity', 'LogSoftmax', [fc]);

test('resize, squared difference, rsqrt, exp, transpose conv, fused prelu, argmax/argmin and log softmax import and run as tfjs-converter executes them', async (t) => {
  await tf.setBackend('cpu');
  const path = h.write(join(workDir, 'image-ops'));
  const model = await loadGraphModel(tfjsFileHandler(path));
  const graph = await loadModel(path);
  const names = graph.outputs.map((o) => graph.tensors[o].name);
  t.deepEqual(names.slice().sort(), ['Identity', 'am', 'an']);
  const x = randomFloats(24, 9, 2);
  const expected = model.execute(tf.tensor(x, [1, 3, 4, 2]), names) as tf.Tensor[];
  const float = await runFloat(graph, [x]);
  const reference = referenceOutputs(graph, [x], 1);
  graph.outputs.forEach((o, k) => {
    const want = expected[k].dataSync();
    assertClose(t, float.get(o)!, want, 1e-5, `float executor, ${names[k]}`);
    assertClose(t, reference[k], want, 1e-5, `host reference, ${names[k]}`);
  });
});

// Every fusion tfjs-converter writes ends in Elu too: _FusedConv2D, FusedDepthwiseConv2dNative and
// _FusedMatMul with BiasAdd and Elu, and a plain Elu.
const e = new HandGraph();
e.placeholder('z', [-1, 4, 4, 2]);
const same = { strides: intList([1, 1, 1, 1]), padding: str('SAME'), dilations: intList([1, 1, 1, 1]), fused_ops: strings(['BiasAdd', 'Elu']), num_args: int(1) };
const ec = e.node('ec', '_FusedConv2D', ['z', e.constant('ec/filter', 'float32', [3, 3, 2, 3], Array.from(randomFloats(54, 21, 1))), e.constant('ec/bias', 'float32', [3], [-0.5, 0.1, 0.4])], same);
const ed2 = e.node('ed', 'FusedDepthwiseConv2dNative', [ec, e.constant('ed/filter', 'float32', [3, 3, 3, 1], Array.from(randomFloats(27, 22, 1))), e.constant('ed/bias', 'float32', [3], [0.2, -0.3, 0])], same);
const er = e.node('er', 'Reshape', [ed2, e.ints('er/shape', [-1, 48])]);
const em = e.node('em', '_FusedMatMul', [er, e.constant('em/w', 'float32', [48, 5], Array.from(randomFloats(240, 23, 0.5))), e.constant('em/bias', 'float32', [5], [0.1, -1, 0.3, -0.2, 0])], {
  transpose_a: bool(false),
  transpose_b: bool(false),
  fused_ops: strings(['BiasAdd', 'Elu']),
  num_args: int(1),
});
e.node('Identity', 'Elu', [e.node('en', 'Mul', [em, e.constant('en/c', 'float32', [1], [-1.5])])]);

test('conv, depthwise and matmul fused with Elu, and a plain Elu, import and run as tfjs-converter executes them', async (t) => {
  await tf.setBackend('cpu');
  const path = e.write(join(workDir, 'elu'));
  const model = await loadGraphModel(tfjsFileHandler(path));
  const graph = await loadModel(path);
  t.is(graph.ops.filter((op) => op.kind === 'elu').length, 4);
  const samples = 2;
  const z = randomFloats(samples * 32, 24, 2);
  const expected = (model.predict(tf.tensor(z, [samples, 4, 4, 2])) as tf.Tensor).dataSync() as Float32Array;
  assertClose(t, (await runFloat(graph, [z])).get(graph.outputs[0])!, expected, 1e-5, 'float executor');
  assertClose(t, referenceOutputs(graph, [z], samples)[0], expected, 1e-5, 'host reference');
});

// Matrix products of computed tensors: BatchMatMulV2 by a constant of lower rank, BatchMatMul with
// adj_x, MatMul with transpose_a (which a dense layer cannot take), a _FusedMatMul with transpose_a
// (its bias added after the product); a MatMul by constant weights stays a dense layer.
const m = new HandGraph();
m.placeholder('q', [1, 3, 4]);
const bm = m.node('bm', 'BatchMatMulV2', ['q', m.constant('bm/w', 'float32', [4, 5], Array.from(randomFloats(20, 13, 1)))], { adj_x: bool(false), adj_y: bool(false) });
const bt = m.node('bt', 'BatchMatMul', [bm, 'q'], { adj_x: bool(true), adj_y: bool(false) });
const rows = m.node('rows', 'Reshape', [bt, m.ints('rows/shape', [5, 4])]);
const dense = m.node('dense', 'MatMul', [rows, m.constant('dense/w', 'float32', [3, 4], Array.from(randomFloats(12, 14, 1)))], { transpose_a: bool(false), transpose_b: bool(true) });
const gram = m.node('gram', 'MatMul', [rows, dense], { transpose_a: bool(true), transpose_b: bool(false) });
const fmArgs = [m.constant('fm/w', 'float32', [4, 2], Array.from(randomFloats(8, 15, 1))), m.constant('fm/bias', 'float32', [2], [0.25, -0.5])];
m.node('Identity', '_FusedMatMul', [gram, ...fmArgs], { transpose_a: bool(true), transpose_b: bool(false), fused_ops: strings(['BiasAdd']), num_args: int(1) });

test('BatchMatMul, BatchMatMulV2 and MatMul of computed tensors import as batch matrix products and run as tfjs-converter executes them', async (t) => {
  await tf.setBackend('cpu');
  const path = m.write(join(workDir, 'matmul'));
  const model = await loadGraphModel(tfjsFileHandler(path));
  const graph = await loadModel(path);
  t.deepEqual(graph.ops.map((op) => op.kind), ['batch_matmul', 'batch_matmul', 'reshape', 'fully_connected', 'batch_matmul', 'batch_matmul', 'add']);
  const x = randomFloats(12, 16, 2);
  const expected = (model.predict(tf.tensor(x, [1, 3, 4])) as tf.Tensor).dataSync() as Float32Array;
  const float = await runFloat(graph, [x]);
  assertClose(t, float.get(graph.outputs[0])!, expected, 1e-5, 'float executor');
  assertClose(t, referenceOutputs(graph, [x], 1)[0], expected, 1e-5, 'host reference');
});
