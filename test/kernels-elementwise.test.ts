// The element-wise kernels (runtime-c/src/ec_elementwise.c, ec_softmax.c) as the generator calls
// them must give the host reference's bytes for every input: on the host under ASan/UBSan and on
// a Cortex-M4 in QEMU. All cases are independent ops of one graph, so each target builds once.

import test from 'ava';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import { executeGraph } from '../src/ref/execute.ts';
import { generateC } from '../src/codegen/generate.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Activation, DType, Graph, Quantization } from '../src/ir/types.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { type Fill, GraphBuilder, assertMatchesReference, quant as q, uniform } from './helpers/op-graphs.ts';

const generate = (graph: Graph) => generateC(graph, { target: { cpu: 'host', dsp: false }, emitter: kernelEmitter, prefix: 'model' });

/** Ops that must run in place (op index -> the input position they overwrite). */
const expectInPlace = new Map<number, number>();

// ---------------------------------------------------------------- add, sub, mul

interface BinaryCase {
  kind: 'add' | 'sub' | 'mul';
  a: number[];
  b: number[];
  out: number[];
  activation: Activation;
  qa: Quantization;
  qb: Quantization;
  qo: Quantization;
}

/** No broadcast, scalars on either side, two-sided broadcasts, odd lengths, a 6-deep broadcast. */
const BINARY_CASES: BinaryCase[] = [
  { kind: 'add', a: [2, 3, 4], b: [4], out: [2, 3, 4], activation: 'none', qa: q(0.05, -3), qb: q(0.02, 10), qo: q(0.1, -128) },
  { kind: 'add', a: [3, 1, 5], b: [1, 4, 1], out: [3, 4, 5], activation: 'relu', qa: q(0.5, 127), qb: q(0.003, -128), qo: q(0.25, 127) },
  { kind: 'add', a: [7], b: [1], out: [7], activation: 'relu6', qa: q(0.03, 0), qb: q(0.07, -128), qo: q(0.025, -128) },
  { kind: 'add', a: [1], b: [13], out: [13], activation: 'relu_n1_to_1', qa: q(0.001, 5), qb: q(10, 127), qo: q(0.01, 0) },
  { kind: 'add', a: [2, 1, 3, 1, 2, 1], b: [1, 2, 1, 3, 1, 2], out: [2, 2, 3, 3, 2, 2], activation: 'none', qa: q(1e-4, -128), qb: q(2e-4, 127), qo: q(3e-4, -7) },
  { kind: 'sub', a: [2, 3, 4], b: [2, 1, 4], out: [2, 3, 4], activation: 'relu', qa: q(0.1, -128), qb: q(0.1, -128), qo: q(0.2, -128) },
  { kind: 'sub', a: [11], b: [11], out: [11], activation: 'none', qa: q(0.02, 127), qb: q(2.5, -100), qo: q(1, 3) },
  { kind: 'sub', a: [1], b: [3, 5], out: [3, 5], activation: 'relu6', qa: q(0.05, 0), qb: q(0.05, 0), qo: q(0.05, -128) },
  // An output scale ten times the inputs': a right shift past 21, so the general requantization.
  { kind: 'add', a: [4, 5], b: [4, 5], out: [4, 5], activation: 'none', qa: q(0.01, -20), qb: q(0.008, 7), qo: q(0.1, 3) },
  { kind: 'sub', a: [9], b: [9], out: [9], activation: 'relu', qa: q(0.012, 100), qb: q(0.01, -90), qo: q(0.15, -120) },
  { kind: 'mul', a: [2, 3, 4], b: [4], out: [2, 3, 4], activation: 'relu', qa: q(0.05, -3), qb: q(0.02, 10), qo: q(0.001, -128) },
  { kind: 'mul', a: [9], b: [9], out: [9], activation: 'none', qa: q(0.5, 127), qb: q(0.9, -128), qo: q(1e-3, 0) },
  { kind: 'mul', a: [6], b: [1], out: [6], activation: 'relu_n1_to_1', qa: q(1e-4, -128), qb: q(1e-4, 127), qo: q(1e-8, 0) },
  { kind: 'mul', a: [4, 1, 3], b: [5, 1], out: [4, 5, 3], activation: 'none', qa: q(0.25, 0), qb: q(0.125, 1), qo: q(0.02, -1) },
];

/** Floats that probe every branch: infinities, -0, subnormals, the logistic cut-offs, overflow. */
const SPECIAL_FLOATS = [-Infinity, Infinity, -0, 0, 1e-40, -1e-40, 16.619047164916992, 16.61905, -9, -9.000001, 3e38, -3e38, -3, 3, 6, -6, 0.5];

const floats =
  (range: number): Fill =>
  (count, dtype, rand) => {
    const data = uniform(range)(count, dtype, rand) as Float32Array;
    data.set(SPECIAL_FLOATS.slice(0, Math.min(count, SPECIAL_FLOATS.length)));
    return data;
  };

function addBinaryOps(g: GraphBuilder, dtype: DType): void {
  const int8 = dtype === 'int8';
  const fill = int8 ? uniform() : floats(4);
  const qq = (x: Quantization) => (int8 ? x : undefined);
  for (const c of BINARY_CASES) {
    const a = g.input(c.a, dtype, qq(c.qa), fill);
    const b = g.input(c.b, dtype, qq(c.qb), fill);
    g.op(c.kind, { activation: c.activation }, [a, b], c.out, dtype, qq(c.qo));
  }
  // relu's output dies at the add and the mul that read it, so they may write over it. The add's
  // broadcast operand comes first: it is its input 2 that is overwritten.
  const x = g.input([3, 5], dtype, qq(q(0.04, -10)), fill);
  const y = g.input([5], dtype, qq(q(0.06, 20)), fill);
  const r = g.op('relu', {}, [x], [3, 5], dtype, qq(q(0.04, -128)), true);
  const s = g.op('add', { activation: 'none' }, [y, r], [3, 5], dtype, qq(q(0.08, -5)), true);
  expectInPlace.set(g.lastOp, 1);
  g.op('mul', { activation: 'none' }, [s, y], [3, 5], dtype, qq(q(0.3, 2)));
  expectInPlace.set(g.lastOp, 0);
}

// ---------------------------------------------------------------- activations

/** Each input code of a 256-element input once, in order. */
const allCodes: Fill = (count) => Int8Array.from({ length: count }, (_, i) => (i % 256) - 128);

/** Input and output quantizations: zero points at both ends, scales over decades. */
const UNARY_QUANT: [Quantization, Quantization][] = [
  [q(0.01, 0), q(0.01, 0)],
  [q(1 / 16, -128), q(0.05, 127)],
  [q(0.3, 127), q(0.02, -128)],
  [q(2.5, -40), q(1e-3, 60)],
];

function addInt8Activations(g: GraphBuilder): void {
  for (const [qi, qo] of UNARY_QUANT) {
    const x = g.input([256], 'int8', qi, allCodes);
    g.op('logistic', {}, [x], [256], 'int8', q(1 / 256, -128));
    g.op('tanh', {}, [x], [256], 'int8', q(1 / 128, 0));
    g.op('relu', {}, [x], [256], 'int8', qo);
    g.op('relu6', {}, [x], [256], 'int8', qi);
    // hard_swish needs (input scale / 128) / output scale below 1.
    g.op('hard_swish', {}, [x], [256], 'int8', q(qi.scale[0] / 2, qo.zeroPoint[0]));
    for (const alpha of [0.2, -0.5, 3]) g.op('leaky_relu', { alpha }, [x], [256], 'int8', qo);
  }
  // A chain in which every op after the first runs in place.
  const x = g.input([7, 3], 'int8', q(0.1, 3));
  let t = g.op('hard_swish', {}, [x], [7, 3], 'int8', q(0.08, -100), true);
  t = g.op('tanh', {}, [t], [7, 3], 'int8', q(1 / 128, 0), true);
  expectInPlace.set(g.lastOp, 0);
  t = g.op('leaky_relu', { alpha: 0.3 }, [t], [7, 3], 'int8', q(0.01, -20), true);
  expectInPlace.set(g.lastOp, 0);
  g.op('logistic', {}, [t], [7, 3], 'int8', q(1 / 256, -128));
  expectInPlace.set(g.lastOp, 0);
}

function addFloatActivations(g: GraphBuilder): void {
  const x = g.input([301], 'float32', undefined, floats(20));
  for (const kind of ['relu', 'relu6', 'hard_swish', 'logistic', 'tanh'] as const) g.op(kind, {}, [x], [301], 'float32');
  for (const alpha of [0.1, -0.3, 1.5]) g.op('leaky_relu', { alpha }, [x], [301], 'float32');
  const y = g.input([5, 7], 'float32', undefined, floats(6));
  let t = g.op('relu6', {}, [y], [5, 7], 'float32', undefined, true);
  t = g.op('tanh', {}, [t], [5, 7], 'float32', undefined, true);
  expectInPlace.set(g.lastOp, 0);
  g.op('logistic', {}, [t], [5, 7], 'float32');
  expectInPlace.set(g.lastOp, 0);
}

// ---------------------------------------------------------------- softmax

interface SoftmaxCase {
  rows: number;
  depth: number;
  beta: number;
  q: Quantization;
}

/**
 * Betas and input scales from tiny to large (large beta x scale makes the exp table shorter than
 * 256: differences beyond it contribute 0), depth 1, odd depths, and long rows. Together about
 * 5,000 random rows per sample set.
 */
const SOFTMAX_CASES: SoftmaxCase[] = [
  { rows: 300, depth: 10, beta: 1, q: q(1 / 16, 0) },
  { rows: 200, depth: 12, beta: 1, q: q(0.1, -128) },
  { rows: 200, depth: 7, beta: 0.5, q: q(0.2, 127) },
  { rows: 200, depth: 3, beta: 2.5, q: q(0.9, -128) },
  { rows: 100, depth: 5, beta: 1e-3, q: q(0.01, 5) },
  { rows: 100, depth: 2, beta: 1, q: q(1e-5, 0) },
  { rows: 50, depth: 1, beta: 1, q: q(0.5, 0) },
  { rows: 100, depth: 33, beta: 1.7, q: q(0.3, 10) },
  { rows: 6, depth: 1001, beta: 1, q: q(0.05, -20) },
];

/** Rows of five kinds: uniform, bunched values, one spike, all equal, only the extremes. */
const softmaxRows =
  (depth: number): Fill =>
  (count, dtype, rand) => {
    const int8 = dtype === 'int8';
    const data = uniform(6)(count, dtype, rand);
    const [lo, hi] = int8 ? [-128, 127] : [-50, 50];
    for (let row = 0; row * depth < count; row++) {
      const base = int8 ? Math.floor(rand() * 256) - 128 : (rand() * 2 - 1) * 6;
      for (let c = 0; c < depth; c++) {
        const i = row * depth + c;
        switch (row % 5) {
          case 1:
            data[i] = int8 ? Math.max(lo, Math.min(hi, base + Math.floor(rand() * 5) - 2)) : base + rand() * 0.1;
            break;
          case 2:
            data[i] = c === row % depth ? hi : lo;
            break;
          case 3:
            data[i] = base;
            break;
          case 4:
            data[i] = rand() < 0.5 ? lo : hi;
            break;
        }
      }
    }
    return data;
  };

function addSoftmax(g: GraphBuilder, dtype: DType, cases: SoftmaxCase[]): void {
  for (const c of cases) {
    const x = g.input([c.rows, c.depth], dtype, dtype === 'int8' ? c.q : undefined, softmaxRows(c.depth));
    g.op('softmax', { beta: c.beta }, [x], [c.rows, c.depth], dtype, dtype === 'int8' ? q(1 / 256, -128) : undefined);
  }
}

// ---------------------------------------------------------------- the graph and its samples

const builder = new GraphBuilder();
addBinaryOps(builder, 'int8');
addBinaryOps(builder, 'float32');
addInt8Activations(builder);
addFloatActivations(builder);
const firstSoftmax = builder.ops.length;
addSoftmax(builder, 'int8', SOFTMAX_CASES);
// Float rows are kept fewer so that the whole graph fits a 128 KiB microcontroller.
addSoftmax(builder, 'float32', SOFTMAX_CASES.map((c) => ({ ...c, rows: Math.ceil(c.rows / 10) })));
const graph = builder.graph('elementwise');
const samples = builder.samples(4, 2024);

test('host build under ASan/UBSan matches the reference byte for byte', async (t) => {
  assertMatchesReference(t, graph, samples, await runGeneratedHost(graph, samples, { sanitize: true }));
});

testWhere([missingTool(...TARGET_TOOLS.qemu)], 'Cortex-M4 firmware in QEMU matches the reference byte for byte', async (t) => {
  // One sample: outputs leave QEMU through a UART at about 12 KB/s.
  const first = samples.slice(0, 1);
  const { outputs } = await runGeneratedQemu(graph, first);
  assertMatchesReference(t, graph, first, outputs);
});

test('int8 softmax rows whose exps add up to 512 or more give -128 everywhere', async (t) => {
  // The reciprocal's shift passes 31 there and TFLite Micro stops; every probability is below
  // 1/512, and rounds to 0 at the output's 1/256 step.
  const g = new GraphBuilder();
  const x = g.input([3, 600], 'int8', q(0.05, 0));
  g.op('softmax', { beta: 1 }, [x], [3, 600], 'int8', q(1 / 256, -128));
  const rows = Int8Array.from({ length: 1800 }, (_, i) => (i < 600 ? 7 : i < 1200 ? -128 : 127));
  const flat = g.graph('flat_softmax');
  const [[out]] = await runGeneratedHost(flat, [[rows]], { sanitize: true });
  t.deepEqual([...new Set(out as Int8Array)], [-128]);
  t.deepEqual(out, executeGraph(flat, [rows])[0]);
});

// ---------------------------------------------------------------- what the generated code is

const generated = generate(graph);
const source = generated.files.get('model.c')!;

test('the in-place chains really run in place', (t) => {
  t.true(expectInPlace.size >= 8);
  for (const [op, position] of expectInPlace) t.is(generated.plan.inPlace.get(op), position, `op ${op}`);
});

test('int8 softmax takes its exps from a compile-time table of at most 256 entries', (t) => {
  const counts = SOFTMAX_CASES.map((_, k) => Number(new RegExp(`model_op${firstSoftmax + k}_params = \\{[^}]*\\.exp_count = (\\d+)`).exec(source)?.[1]));
  t.true(counts.every((n) => n >= 1 && n <= 256), String(counts));
  // beta 2.5 at scale 0.9 saturates after a few differences: its table is short.
  t.true(counts[3] < 20, String(counts));
  t.regex(generated.files.get('model_weights.c')!, new RegExp(`const int32_t model_op${firstSoftmax}_exp\\[${counts[0]}\\]`));
});

test('int8 add and sub rescale their inputs by table, and take the one-multiply requantization where it is exact', (t) => {
  const adds = [...source.matchAll(/model_op\d+_params = \{[^}]*\.input1_table = model_op\d+_input1,[^}]*\.fast = (\d),\s*\.fix = (\d)/g)].map((m) => `${m[1]}${m[2]}`);
  t.true(adds.length >= BINARY_CASES.filter((c) => c.kind !== 'mul').length, String(adds));
  // Both requantizations, and the fast one with and without its sign correction, are exercised.
  for (const path of ['0', '10', '11']) t.true(adds.some((a) => a.startsWith(path)), `${path} in ${adds}`);
  t.notRegex(source, /ec_sub_s8/);
});

test('int8 activations are table lookups', (t) => {
  t.regex(source, /ec_lookup_s8\(model_op\d+_table, /);
  t.notRegex(source, /ec_(logistic|tanh|relu|relu6|leaky_relu|hard_swish)_s8/);
});

test('broadcast loops are merged at compile time', (t) => {
  const walk = (op: number) => new RegExp(`model_op${op}_walk = \\{\\n([\\s\\S]*?)\\n\\};`).exec(source)?.[1].replace(/\s+/g, ' ').trim();
  // [2,3,4] + [4]: two loops, input 2 restarting every row.
  t.is(walk(0), '.rank = 2, .dims = {6, 4}, .stride_a = {4, 1}, .stride_b = {0, 1},');
  // [3,1,5] + [1,4,1]: three loops, each input still along its own.
  t.is(walk(1), '.rank = 3, .dims = {3, 4, 5}, .stride_a = {5, 0, 1}, .stride_b = {0, 1, 0},');
  // [7] + [1]: one loop in which input 2 does not move.
  t.is(walk(2), '.rank = 1, .dims = {7}, .stride_a = {1}, .stride_b = {0},');
});

test('int8 softmax rows longer than its fixed-point sum allows are refused', (t) => {
  const g = new GraphBuilder();
  const x = g.input([1, 4096], 'int8', q(0.1, 0));
  g.op('softmax', { beta: 1 }, [x], [1, 4096], 'int8', q(1 / 256, -128));
  const error = t.throws(() => generate(g.graph('long_softmax')), { instanceOf: EdgecError });
  t.regex(error!.message, /4096 classes/);
});

test('a broadcast that needs more than six loops is refused with the op named', (t) => {
  const g = new GraphBuilder();
  const a = g.input([2, 1, 2, 1, 2, 1, 2], 'float32');
  const b = g.input([1, 2, 1, 2, 1, 2, 1], 'float32');
  g.op('add', { activation: 'none' }, [a, b], [2, 2, 2, 2, 2, 2, 2], 'float32');
  const error = t.throws(() => generate(g.graph('deep')), { instanceOf: EdgecError });
  t.regex(error!.message, /op 0 \(add.*7-deep/);
});
