// A TF.js graph model of the slicing, stacking, comparing and reducing TensorFlow ops (StridedSlice,
// Slice, Transpose, Maximum, Minimum, Prelu, Square, AddN, ExpandDims, Pack, GatherV2, Sum, Max,
// ResizeNearestNeighbor), written by hand as tensorflowjs_converter writes graph models: edgec's
// float executor and host reference against tfjs-converter executing the same file.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const workDir = mkdtempSync(join(tmpdir(), 'edgec-tfjs-ops-'));
test.after.always(() => rmSync(workDir, { recursive: true, force: true }));

type Attr = Record<string, unknown>;
const nodes: { name: string; op: string; input?: string[]; attr?: Attr }[] = [];
const weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; values: number[] }[] = [];
const FLOAT = { T: { type: 'DT_FLOAT' } };
const int = (i: number) => ({ i: String(i) });

function constant(name: string, dtype: 'float32' | 'int32', shape: number[], values: number[]): string {
  const type = dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
  nodes.push({ name, op: 'Const', attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } } });
  weights.push({ name, shape, dtype, values });
  return name;
}
const ints = (name: string, values: number[], shape = [values.length]) => constant(name, 'int32', shape, values);
function node(name: string, op: string, input: string[], attr: Attr = {}): string {
  nodes.push({ name, op, input, attr: { ...FLOAT, ...attr } });
  return name;
}

nodes.push({ name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [-1, 4, 6, 2].map((d) => ({ size: String(d) })) } } } });
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

function write(): string {
  const dir = join(workDir, 'ops');
  mkdirSync(dir, { recursive: true });
  const data = weights.map((w) => (w.dtype === 'float32' ? Float32Array.from(w.values) : Int32Array.from(w.values)));
  const bytes = Buffer.concat(data.map((d) => Buffer.from(d.buffer)));
  writeFileSync(join(dir, 'weights.bin'), bytes);
  const manifest = [{ paths: ['weights.bin'], weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }];
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', generatedBy: 'hand', convertedBy: 'hand', modelTopology: { node: nodes, versions: {} }, weightsManifest: manifest }));
  return join(dir, 'model.json');
}

test('the graph imports and runs as tfjs-converter executes it', async (t) => {
  await tf.setBackend('cpu');
  const path = write();
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
