// The executor itself: input validation, the value table across ops, and the behaviours of the
// data-movement ops and float quantization that the golden cases do not cover.

import test from 'ava';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph, Op, Tensor, TensorData } from '../src/ir/types.ts';
import { createExecutor, executeGraph } from '../src/ref/execute.ts';

const q = (scale: number, zeroPoint: number) => ({ scale: [scale], zeroPoint: [zeroPoint], axis: 0 });
const values = (data: TensorData): number[] => Array.from(data as ArrayLike<number>);
const op = (kind: Op['kind'], attrs: object, inputs: number[], output: number) => ({ kind, attrs, inputs, outputs: [output] }) as unknown as Op;

/**
 * float [1,4] -> quantize -> int8 fully connected (3 units) -> reshape [3,1] -> dequantize -> float [3,1],
 * with the int8 reshape also a graph output.
 */
function chain(): Graph {
  const tensors: Tensor[] = [
    { name: 'x', shape: [1, 4], dtype: 'float32' },
    { name: 'xq', shape: [1, 4], dtype: 'int8', quant: q(0.05, -10) },
    { name: 'w', shape: [3, 4], dtype: 'int8', quant: q(0.01, 0), data: Int8Array.from([10, -20, 30, -40, 50, 60, -70, 80, 90, 100, 110, -120]) },
    { name: 'b', shape: [3], dtype: 'int32', quant: q(0.0005, 0), data: Int32Array.from([100, -200, 300]) },
    { name: 'h', shape: [1, 3], dtype: 'int8', quant: q(0.02, 5) },
    { name: 'r', shape: [3, 1], dtype: 'int8', quant: q(0.02, 5) },
    { name: 'y', shape: [3, 1], dtype: 'float32' },
  ];
  return {
    name: 'chain',
    tensors,
    ops: [
      op('quantize', {}, [0], 1),
      op('fully_connected', { activation: 'relu', keepNumDims: false }, [1, 2, 3], 4),
      op('reshape', { shape: [3, 1] }, [4], 5),
      op('dequantize', {}, [5], 6),
    ],
    inputs: [0],
    outputs: [6, 5],
  };
}

test('values flow through the ops; outputs come in graph.outputs order', (t) => {
  const [y, r] = executeGraph(chain(), [Float32Array.from([0.5, -1, 2, 0.25])]);
  // Worked by hand: xq = [0, -30, 30, -5]; with the input offset 10 and the biases the
  // accumulators are [1600, -3300, 3000]; times 0.05 * 0.01 / 0.02 = 0.025, plus 5, relu from 5.
  t.deepEqual(values(r), [45, 5, 80]);
  const step = Math.fround(0.02);
  t.deepEqual(values(y), [Math.fround(step * 40), 0, Math.fround(step * 75)]);
});

test('an executor prepared once runs many samples independently', (t) => {
  const run = createExecutor(chain());
  const first = run([Float32Array.from([0, 0, 0, 0])]);
  const firstValues = first.map(values);
  run([Float32Array.from([1, 1, 1, 1])]);
  t.deepEqual(first.map(values), firstValues);
});

test('reshape outputs are copies, not views of their input', (t) => {
  const graph: Graph = {
    name: 'squeeze',
    tensors: [
      { name: 'x', shape: [1, 3, 1], dtype: 'float32' },
      { name: 'y', shape: [3], dtype: 'float32' },
    ],
    ops: [op('squeeze', { axes: [0, 2] }, [0], 1)],
    inputs: [0],
    outputs: [1],
  };
  const input = Float32Array.from([1, 2, 3]);
  const [output] = executeGraph(graph, [input]);
  input[0] = 9;
  t.deepEqual(values(output), [1, 2, 3]);
});

function dataErrorOf(t: import('ava').ExecutionContext, inputs: Float32Array[] | Int8Array[]): string {
  const error = t.throws(() => executeGraph(chain(), inputs), { instanceOf: EdgecError });
  t.is(error?.kind, 'data');
  return error?.message ?? '';
}

test('inputs are checked: count, type and length, naming the input', (t) => {
  t.regex(dataErrorOf(t, []), /chain: the model takes 1 input\(s\), 0 given/);
  t.regex(dataErrorOf(t, [Int8Array.from([1, 2, 3, 4])]), /input 0 'x' needs 4 float32 values \(shape \[1,4\]\), got 4 int8 values/);
  t.regex(dataErrorOf(t, [Float32Array.from([1, 2])]), /input 0 'x' needs 4 float32 values/);
});

test('an invalid graph is a model error before anything runs', (t) => {
  const graph = chain();
  graph.tensors[4].shape = [1, 4];
  const error = t.throws(() => createExecutor(graph), { instanceOf: EdgecError });
  t.is(error?.kind, 'model');
  const constant = chain();
  constant.tensors[3].data = Float32Array.from([1, 2, 3]);
  t.regex(t.throws(() => createExecutor(constant))?.message ?? '', /constant tensor 3 'b' is declared int32 but holds float32 values/);
});

test('float -> int8 quantize saturates out-of-range values; NaN goes to the minimum', (t) => {
  const graph: Graph = {
    name: 'q',
    tensors: [
      { name: 'x', shape: [6], dtype: 'float32' },
      { name: 'y', shape: [6], dtype: 'int8', quant: q(0.5, 3) },
    ],
    ops: [op('quantize', {}, [0], 1)],
    inputs: [0],
    outputs: [1],
  };
  const [y] = executeGraph(graph, [Float32Array.from([NaN, Infinity, -Infinity, 1e30, -0.25, 0.25])]);
  // -0.25 / 0.5 = -0.5 rounds away from zero to -1, 0.25 / 0.5 to +1.
  t.deepEqual(values(y), [-128, 127, -128, 127, 2, 4]);
});
