// The quantization techniques of src/quant/ptq.ts, each on a model built to show it: equalization
// keeps the float function, bias correction takes out a known shift, joint ranges drop a concat's
// requantization and narrow an ADD's inputs, auto mode never makes a residual net worse, and the
// result still runs bit-exactly in generated C. The CLI's flags and report at the end.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFloat } from '../src/float/run.ts';
import { numel } from '../src/ir/dtype.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { verifyGraph } from '../src/ir/verify.ts';
import type { ActivationSource, CalibrationSet } from '../src/quant/activations.ts';
import { equalize, findChains } from '../src/quant/equalize.ts';
import { jointRanges } from '../src/quant/joint-ranges.ts';
import { affineOf, dequantizeValues, quantizeValues } from '../src/quant/params.ts';
import { ptq, type PtqTechniques } from '../src/quant/ptq.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import { recordRanges } from '../src/quant/record.ts';
import { compareModels } from '../src/quant/report.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { assertMatchesReference, GraphBuilder, random } from './helpers/op-graphs.ts';

const source: ActivationSource = (graph, inputs, keep) => runFloat(graph, inputs, { keep });
const OFF: PtqTechniques = { equalization: 'off', jointRanges: 'off', biasCorrection: 'off' };

/** Uniform values in [lo, hi), channel c (last axis) of the tensor multiplied by `spread(c)`. */
function values(shape: number[], seed: number, spread: (c: number) => number = () => 1, lo = -0.5, hi = 0.5): Float32Array {
  const rand = random(seed);
  const last = shape.at(-1)!;
  return Float32Array.from({ length: numel(shape) }, (_, i) => (lo + (hi - lo) * rand()) * spread(i % last));
}

/** Per output channel spread of 0.05x to 5x, as batch-norm folding leaves in real networks. */
const uneven = (channels: number) => (c: number) => 0.05 * 100 ** (c / (channels - 1));

function dataFor(graph: Graph, count: number, seed: number, lo = -1, hi = 1): CalibrationSet {
  return { inputs: graph.inputs.map((t) => values([count * numel(graph.tensors[t].shape)], seed, undefined, lo, hi)), count };
}

type Builder = GraphBuilder;
const conv = (g: Builder, x: number, inC: number, outC: number, size: number, shape: number[], activation: string, seed: number, spread = uneven(outC), bias = true) => {
  const w = values([outC, size, size, inC], seed);
  const channel = size * size * inC;
  w.forEach((v, i) => (w[i] = v * spread(Math.floor(i / channel))));
  return g.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation },
    [x, g.constant([outC, size, size, inC], 'float32', w), ...(bias ? [g.constant([outC], 'float32', values([outC], seed + 1, spread))] : [])], shape, 'float32', undefined, true);
};
const depthwise = (g: Builder, x: number, channels: number, shape: number[], activation: string, seed: number, spread = uneven(channels)) =>
  g.op('depthwise_conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', depthMultiplier: 1, activation },
    [x, g.constant([1, 3, 3, channels], 'float32', values([1, 3, 3, channels], seed, spread)), g.constant([channels], 'float32', values([channels], seed + 1, spread))],
    shape, 'float32', undefined, true);
const dense = (g: Builder, x: number, inputs: number, units: number, shape: number[], activation: string, seed: number, bias = true) =>
  g.op('fully_connected', { activation, keepNumDims: false },
    [x, g.constant([units, inputs], 'float32', values([units, inputs], seed)), ...(bias ? [g.constant([units], 'float32', values([units], seed + 1))] : [])], shape, 'float32', undefined, true);

/** input -> conv 3x3 relu -> depthwise 3x3 (relu6 or relu) -> conv 1x1 relu -> mean -> dense -> softmax, channel ranges far apart. */
function separable(depthwiseActivation: string, gain = 1): Graph {
  const g = new GraphBuilder();
  const x = g.input([1, 6, 6, 3], 'float32');
  const a = conv(g, x, 3, 8, 3, [1, 6, 6, 8], 'relu', 1, (c) => gain * uneven(8)(c));
  const b = depthwise(g, a, 8, [1, 6, 6, 8], depthwiseActivation, 3);
  const c = conv(g, b, 8, 8, 1, [1, 6, 6, 8], 'relu', 5);
  const pooled = g.op('mean', { axes: [1, 2], keepDims: false }, [c], [1, 8], 'float32', undefined, true);
  const logits = dense(g, pooled, 8, 4, [1, 4], 'none', 7);
  g.op('softmax', { beta: 1 }, [logits], [1, 4], 'float32');
  const graph = g.graph('separable');
  verifyGraph(graph);
  return graph;
}

async function maxDifference(a: Graph, b: Graph, data: CalibrationSet): Promise<{ difference: number; largest: number }> {
  const [x, y] = [await runFloat(a, data.inputs), await runFloat(b, data.inputs)].map((r) => r.get(a.outputs[0])!);
  return { difference: x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0), largest: x.reduce((m, v) => Math.max(m, Math.abs(v)), 0) };
}

test('equalization keeps the float function and levels the channels a depthwise layer reads', async (t) => {
  const graph = separable('relu6', 0.02);
  const data = dataFor(graph, 40, 11);
  t.is(findChains(graph).length, 2, 'conv -> depthwise and depthwise -> 1x1 conv');
  const { graph: equalized, chains, relu6 } = await equalize(graph, data, source);
  t.is(chains.length, 2);
  t.deepEqual(relu6, [1], "the depthwise layer's ReLU6, which never reaches 6 here, became a ReLU");
  const { difference, largest } = await maxDifference(graph, equalized, data);
  t.true(difference <= 1e-5 * Math.max(1, largest), `outputs differ by ${difference}`);

  // The conv's output channels were 0.05x to 5x each other; after equalization they are equally large (by RMS).
  const conv = graph.ops[0].outputs[0];
  const spread = async (g: Graph) => {
    const v = (await runFloat(g, data.inputs, { keep: [conv] })).get(conv)!;
    const squares = new Float64Array(8);
    v.forEach((x, i) => (squares[i % 8] += x * x));
    return Math.max(...squares) / Math.min(...squares);
  };
  t.true((await spread(graph)) > 100);
  t.true((await spread(equalized)) < 1.01, `mean squares after: ratio ${await spread(equalized)}`);
});

test('a ReLU6 that clamps on the calibration data keeps its chain unequalized', async (t) => {
  const graph = separable('relu6', 30);
  const data = dataFor(graph, 40, 12);
  const { graph: equalized, chains, relu6 } = await equalize(graph, data, source);
  t.deepEqual(relu6, []);
  t.deepEqual(chains.map((c) => c.producer), [0], 'only conv -> depthwise: the depthwise ReLU6 reaches 6');
  t.is(equalized.ops[1].kind === 'depthwise_conv2d' && equalized.ops[1].attrs.activation, 'relu6');
  const { difference, largest } = await maxDifference(graph, equalized, data);
  t.true(difference <= 1e-5 * Math.max(1, largest), `outputs differ by ${difference}`);
});

/** Per output channel mean of (int8 - float) over the data. */
async function meanShift(floatGraph: Graph, int8Graph: Graph, data: CalibrationSet): Promise<Float64Array> {
  const out = floatGraph.outputs[0];
  const float = (await runFloat(floatGraph, data.inputs)).get(out)!;
  const run = createExecutor(int8Graph);
  const input = int8Graph.tensors[int8Graph.inputs[0]];
  const size = numel(input.shape);
  const channels = floatGraph.tensors[out].shape.at(-1)!;
  const shift = new Float64Array(channels);
  for (let s = 0; s < data.count; s++) {
    const q = run([quantizeValues(data.inputs[0].subarray(s * size, (s + 1) * size), affineOf(input.quant!))])[0] as Int8Array;
    dequantizeValues(q, affineOf(int8Graph.tensors[int8Graph.outputs[0]].quant!)).forEach((v, i) => (shift[i % channels] += v - float[s * q.length + i]));
  }
  return shift.map((v) => v / (data.count * (float.length / data.count / channels)));
}

test('bias correction takes out the shift that rounding every weight the same way makes, and gives a layer without bias one', async (t) => {
  // Each unit has one weight of 1 (so its scale is 1/127) and 63 weights 0.4 of a step above a
  // grid point: rounding to nearest takes 0.4/127 off each, on inputs in [0, 1) about -0.1 in all.
  const g = new GraphBuilder();
  const x = g.input([1, 64], 'float32');
  const rand = random(5);
  const w = Float32Array.from({ length: 8 * 64 }, (_, i) => (i % 64 === 0 ? 1 : (Math.floor(rand() * 120) - 60 + 0.4) / 127));
  g.op('fully_connected', { activation: 'none', keepNumDims: false }, [x, g.constant([8, 64], 'float32', w)], [1, 8], 'float32');
  const graph = g.graph('shifted');
  const data = dataFor(graph, 200, 13, 0, 1);
  const plain = await ptq(graph, data, { runner: createExecutor, techniques: OFF });
  const corrected = await ptq(graph, data, { runner: createExecutor, techniques: { ...OFF, biasCorrection: 'on' } });
  t.is(corrected.graph.ops[0].inputs.length, 3, 'the layer has an int32 bias now');
  t.deepEqual(corrected.applied.map((a) => [a.op, a.technique]), [[0, 'biasCorrection']]);
  const before = await meanShift(graph, plain.graph, data);
  const after = await meanShift(graph, corrected.graph, data);
  const meanAbs = (v: Float64Array) => v.reduce((s, x) => s + Math.abs(x), 0) / v.length;
  t.log(`mean |per-channel shift|: ${meanAbs(before).toFixed(4)} -> ${meanAbs(after).toFixed(4)}`);
  t.true(meanAbs(before) > 0.05);
  t.true(meanAbs(after) < 0.1 * meanAbs(before));
  t.true(corrected.outputSqnrDb > plain.outputSqnrDb + 3);
});

test('joint ranges give the inputs of a concatenation its range: no requantization op', async (t) => {
  const g = new GraphBuilder();
  const x = g.input([1, 4, 4, 2], 'float32');
  const small = conv(g, x, 2, 3, 1, [1, 4, 4, 3], 'none', 21, () => 0.1);
  const large = conv(g, x, 2, 3, 1, [1, 4, 4, 3], 'none', 23, () => 3);
  g.op('concatenation', { axis: 3, activation: 'none' }, [small, large], [1, 4, 4, 6], 'float32');
  const graph = g.graph('concat');
  const data = dataFor(graph, 50, 14);
  const ranges = await recordRanges(graph, data, source);
  const joint = jointRanges(graph, ranges);
  t.deepEqual(joint.ops, [2]);
  const requantizations = (q: Graph) => q.ops.filter((op) => op.kind === 'quantize').length;
  const before = quantizeGraph(graph, ranges);
  const after = quantizeGraph(graph, joint.ranges);
  t.is(requantizations(before), 1, 'the output takes the wider input\'s range; the narrower one is requantized');
  t.is(requantizations(after), 0);
  const [sqnrBefore, sqnrAfter] = await Promise.all([before, after].map(async (q) => (await compareModels(graph, q, data, source, createExecutor)).outputSqnrDb));
  t.log(`output SQNR ${sqnrBefore.toFixed(2)} -> ${sqnrAfter.toFixed(2)} dB`);
  t.true(sqnrAfter >= sqnrBefore - 0.05);
});

/**
 * input -> conv relu -> [depthwise relu -> conv 1x1] + skip -> add relu -> conv 3x3 relu ->
 * conv 3x3 (a branch that goes far negative) + skip -> add relu -> mean -> dense -> softmax.
 */
function residual(): Graph {
  const g = new GraphBuilder();
  const x = g.input([1, 8, 8, 3], 'float32');
  const a = conv(g, x, 3, 8, 3, [1, 8, 8, 8], 'relu', 31);
  const b = depthwise(g, a, 8, [1, 8, 8, 8], 'relu', 33);
  const c = conv(g, b, 8, 8, 1, [1, 8, 8, 8], 'none', 35, () => 1, false);
  const sum = g.op('add', { activation: 'relu' }, [c, a], [1, 8, 8, 8], 'float32', undefined, true);
  const d = conv(g, sum, 8, 8, 3, [1, 8, 8, 8], 'relu', 37, () => 0.5);
  const e = conv(g, d, 8, 8, 3, [1, 8, 8, 8], 'none', 39, () => 3);
  const shifted = g.op('add', { activation: 'relu' }, [e, sum], [1, 8, 8, 8], 'float32', undefined, true);
  const pooled = g.op('mean', { axes: [1, 2], keepDims: false }, [shifted], [1, 8], 'float32', undefined, true);
  const logits = dense(g, pooled, 8, 5, [1, 5], 'none', 41);
  g.op('softmax', { beta: 1 }, [logits], [1, 5], 'float32');
  const graph = g.graph('residual');
  verifyGraph(graph);
  return graph;
}

test("joint ranges narrow an ADD input to what can reach its clamped sum, with the same outputs", async (t) => {
  const graph = residual();
  const data = dataFor(graph, 60, 15);
  const ranges = await recordRanges(graph, data, source);
  const { ranges: joint, ops } = jointRanges(graph, ranges);
  t.true(ops.length > 0);
  for (const k of ops) {
    t.is(graph.ops[k].kind, 'add');
    for (const input of graph.ops[k].inputs) {
      const [lo, hi] = joint.get(input)!;
      t.true(lo >= ranges.get(input)![0] && hi <= ranges.get(input)![1]);
    }
  }
  const [before, after] = await Promise.all([ranges, joint].map((r) => compareModels(graph, quantizeGraph(graph, r), data, source, createExecutor)));
  t.log(`output SQNR ${before.outputSqnrDb.toFixed(2)} -> ${after.outputSqnrDb.toFixed(2)} dB`);
  for (const k of ops) t.true(after.layers[k].sqnrDb > before.layers[k].sqnrDb - 0.5, `op ${k}`);
});

test('auto mode never makes a residual net worse; with every technique on it still runs bit-exactly in generated C', async (t) => {
  const graph = residual();
  const data = dataFor(graph, 60, 16);
  const auto = await ptq(graph, data, { runner: createExecutor });
  t.log(auto.decisions.map((d) => `${d.technique}: ${d.kept ? 'kept' : 'not kept'} ${d.after?.outputSqnrDb.toFixed(2) ?? '-'} dB`).join('; '));
  t.log(`output SQNR ${auto.baseline.outputSqnrDb.toFixed(2)} -> ${auto.outputSqnrDb.toFixed(2)} dB`);
  t.true(auto.outputSqnrDb >= auto.baseline.outputSqnrDb);
  t.true(auto.agreement >= auto.baseline.agreement);
  for (const d of auto.decisions) if (d.kept) t.true(d.after!.outputSqnrDb > d.before.outputSqnrDb);

  const forced = await ptq(graph, data, { runner: createExecutor, techniques: { equalization: 'on', jointRanges: 'on', biasCorrection: 'on' } });
  t.deepEqual(forced.decisions.map((d) => [d.technique, d.kept, d.ops.length > 0]), [
    ['equalization', true, true],
    ['jointRanges', true, true],
    ['biasCorrection', true, true],
  ]);
  const samples: TensorData[][] = Array.from({ length: 6 }, (_, s) => [
    quantizeValues(data.inputs[0].subarray(s * 192, (s + 1) * 192), affineOf(forced.graph.tensors[forced.graph.inputs[0]].quant!)),
  ]);
  const run = await runOnTarget(forced.graph, 'host', samples, { sanitize: true });
  assertMatchesReference(t, forced.graph, samples, run.outputs);
});

const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));
const oracle = fileURLToPath(new URL('../../shared/oracles/hello_world_float/', import.meta.url));

function quantizeCli(...flags: string[]) {
  const out = join(mkdtempSync(join(tmpdir(), 'edgec-techniques-')), 'q.tflite');
  const r = spawnSync(process.execPath, [edgec, 'quantize', join(oracle, 'model.tflite'), '--calib', join(oracle, 'input.npy'), '-o', out, ...flags], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('edgec quantize: technique flags, and a report of what each did per layer and to the output', (t) => {
  const forced = quantizeCli('--equalize', 'off', '--joint-ranges', 'off', '--bias-correction', 'on');
  t.is(forced.code, 0, forced.stderr);
  t.regex(forced.stdout, /SQNR dB +cosine +max \|error\| +techniques/);
  t.regex(forced.stdout, /fully_connected .* bias correction [+-]\d+\.\d/);
  t.notRegex(forced.stdout, /fully_connected .* equalization [+-]/);
  t.regex(forced.stdout, /before the techniques SQNR [\d.]+ dB; after SQNR [\d.]+ dB/);
  t.regex(forced.stdout, /equalization +off/);
  t.regex(forced.stdout, /bias correction +applied \(forced on\): 3 layer\(s\), output SQNR/);

  const auto = quantizeCli();
  t.is(auto.code, 0, auto.stderr);
  const [, before, after] = auto.stdout.match(/before the techniques SQNR ([\d.]+) dB; after SQNR ([\d.]+) dB/)!;
  t.true(Number(after) >= Number(before));

  const bad = quantizeCli('--equalize', 'maybe');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /option '--equalize <value>' argument '[^']*' is invalid\. choose one of on, off, auto/);
});
