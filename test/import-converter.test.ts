// Every form TensorFlow Lite's converter writes is accepted (issue 10): dynamic-range and float16
// models import as float graphs and go wherever float models go; int8 models with uint8 or float
// inputs and outputs run bit-exact on the reference, the host and QEMU; a quantized model is
// quantized again only with --requantize. The models are written by test/helpers/converter-models.ts.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFloat } from '../src/float/run.ts';
import { decodeFloat16, halfToFloat } from '../src/import/float16.ts';
import { dequantizeGraph } from '../src/import/float-graph.ts';
import { importTflite } from '../src/import/tflite.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { readNpy, writeNpy } from '../src/npy/npy.ts';
import { floatGraphFor, prepareModel, quantizeModel } from '../src/pipeline.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { dequantizeOutputs, splitSamples, stackOutputs } from '../src/samples.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { BuiltinOperator as B, BuiltinOptionsType as O, Padding as P } from '../src/tflite/schema.ts';
import { CNN_CONSTANTS, CNN_INPUT_SHAPE, cnnModel, EDGES, edgesModel, halfBits, halfValue, type Storage } from './helpers/converter-models.ts';
import { assertMatchesReference, random } from './helpers/op-graphs.ts';
import { ModelBuilder, oracleModel } from './helpers/tflite-models.ts';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';

const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));
const oracles = fileURLToPath(new URL('../../shared/oracles/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'edgec-converter-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

/** The targets the generated C is checked on besides the reference, each a test of its own. */
const TARGETS = ['host', 'qemu'] as const;

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [edgec, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Float samples [count, 1, 8, 8, 3] in [-1, 1), one array. */
function cnnInputs(count: number, seed: number): Float32Array {
  const rand = random(seed);
  return Float32Array.from({ length: count * 192 }, () => rand() * 2 - 1);
}

function writeFile(name: string, bytes: Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

const maxAbsDifference = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const isFloat = (g: Graph) => g.tensors.every((t) => t.dtype === 'float32' && !t.quant) && g.ops.every((op) => op.kind !== 'quantize' && op.kind !== 'dequantize');
const constantNamed = (g: Graph, name: string) => g.tensors.find((t) => t.name === name && t.data)?.data as Float32Array;

// float16

test('float16 decoding: zeros, subnormals, normals, the largest half, infinities, NaN', (t) => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x8000, -0],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) t.is(halfToFloat(bits), value, `0x${bits.toString(16)}`);
  t.true(Number.isNaN(halfToFloat(0x7e00)));
  // Little-endian, as .tflite buffers store them.
  t.deepEqual(Array.from(decodeFloat16(Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35]))), [1, -2, 0.333251953125]);
  // The test's own encoder agrees with the decoder on every finite half.
  for (let bits = 0; bits < 0x10000; bits++) {
    if (((bits >> 10) & 31) === 31) continue;
    if (halfToFloat(bits) !== halfValue(bits)) return t.fail(`0x${bits.toString(16)}`);
    if (bits !== 0x8000 && halfBits(halfToFloat(bits)) !== bits) return t.fail(`encode 0x${bits.toString(16)}`);
  }
});

// Dynamic range and float16: float graphs close to the float model

const floatGraph = importTflite(cnnModel('float32').bytes, 'cnn_float.tflite');
const STORED: Storage[] = ['dynamic-per-channel', 'dynamic-per-tensor', 'float16'];

for (const storage of STORED) {
  test(`${storage}: imports as a float graph with the stored weights, close to the float model`, async (t) => {
    const { bytes, stored } = cnnModel(storage);
    const graph = importTflite(bytes, `cnn_${storage}.tflite`);
    t.true(isFloat(graph), 'every tensor float32, no quantization, no QUANTIZE/DEQUANTIZE');
    t.deepEqual(graph.ops.map((op) => op.kind), floatGraph.ops.map((op) => op.kind));
    t.deepEqual(graph.ops.map((op) => op.inputs.map((i) => graph.tensors[i].shape)), floatGraph.ops.map((op) => op.inputs.map((i) => floatGraph.tensors[i].shape)));

    // Each constant is exactly the value its int8 (q * scale) or float16 form stands for, and within
    // half a quantization step (or half a float16 ulp) of the float model's.
    for (const [name, { values }] of Object.entries(CNN_CONSTANTS)) {
      const got = constantNamed(graph, name) ?? constantNamed(graph, `${name}_int8`) ?? constantNamed(graph, `${name}_fp16`);
      t.truthy(got, name);
      t.deepEqual(Array.from(got), Array.from(stored.get(name)!), name);
      const tolerance = storage === 'float16' ? 2 ** -12 : Math.max(...Array.from(values, Math.abs)) / 127;
      t.true(maxAbsDifference(got, values) <= tolerance, `${name}: ${maxAbsDifference(got, values)} > ${tolerance}`);
    }

    const inputs = [cnnInputs(32, 7)];
    const expected = (await runFloat(floatGraph, inputs)).get(floatGraph.outputs[0])!;
    const actual = (await runFloat(graph, inputs)).get(graph.outputs[0])!;
    const error = maxAbsDifference(actual, expected);
    t.true(error < (storage === 'float16' ? 1e-3 : 0.02), `probabilities differ by up to ${error}`);
  });
}

const CONVERTED = ['dynamic-per-channel', 'float16'] as const;
let quantizedCnns: Promise<Map<Storage, Graph>> | undefined;
/** Each converter form of the CNN quantized from 64 calibration samples (made once, shared by the tests below). */
function quantizedCnn(): Promise<Map<Storage, Graph>> {
  quantizedCnns ??= (async () => {
    const calib = writeFile('calib.npy', writeNpy({ dtype: 'float32', shape: [64, ...CNN_INPUT_SHAPE.slice(1)], data: cnnInputs(64, 3) }));
    const graphs = new Map<Storage, Graph>();
    for (const storage of CONVERTED) {
      const { graph, quantized } = await prepareModel(writeFile(`cnn_${storage}.tflite`, cnnModel(storage).bytes), { calib });
      if (quantized?.samples !== 64) throw new Error(`${storage}: calibrated on ${quantized?.samples} samples, not 64`);
      graphs.set(storage, graph);
    }
    return graphs;
  })();
  return quantizedCnns;
}

test('dynamic-range and float16 models quantize from calibration data to int8 that answers like the float model', async (t) => {
  for (const [storage, graph] of await quantizedCnn()) {
    t.true(graph.ops.every((op) => graph.tensors[op.outputs[0]].dtype === 'int8'), `${storage}: int8 throughout`);
    // The int8 model answers like the float one on the calibration inputs.
    const inputs = cnnInputs(16, 3);
    const expected = (await runFloat(floatGraph, [inputs])).get(floatGraph.outputs[0])!;
    const int8 = splitSamples(graph, [{ dtype: 'float32', shape: [16, ...CNN_INPUT_SHAPE.slice(1)], data: inputs }], ['calib']);
    const outputs = dequantizeOutputs(graph, stackOutputs(graph, int8.map(createExecutor(graph))))[0].data as Float32Array;
    t.true(maxAbsDifference(outputs, expected) < 0.05, `${storage}: int8 probabilities differ by up to ${maxAbsDifference(outputs, expected)}`);
  }
});

for (const target of TARGETS) {
  testWhere([missingTool(...TARGET_TOOLS[target])], `dynamic-range and float16 models, quantized, run bit-exact on ${target}`, async (t) => {
    const rand = random(5);
    for (const graph of (await quantizedCnn()).values()) {
      const samples = Array.from({ length: 4 }, () => [Int8Array.from({ length: 192 }, () => Math.floor(rand() * 256) - 128)]);
      const run = await runOnTarget(graph, target, samples, { sanitize: target === 'host' });
      assertMatchesReference(t, graph, samples, run.outputs);
    }
  });
}

const pruneData = () => writeFile('data.npy', writeNpy({ dtype: 'float32', shape: [48, ...CNN_INPUT_SHAPE.slice(1)], data: cnnInputs(48, 9) }));

test('a dynamic-range model prunes as float models do', (t) => {
  const dynamic = writeFile('prune_me.tflite', cnnModel('dynamic-per-channel', false).bytes);
  const pruned = run('prune', dynamic, '--data', pruneData(), '--params', '0.8', '--epochs', '0', '-o', join(scratch, 'pruned.tflite'));
  t.is(pruned.code, 0, pruned.stderr);
  t.true(isFloat(importTflite(readFileSync(join(scratch, 'pruned.tflite')))));
});

testWhere([missingTool('arm-none-eabi-gcc')], 'a float16 model builds with --calib as float models do', (t) => {
  const half = writeFile('build_me.tflite', cnnModel('float16').bytes);
  const built = run('build', half, '--board', 'stm32f4', '--calib', pruneData(), '-o', join(scratch, 'build16'));
  t.is(built.code, 0, built.stderr);
  t.regex(built.stdout, /built build_me for stm32f4/);
  t.notRegex(built.stdout, /runs float kernels/);
});

// int8 models with uint8 and float edges

const edges = importTflite(edgesModel(), 'edges.tflite');

/** Four samples; the first walks every uint8 and int8 value. */
function edgeSamples(): TensorData[][] {
  const rand = random(21);
  return Array.from({ length: 4 }, (_, s) => [
    Uint8Array.from({ length: 108 }, () => Math.floor(rand() * 256)),
    Uint8Array.from({ length: 256 }, (_, i) => (s === 0 ? i : Math.floor(rand() * 256))),
    Int8Array.from({ length: 256 }, (_, i) => (s === 0 ? i - 128 : Math.floor(rand() * 256) - 128)),
    Float32Array.from({ length: 108 }, () => (rand() * 2 - 1) * 3),
  ]);
}

test('uint8 and float edges import as QUANTIZE and DEQUANTIZE ops with their own types', (t) => {
  t.deepEqual(edges.inputs.map((i) => edges.tensors[i].dtype), ['uint8', 'uint8', 'int8', 'float32']);
  t.deepEqual(edges.outputs.map((i) => edges.tensors[i].dtype), ['uint8', 'uint8', 'int8', 'uint8', 'uint8', 'float32', 'float32']);
  t.deepEqual(edges.ops.map((op) => op.kind), ['quantize', 'conv2d', 'quantize', 'quantize', 'quantize', 'quantize', 'quantize', 'quantize', 'dequantize', 'quantize', 'max_pool2d', 'dequantize']);
});

test("the reference requantizes between uint8 and int8 as TFLite Micro's QUANTIZE does: zero-point shifts, ratios, saturation", (t) => {
  const [sample] = edgeSamples();
  const out = createExecutor(edges)(sample);
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  // Every ratio below keeps products away from .5, where the fixed-point rounding and exact rounding agree.
  const ratio = (a: { scale: number }, b: { scale: number }) => Math.fround(a.scale) / Math.fround(b.scale);
  const u = Array.from({ length: 256 }, (_, v) => v);
  const b0 = u.map((v) => clamp(Math.round((v - 255) * ratio(EDGES.in1, EDGES.b0)) + 127, -128, 127));
  t.deepEqual(Array.from(out[1] as Uint8Array), b0.map((b) => clamp(Math.round((b - 127) * ratio(EDGES.b0, EDGES.out1)), 0, 255)));
  t.deepEqual(Array.from(out[2] as Uint8Array), u.map((v) => Math.max(v - 255, -128)), 'same scale: only the zero point moves, 255 -> 0, and clamps');
  t.deepEqual(Array.from(out[3] as Uint8Array), u, 'int8 at zero point -128 to uint8 at 0: the 128 shift');
  t.deepEqual(Array.from(out[4] as Uint8Array), u.map((v) => clamp(2 * v, 0, 255)), 'ratio 2 saturates at 255');
  t.deepEqual(Array.from(out[5] as Uint8Array), u.map((v) => Math.fround(Math.fround(0.1) * (v - 255))), 'uint8 DEQUANTIZE');
  // uint8 -> int8 at the converter's shift, then back: what the conv sees is the input minus 128.
  const a0 = createExecutor({ ...edges, outputs: [edges.ops[0].outputs[0]] })(sample)[0];
  t.deepEqual(Array.from(a0 as Int8Array), Array.from(sample[0] as Uint8Array, (v) => v - 128));
});

for (const target of TARGETS) {
  testWhere([missingTool(...TARGET_TOOLS[target])], `int8 models with uint8 and float inputs and outputs run bit-exact on ${target}`, async (t) => {
    const samples = edgeSamples();
    const run = await runOnTarget(edges, target, samples, { sanitize: target === 'host' });
    assertMatchesReference(t, edges, samples, run.outputs);
  });
}

testWhere([missingTool(...TARGET_TOOLS.host)], 'edgec run takes uint8 .npy inputs and gives uint8 outputs (ref and host), and float ones quantized', (t) => {
  // A model of the converter's form: uint8 in, int8 conv, uint8 out.
  const rand = random(8);
  const pixels = Uint8Array.from({ length: 3 * 108 }, () => Math.floor(rand() * 256));
  const one = (name: string, bytes: Uint8Array) => writeFile(name, bytes);
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 6, 6, 3], 'uint8', { scale: [0.02], zeroPoint: [128] });
  const y = m.tensor('y', [1, 6, 6, 3], 'int8', { scale: [0.02], zeroPoint: [0] });
  const z = m.tensor('z', [1, 3, 3, 3], 'int8', { scale: [0.02], zeroPoint: [0] });
  const out = m.tensor('out', [1, 3, 3, 3], 'uint8', { scale: [0.02], zeroPoint: [128] });
  m.op(B.QUANTIZE, [x], [y]);
  m.op(B.AVERAGE_POOL_2D, [y], [z], { type: O.Pool2DOptions, value: { padding: P.VALID, strideW: 2, strideH: 2, filterW: 2, filterH: 2, activation: 0 } });
  m.op(B.QUANTIZE, [z], [out]);
  const model = one('uint8_io.tflite', m.bytes([x], [out]));
  const input = one('pixels.npy', writeNpy({ dtype: 'uint8', shape: [3, 6, 6, 3], data: pixels }));
  const graph = importTflite(readFileSync(model), 'uint8_io.tflite');
  const expected = stackOutputs(graph, splitSamples(graph, [readNpy(readFileSync(input))], ['pixels']).map(createExecutor(graph)))[0];
  t.is(expected.dtype, 'uint8');
  for (const target of ['ref', 'host']) {
    const r = run('run', model, '--input', input, '--target', target, '--output', join(scratch, `${target}.npy`));
    t.is(r.code, 0, r.stderr);
    t.deepEqual(readNpy(readFileSync(join(scratch, `${target}.npy`))), expected, target);
  }
  // Float samples for a uint8 input are quantized with its scale and zero point; --dequantize gives floats.
  const floats = one('floats.npy', writeNpy({ dtype: 'float32', shape: [1, 6, 6, 3], data: Float32Array.from({ length: 108 }, (_, i) => (i - 54) * 0.05) }));
  const r = run('run', model, '--input', floats, '--dequantize', '--output', join(scratch, 'deq.npy'));
  t.is(r.code, 0, r.stderr);
  const [quantized] = splitSamples(graph, [readNpy(readFileSync(floats))], ['floats'])[0] as Uint8Array[];
  t.deepEqual(Array.from(quantized.subarray(0, 3)), [0, 0, 0], '-2.7 / 0.02 + 128 saturates at 0');
  t.is(quantized[54], 128);
  t.is(quantized[60], 143, '0.3 / 0.02 + 128');
  const deq = readNpy(readFileSync(join(scratch, 'deq.npy')));
  t.is(deq.dtype, 'float32');
  t.deepEqual(deq.shape, [1, 1, 3, 3, 3]);
});

// --requantize

test('dequantizeGraph turns an int8 model into the float graph it stands for; the edges go', (t) => {
  const int8 = importTflite(oracleModel('hello_world_int8'), 'hello_world_int8.tflite');
  const float = dequantizeGraph(int8);
  t.true(isFloat(float));
  t.deepEqual(float.ops.map((op) => op.kind), int8.ops.map((op) => op.kind));
  // Weights and bias: scale * q (zero point 0), per channel where the model has several scales.
  for (const position of [1, 2]) {
    const q = int8.tensors[int8.ops[0].inputs[position]];
    const scaleOf = (i: number) => q.quant!.scale[q.quant!.scale.length > 1 ? (position === 2 ? i : Math.floor(i / q.shape[1])) : 0];
    const expected = Array.from(q.data as Int8Array | Int32Array, (v, i) => Math.fround(scaleOf(i) * v));
    t.deepEqual(Array.from(float.tensors[float.ops[0].inputs[position]].data as Float32Array), expected);
  }

  const edgesFloat = dequantizeGraph(edges);
  t.true(isFloat(edgesFloat));
  t.deepEqual(edgesFloat.ops.map((op) => op.kind), ['conv2d', 'max_pool2d']);
  t.deepEqual(edgesFloat.inputs.map((i) => edgesFloat.tensors[i].name), ['in0', 'in1', 'in2', 'in3']);
  // Outputs keep their names where an op still writes them; pass-through edges give the input itself.
  t.deepEqual(edgesFloat.outputs.map((i) => edgesFloat.tensors[i].name), ['out0', 'in1', 'in1', 'in2', 'in2', 'in1', 'out6']);
});

test('--requantize quantizes a converter-written int8 model again from calibration data; without it, the error says so', async (t) => {
  const model = join(oracles, 'hello_world_int8', 'model.tflite');
  const calib = join(oracles, 'hello_world_float', 'input.npy');
  const graph = importTflite(readFileSync(model), 'hello_world_int8.tflite');
  const error = t.throws(() => floatGraphFor(graph), { instanceOf: EdgecError });
  t.is(error?.kind, 'usage');
  t.regex(error?.message ?? '', /already quantized.*--requantize/);

  const { graph: requantized, samples } = await quantizeModel(graph, { calib, requantize: true });
  t.is(samples, 256);
  t.true(requantized.ops.every((op) => requantized.tensors[op.outputs[0]].dtype === 'int8'));
  // The re-quantized model draws the float model's sine about as well as the converter's int8 one.
  const inputs = readNpy(readFileSync(calib));
  const expected = readNpy(readFileSync(join(oracles, 'hello_world_float', 'output.npy'))).data as Float32Array;
  const answers = (g: Graph) => dequantizeOutputs(g, stackOutputs(g, splitSamples(g, [inputs], ['input']).map(createExecutor(g))))[0].data as Float32Array;
  const before = maxAbsDifference(answers(graph), expected);
  const after = maxAbsDifference(answers(requantized), expected);
  t.true(after < before + 0.02, `max error ${after}, the converter's int8 model ${before}`);

  const out = join(scratch, 'requantized.tflite');
  const cli = run('quantize', model, '--calib', calib, '--requantize', '-o', out);
  t.is(cli.code, 0, cli.stderr);
  t.true(importTflite(readFileSync(out)).ops.every((op) => op.kind === 'fully_connected'));
  const refused = run('quantize', model, '--calib', calib, '-o', join(scratch, 'x.tflite'));
  t.is(refused.code, 2);
  t.regex(refused.stderr, /already quantized; --calib applies to float models only \(add --requantize/);
  const alone = run('quantize', model, '--requantize', '-o', join(scratch, 'x.tflite'));
  t.is(alone.code, 2);
  t.regex(alone.stderr, /--requantize need --calib/);
});

testWhere([missingTool('arm-none-eabi-gcc')], 'edgec build takes --requantize too, also when it prunes the model first', (t) => {
  const calib = join(oracles, 'hello_world_float', 'input.npy');
  const built = run('build', join(oracles, 'hello_world_int8', 'model.tflite'), '--board', 'stm32f4', '--calib', calib, '--requantize', '--prune', 'params=0.8', '--data', calib, '--epochs', '0', '-o', join(scratch, 'hello'));
  t.is(built.code, 0, built.stderr);
  t.regex(built.stdout, /parameters .* -> .*\n[\s\S]*built /);
});

test('an int8 model with float inputs and outputs counts as quantized and re-quantizes to int8 I/O', async (t) => {
  const calib = writeFile('float_io_calib.npy', writeNpy({ dtype: 'float32', shape: [8, 1, 6, 6, 3], data: cnnInputs(8, 4).subarray(0, 8 * 108) }));
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 6, 6, 3], 'float32');
  const a = m.tensor('a', [1, 6, 6, 3], 'int8', { scale: [0.01], zeroPoint: [3] });
  const b = m.tensor('b', [1, 3, 3, 3], 'int8', { scale: [0.01], zeroPoint: [3] });
  const y = m.tensor('y', [1, 3, 3, 3], 'float32');
  m.op(B.QUANTIZE, [x], [a]);
  m.op(B.MAX_POOL_2D, [a], [b], { type: O.Pool2DOptions, value: { padding: P.VALID, strideW: 2, strideH: 2, filterW: 2, filterH: 2, activation: 0 } });
  m.op(B.DEQUANTIZE, [b], [y]);
  const graph = importTflite(m.bytes([x], [y]), 'float_io.tflite');
  await t.throwsAsync(quantizeModel(graph, { calib }), { instanceOf: EdgecError, message: /already quantized/ });
  const { graph: requantized } = await quantizeModel(graph, { calib, requantize: true });
  t.deepEqual(requantized.ops.map((op) => op.kind), ['max_pool2d']);
  t.is(requantized.tensors[requantized.inputs[0]].dtype, 'int8');
});

// Errors

test('float16 read without DEQUANTIZE, and DEQUANTIZE of what edgec cannot dequantize, are named', (t) => {
  const m = new ModelBuilder();
  const x = m.tensor('x', [1, 4], 'float32');
  const w = m.tensor('w16', [2, 4], 'float16', { data: new Int16Array(8) });
  const y = m.tensor('y', [1, 2], 'float32');
  m.op(B.FULLY_CONNECTED, [x, w], [y], { type: O.FullyConnectedOptions, value: { activation: 0, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 } });
  const h = m.tensor('h', [1, 4], 'float16');
  const hf = m.tensor('hf', [1, 4], 'float32');
  m.op(B.DEQUANTIZE, [h], [hf]);
  const i = m.tensor('i', [1, 4], 'int8', { scale: [0.1] });
  const z = m.tensor('z', [1, 4], 'float32');
  m.op(B.ADD, [x, i], [z], { type: O.AddOptions, value: { activation: 0, potScaleInt16: true } });
  const error = t.throws(() => importTflite(m.bytes([x, h, i], [y, hf, z]), 'bad.tflite'), { instanceOf: EdgecError });
  t.is(error?.kind, 'model');
  t.deepEqual(error?.details, [
    "operator 0 (FULLY_CONNECTED): weights (tensor 1 'w16') is FLOAT16, expected FLOAT32 (float16 constants are accepted only as the input of a DEQUANTIZE operator)",
    "operator 1 (DEQUANTIZE): input (tensor 3 'h') is FLOAT16, expected INT8 or UINT8 or INT16 (float16 is dequantized only from constants)",
    "operator 2 (ADD): input 1 (tensor 5 'i') is INT8, expected FLOAT32 (an int8 operand of a float operator must be a constant with quantization parameters, as dynamic-range models store weights)",
    "tensor 3 'h': type FLOAT16 is not supported",
  ]);
});
