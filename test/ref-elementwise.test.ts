import test from 'ava';
import { readFileSync } from 'node:fs';
import { EdgecError } from '../src/ir/errors.ts';
import type { DType, Graph, Op, Tensor, TensorData } from '../src/ir/types.ts';
import { addSubParams, mulParams, sigmoidLikeParams, softmaxParams } from '../src/lower/elementwise.ts';
import { evalElementwise } from '../src/ref/elementwise.ts';

// Goldens produced by TensorFlow Lite Micro's own kernels (Prepare and Eval); see fixtures/kernels/README.md.
type Value = number | string; // float32 specials (NaN, ±Infinity, -0) are strings that Number() reads
interface FixtureCase {
  name: string;
  op: { kind: Op['kind']; attrs: Record<string, unknown> };
  tensors: Tensor[]; // the op's inputs, then its output
  feeds: Value[][];
  expected?: Value[];
  tflm?: string; // for refused cases: how TFLite Micro refused ('error' or 'abort')
}
interface Fixture {
  family: string;
  cases: FixtureCase[];
  refused: FixtureCase[];
}

const fixture = (name: string): Fixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/kernels/${name}`, import.meta.url), 'utf8')) as Fixture;

const typed = (dtype: DType, values: Value[]): TensorData =>
  dtype === 'int8' ? Int8Array.from(values, Number) : Float32Array.from(values, Number);

function graphOf(c: FixtureCase): { graph: Graph; op: Op; data: TensorData[] } {
  const inputs = c.feeds.map((_, i) => i);
  const op = { kind: c.op.kind, attrs: c.op.attrs, inputs, outputs: [inputs.length], origin: 'fixture op' } as Op;
  const graph: Graph = { name: c.name, tensors: c.tensors, ops: [op], inputs, outputs: op.outputs };
  return { graph, op, data: c.feeds.map((feed, i) => typed(c.tensors[i].dtype, feed)) };
}

/** Integer bit patterns that are as far apart as the values are in units in the last place. */
function orderedBits(data: Float32Array): Int32Array {
  const raw = new Int32Array(data.buffer, data.byteOffset, data.length);
  return raw.map((b) => (b < 0 ? -2147483648 - b : b));
}

/**
 * Compares outputs exactly (-0 and 0 differ; any NaN equals any NaN), allowing `ulps` units in the
 * last place for float32 (TFLite calls the C library's expf/tanhf there, which is not always
 * correctly rounded). Returns the first differences and how many float values were inexact.
 */
function differences(got: TensorData, want: TensorData, ulps: number): { problems: string[]; inexact: number } {
  if (got.length !== want.length) return { problems: [`${got.length} values, want ${want.length}`], inexact: 0 };
  const problems: string[] = [];
  let inexact = 0;
  if (!(got instanceof Float32Array) || !(want instanceof Float32Array)) {
    got.forEach((v, i) => {
      if (v !== want[i] && problems.length < 5) problems.push(`[${i}] got ${v}, want ${want[i]}`);
    });
    return { problems, inexact };
  }
  const g = orderedBits(got);
  const w = orderedBits(want);
  for (let i = 0; i < g.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
    const distance = Math.abs(g[i] - w[i]);
    if (distance === 0) continue;
    inexact++;
    if (distance > ulps && problems.length < 5) problems.push(`[${i}] got ${got[i]}, want ${want[i]} (${distance} ulp)`);
  }
  return { problems, inexact };
}

/** Float ops whose TFLite kernel calls expf or tanhf. */
const TRANSCENDENTAL = new Set(['logistic', 'tanh', 'softmax']);

for (const [file, title] of [
  ['elementwise-int8.json', 'int8 element-wise ops are bit-exact with TFLite Micro'],
  ['elementwise-float.json', 'float32 element-wise ops match TFLite Micro bit for bit, up to 1 ulp where it calls expf/tanhf'],
] as const) {
  test(title, (t) => {
    const { cases, refused } = fixture(file);
    let inexact = 0;
    for (const c of cases) {
      const { graph, op, data } = graphOf(c);
      const output = c.tensors[c.tensors.length - 1];
      const got = evalElementwise(graph, op, data);
      const diff = differences(got, typed(output.dtype, c.expected!), TRANSCENDENTAL.has(c.op.kind) ? 1 : 0);
      if (diff.problems.length > 0) t.fail(`${c.name}\n  ${diff.problems.join('\n  ')}`);
      inexact += diff.inexact;
    }
    for (const c of refused) {
      const { graph, op, data } = graphOf(c);
      const error = t.throws(() => evalElementwise(graph, op, data), { instanceOf: EdgecError }, `${c.name}: TFLite Micro refuses it (${c.tflm})`);
      t.is(error?.kind, 'model');
      t.true(error?.message.includes('fixture op'), `the error names the op: ${error?.message}`);
    }
    t.true(cases.length > 50);
    t.log(`${cases.length} cases compared (${inexact} float values 1 ulp off from the C library's expf/tanhf), ${refused.length} refused as TFLite Micro refuses them`);
  });
}

// ------------------------------------------------------------------ hand-written cases

function int8Graph(op: Op, tensors: Tensor[]): Graph {
  return { name: 'g', tensors, ops: [op], inputs: op.inputs, outputs: op.outputs };
}
const q = (name: string, shape: number[], scale: number, zeroPoint: number): Tensor => ({
  name,
  shape,
  dtype: 'int8',
  quant: { scale: [scale], zeroPoint: [zeroPoint], axis: 0 },
});

test('add derives TFLite parameters: 20-bit headroom, double-precision multipliers', (t) => {
  const op: Op = { kind: 'add', inputs: [0, 1], outputs: [2], attrs: { activation: 'relu' } };
  const graph = int8Graph(op, [q('a', [4], 0.5, -3), q('b', [4], 0.25, 7), q('y', [4], 1, -10)]);
  t.deepEqual(addSubParams(graph, op), {
    leftShift: 20,
    input1ZeroPoint: -3,
    input2ZeroPoint: 7,
    outputZeroPoint: -10,
    input1: { multiplier: 1 << 30, shift: 0 }, // 0.5 / (2 * 0.5)
    input2: { multiplier: 1 << 30, shift: -1 }, // 0.25 / 1
    output: { multiplier: 1 << 30, shift: -19 }, // 1 / (2^20 * 1)
    activationMin: -10, // relu: real 0 is the zero point
    activationMax: 127,
  });
  // 0.5*(5+3) + 0.25*(1-7) = 2.5 -> rounds to 3 (ties away from zero), plus zero point -10;
  // 0.5*(127+3) + 0.25*(127-7) = 95 -> 85; negative sums clamp at the relu bound.
  const out = evalElementwise(graph, op, [new Int8Array([5, -3, -128, 127]), new Int8Array([1, 7, -128, 127])]);
  t.deepEqual([...out], [-7, -10, -10, 85]);
});

test('mul and softmax parameters', (t) => {
  const mul: Op = { kind: 'mul', inputs: [0, 1], outputs: [2], attrs: { activation: 'none' } };
  const g1 = int8Graph(mul, [q('a', [1], 0.5, 0), q('b', [1], 0.5, 0), q('y', [1], 0.125, 0)]);
  t.deepEqual(mulParams(g1, mul).output, { multiplier: 1 << 30, shift: 2 });

  const softmax: Op = { kind: 'softmax', inputs: [0], outputs: [1], attrs: { beta: 1 } };
  const g2 = int8Graph(softmax, [q('x', [1, 4], 1 / 16, 0), q('p', [1, 4], 1 / 256, -128)]);
  // 2^-4 * 2^26 = 2^22 -> multiplier 2^30 with left shift 23; radius floor(31 * 2^26 / 2^23) = 248.
  t.deepEqual(softmaxParams(g2, softmax), { outputBits: 8, input: { multiplier: 1 << 30, shift: 23 }, diffMin: -248 });
});

test('logistic and tanh rescale the input to Q4.27 with a frexp multiplier', (t) => {
  const op: Op = { kind: 'tanh', inputs: [0], outputs: [1], attrs: {} };
  const graph = int8Graph(op, [q('x', [3], 1 / 32, 5), q('y', [3], 1 / 128, 0)]);
  t.deepEqual(sigmoidLikeParams(graph, op), {
    inputZeroPoint: 5,
    inputRangeRadius: Math.floor((15 * 2 ** 27) / 2 ** 23),
    input: { multiplier: 1 << 30, shift: 23 },
  });
  const out = evalElementwise(graph, op, [new Int8Array([5, -128, 127])]);
  t.is(out[0], 0);
  t.is(out[1], -128);
  t.is(out[2], 127);
});

test('softmax of equal values shares the probability; one hot value takes it all', (t) => {
  const op: Op = { kind: 'softmax', inputs: [0], outputs: [1], attrs: { beta: 1 } };
  const graph = int8Graph(op, [q('x', [2, 4], 0.5, 0), q('p', [2, 4], 1 / 256, -128)]);
  const out = evalElementwise(graph, op, [new Int8Array([9, 9, 9, 9, 127, -128, -128, -128])]);
  t.deepEqual([...out], [-64, -64, -64, -64, 127, -128, -128, -128]);
});

test('ops whose output quantization TFLite fixes are refused with other quantizations, naming the op', (t) => {
  const tanh: Op = { kind: 'tanh', inputs: [0], outputs: [1], attrs: {}, origin: 'operator 7' };
  const graph = int8Graph(tanh, [q('x', [2], 0.1, 0), q('y', [2], 1 / 256, -128)]);
  const error = t.throws(() => evalElementwise(graph, tanh, [new Int8Array(2)]), { instanceOf: EdgecError });
  t.is(error?.kind, 'model');
  t.regex(error?.message ?? '', /tanh op \(operator 7\).*scale 1\/128 and zero point 0/);

  const logistic: Op = { kind: 'logistic', inputs: [0], outputs: [1], attrs: {} };
  const g2 = int8Graph(logistic, [q('x', [2], 0.1, 0), q('y', [2], 1 / 128, -128)]);
  t.throws(() => evalElementwise(g2, logistic, [new Int8Array(2)]), { instanceOf: EdgecError, message: /logistic op.*1\/256/ });
});

test('bad inputs end as EdgecErrors that say what is wrong', (t) => {
  const add: Op = { kind: 'add', inputs: [0, 1], outputs: [2], attrs: { activation: 'none' }, origin: 'operator 3' };
  const graph = int8Graph(add, [q('a', [2, 3], 0.1, 0), q('b', [3], 0.1, 0), q('y', [2, 3], 0.1, 0)]);
  const wrongLength = t.throws(() => evalElementwise(graph, add, [new Int8Array(5), new Int8Array(3)]), { instanceOf: EdgecError });
  t.is(wrongLength?.kind, 'data');
  t.regex(wrongLength?.message ?? '', /input 'a' needs 6 int8 values for shape \[2,3\], got 5 int8/);

  const unquantized = int8Graph(add, [{ name: 'a', shape: [3], dtype: 'int8' }, q('b', [3], 0.1, 0), q('y', [3], 0.1, 0)]);
  t.throws(() => evalElementwise(unquantized, add, [new Int8Array(3), new Int8Array(3)]), {
    instanceOf: EdgecError,
    message: /add op \(operator 3\): input 1 'a' is int8 but has no quantization/,
  });

  const perChannel = int8Graph(add, [{ ...q('a', [3], 0.1, 0), quant: { scale: [0.1, 0.2, 0.3], zeroPoint: [0, 0, 0], axis: 0 } }, q('b', [3], 0.1, 0), q('y', [3], 0.1, 0)]);
  t.throws(() => evalElementwise(perChannel, add, [new Int8Array(3), new Int8Array(3)]), { instanceOf: EdgecError, message: /per channel/ });

  const noBroadcast = int8Graph(add, [q('a', [2, 3], 0.1, 0), q('b', [2], 0.1, 0), q('y', [2, 3], 0.1, 0)]);
  t.throws(() => evalElementwise(noBroadcast, add, [new Int8Array(6), new Int8Array(2)]), { instanceOf: EdgecError, message: /do not broadcast/ });

  const mixed: Graph = int8Graph(add, [q('a', [3], 0.1, 0), { name: 'b', shape: [3], dtype: 'float32' }, q('y', [3], 0.1, 0)]);
  t.throws(() => evalElementwise(mixed, add, [new Int8Array(3), new Float32Array(3)]), { instanceOf: EdgecError, message: /'b' is float32 but output 'y' is int8/ });

  const int16: Op = { kind: 'relu', inputs: [0], outputs: [1], attrs: {} };
  const g16 = int8Graph(int16, [{ name: 'x', shape: [2], dtype: 'int16' }, { name: 'y', shape: [2], dtype: 'int16' }]);
  t.throws(() => evalElementwise(g16, int16, [new Int16Array(2)]), { instanceOf: EdgecError, message: /int16 output 'y' is not supported/ });

  const relu: Op = { kind: 'relu', inputs: [0], outputs: [1], attrs: {} };
  const reshaped = int8Graph(relu, [q('x', [2, 3], 0.1, 0), q('y', [3, 2], 0.1, 0)]);
  t.throws(() => evalElementwise(reshaped, relu, [new Int8Array(6)]), { instanceOf: EdgecError, message: /'y' has shape \[3,2\], not the input's \[2,3\]/ });

  const tinySoftmax: Op = { kind: 'softmax', inputs: [0], outputs: [1], attrs: { beta: 1e-12 } };
  const gs = int8Graph(tinySoftmax, [q('x', [4], 0.1, 0), q('p', [4], 1 / 256, -128)]);
  t.throws(() => evalElementwise(gs, tinySoftmax, [new Int8Array(4)]), { instanceOf: EdgecError, message: /beta 1e-12.*too small/ });
});

test('float softmax follows the float32 steps of the reference kernel', (t) => {
  const op: Op = { kind: 'softmax', inputs: [0], outputs: [1], attrs: { beta: 2 } };
  const graph: Graph = {
    name: 'g',
    tensors: [
      { name: 'x', shape: [1, 3], dtype: 'float32' },
      { name: 'y', shape: [1, 3], dtype: 'float32' },
    ],
    ops: [op],
    inputs: [0],
    outputs: [1],
  };
  const out = evalElementwise(graph, op, [new Float32Array([1, 2, 3])]);
  const e = [Math.fround(Math.exp(-4)), Math.fround(Math.exp(-2)), 1];
  const sum = Math.fround(Math.fround(e[0] + e[1]) + e[2]);
  t.deepEqual([...out], e.map((v) => Math.fround(v / sum)));
});
