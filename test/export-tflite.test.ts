// exportTflite: graphs written as standard TFLite files that importTflite reads back to the same
// graph, for the oracle models as imported and for a graph edgec quantized itself.

import test from 'ava';
import { random } from './helpers/random.ts';
import { readFileSync } from 'node:fs';
import { dataBytes } from '../src/ir/dtype.ts';
import type { Graph, Op, Tensor, TensorData } from '../src/ir/types.ts';
import { importTflite } from '../src/import/tflite.ts';
import { readNpy, sampleOf } from '../src/npy/npy.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import type { Range } from '../src/quant/range.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { exportTflite } from '../src/tflite/export.ts';
import { readTflite } from '../src/tflite/reader.ts';
import { BuiltinOperator as B } from '../src/tflite/schema.ts';
import { writeTflite } from '../src/tflite/writer.ts';

const ORACLES = new URL('../../shared/oracles/', import.meta.url);

const roundTrip = (graph: Graph) => importTflite(writeTflite(exportTflite(graph)), `${graph.name}.tflite`);

/** The graph with op origins dropped: the importer names ops after their position in the file. */
const withoutOrigins = (graph: Graph) => ({ ...graph, ops: graph.ops.map(({ origin: _, ...op }) => op) });

const sameBytes = (a: TensorData, b: TensorData) => Buffer.from(dataBytes(a)).equals(Buffer.from(dataBytes(b)));

for (const name of ['hello_world_float', 'hello_world_int8', 'micro_speech', 'person_detect']) {
  test(`${name}: export, write, read and import give the same graph and the same outputs`, (t) => {
    const file = (f: string) => new URL(`${name}/${f}`, ORACLES);
    const graph = importTflite(readFileSync(file('model.tflite')), `${name}.tflite`);
    const back = roundTrip(graph);
    t.deepEqual(back, graph);
    const inputs = readNpy(readFileSync(file('input.npy')), 'input.npy');
    const expected = readNpy(readFileSync(file('output.npy')), 'output.npy');
    const run = createExecutor(back);
    for (let s = 0; s < inputs.shape[0]; s++) {
      const [out] = run([sampleOf(inputs, s)]);
      if (!sameBytes(out, sampleOf(expected, s))) return t.fail(`sample ${s} differs from output.npy`);
    }
  });
}

const op = (kind: Op['kind'], attrs: object, inputs: number[], output: number): Op => ({ kind, attrs, inputs, outputs: [output] }) as unknown as Op;

/** A float graph with one op of every family the exporter writes, all data flowing to the output. */
function floatGraph(): Graph {
  const next = random(7);
  const rand = () => next() * 2 - 1;
  const values = (n: number) => Float32Array.from({ length: n }, rand);
  const tensors: Tensor[] = [
    { name: 'x', shape: [1, 6, 6, 2], dtype: 'float32' },
    { name: 'conv_w', shape: [4, 3, 3, 2], dtype: 'float32', data: values(72) },
    { name: 'conv_b', shape: [4], dtype: 'float32', data: values(4) },
    { name: 'conv', shape: [1, 6, 6, 4], dtype: 'float32' },
    { name: 'dw_w', shape: [1, 3, 3, 4], dtype: 'float32', data: values(36) },
    { name: 'dw', shape: [1, 4, 4, 4], dtype: 'float32' },
    { name: 'padded', shape: [1, 6, 6, 4], dtype: 'float32' },
    { name: 'pool', shape: [1, 3, 3, 4], dtype: 'float32' },
    { name: 'avg', shape: [1, 3, 3, 4], dtype: 'float32' },
    { name: 'sum', shape: [1, 3, 3, 4], dtype: 'float32' },
    { name: 'cat', shape: [1, 3, 3, 8], dtype: 'float32' },
    { name: 'mean', shape: [1, 8], dtype: 'float32' },
    { name: 'flat', shape: [1, 1, 8], dtype: 'float32' },
    { name: 'squeezed', shape: [1, 8], dtype: 'float32' },
    { name: 'fc_w', shape: [5, 8], dtype: 'float32', data: values(40) },
    { name: 'fc', shape: [1, 5], dtype: 'float32' },
    { name: 'probs', shape: [1, 5], dtype: 'float32' },
  ];
  return {
    name: 'families',
    tensors,
    ops: [
      op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'relu' }, [0, 1, 2], 3),
      op('depthwise_conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'valid', depthMultiplier: 1, activation: 'relu6' }, [3, 4], 5),
      op('pad', { paddings: [[0, 0], [1, 1], [1, 1], [0, 0]] }, [5], 6),
      op('max_pool2d', { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' }, [6], 7),
      op('avg_pool2d', { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' }, [6], 8),
      op('add', { activation: 'none' }, [7, 8], 9),
      op('concatenation', { axis: 3, activation: 'none' }, [9, 7], 10),
      op('mean', { axes: [1, 2], keepDims: false }, [10], 11),
      op('reshape', { shape: [1, 1, 8] }, [11], 12),
      op('squeeze', { axes: [1] }, [12], 13),
      op('fully_connected', { activation: 'none', keepNumDims: false }, [13, 14], 15),
      op('softmax', { beta: 1 }, [15], 16),
    ],
    inputs: [0],
    outputs: [16],
  };
}

function int8Graph(io: 'int8' | 'float'): Graph {
  const graph = floatGraph();
  const ranges = new Map<number, Range>(graph.tensors.flatMap((tensor, i): [number, Range][] => (tensor.data ? [] : [[i, [-2 - i / 10, 3 + i / 7]]])));
  return quantizeGraph(graph, ranges, { io });
}

for (const io of ['int8', 'float'] as const) {
  test(`a quantized graph (${io} I/O) comes back identical and computes identical bytes`, (t) => {
    const graph = int8Graph(io);
    const back = roundTrip(graph);
    t.deepEqual(withoutOrigins(back), withoutOrigins({ ...graph, name: back.name }));
    const input = graph.tensors[graph.inputs[0]];
    const run = createExecutor(graph);
    const runBack = createExecutor(back);
    for (let s = 0; s < 20; s++) {
      const sample =
        io === 'int8'
          ? Int8Array.from({ length: 72 }, (_, i) => ((i * 37 + s * 101) % 256) - 128)
          : Float32Array.from({ length: 72 }, (_, i) => Math.sin(i * 0.7 + s) * 2);
      t.is(input.dtype, io === 'int8' ? 'int8' : 'float32');
      t.true(sameBytes(run([sample])[0], runBack([sample])[0]), `sample ${s}`);
    }
  });
}

test('the file is standard TFLite: empty sentinel buffer, a buffer per constant, per-channel axes, versions, operand tensors', (t) => {
  const graph = int8Graph('int8');
  const model = readTflite(writeTflite(exportTflite(graph)));
  const [subgraph] = model.subgraphs;
  t.is(model.buffers[0].data.length, 0);
  const tensor = (name: string) => subgraph.tensors.find((x) => x.name === name)!;
  subgraph.tensors.forEach((x, i) => {
    // Tensors past the graph's own are the recreated operands: constants too.
    const constant = i >= graph.tensors.length || graph.tensors[i].data !== undefined;
    t.is(x.buffer > 0, constant, x.name);
    if (constant) t.true(model.buffers[x.buffer].data.length > 0, x.name);
  });
  t.is(new Set(subgraph.tensors.map((x) => x.buffer).filter((b) => b > 0)).size, model.buffers.length - 1);
  t.is(tensor('conv_w').quantization?.quantizedDimension, 0);
  t.is(tensor('conv_w').quantization?.scale.length, 4);
  t.is(tensor('dw_w').quantization?.quantizedDimension, 3);
  t.is(tensor('dw_w').quantization?.scale.length, 4);
  t.is(tensor('fc_w').quantization?.quantizedDimension, 0);
  t.deepEqual(tensor('conv_b').quantization?.zeroPoint, [0, 0, 0, 0]);
  const versions = Object.fromEntries(model.operatorCodes.map((c) => [c.builtinCode, c.version]));
  t.like(versions, {
    [B.CONV_2D]: 3,
    [B.DEPTHWISE_CONV_2D]: 3,
    [B.FULLY_CONNECTED]: 6, // no bias
    [B.MAX_POOL_2D]: 2,
    [B.SOFTMAX]: 2,
    [B.PAD]: 2,
    [B.MEAN]: 2,
    [B.RESHAPE]: 1,
    [B.QUANTIZE]: 1, // the requantization in front of the concatenation
  });
  t.deepEqual(Array.from(new Int32Array(model.buffers[tensor('padded/paddings').buffer].data.slice().buffer)), [0, 0, 1, 1, 1, 1, 0, 0]);
  t.deepEqual(tensor('padded/paddings').shape, [4, 2]);
  t.deepEqual(Array.from(new Int32Array(model.buffers[tensor('mean/axes').buffer].data.slice().buffer)), [1, 2]);
});

test('a constant without elements cannot be exported', (t) => {
  const graph = floatGraph();
  graph.tensors.push({ name: 'empty', shape: [0], dtype: 'float32', data: new Float32Array(0) });
  t.throws(() => exportTflite(graph), { message: /'empty' has no elements/ });
});
