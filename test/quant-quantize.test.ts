// Calibration and quantization end to end: float graphs are calibrated through an activation
// source (here src/ref's float32 executor), quantized, run bit-exactly in int8 by src/ref, and
// compared with their float selves.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { numel } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph, Tensor, TensorData } from '../src/ir/types.ts';
import { importTflite } from '../src/import/tflite.ts';
import { readNpy } from '../src/npy/npy.ts';
import type { ActivationSource, CalibrationSet } from '../src/quant/activations.ts';
import { affineOf, dequantizeValues, quantizeValues } from '../src/quant/params.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import type { Range } from '../src/quant/range.ts';
import { recordRanges } from '../src/quant/record.ts';
import { compareLayers } from '../src/quant/report.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { GraphBuilder, random } from './helpers/op-graphs.ts';

/** The float graph run sample by sample on the float32 reference, every kept tensor an output. */
const referenceSource: ActivationSource = async (graph, inputs, keep) => {
  const run = createExecutor({ ...graph, outputs: keep });
  const sizes = graph.inputs.map((t) => numel(graph.tensors[t].shape));
  const count = inputs[0].length / sizes[0];
  const values = new Map(keep.map((t) => [t, new Float32Array(count * numel(graph.tensors[t].shape))]));
  for (let s = 0; s < count; s++) {
    const outputs = run(inputs.map((x, k) => x.subarray(s * sizes[k], (s + 1) * sizes[k])));
    keep.forEach((t, j) => values.get(t)!.set(outputs[j] as Float32Array, s * outputs[j].length));
  }
  return values;
};

const uniformSet = (graph: Graph, count: number, seed: number, lo = 0, hi = 1): CalibrationSet => {
  const rand = random(seed);
  const inputs = graph.inputs.map((t) => Float32Array.from({ length: count * numel(graph.tensors[t].shape) }, () => lo + (hi - lo) * rand()));
  return { inputs, count };
};

const weights = (count: number, seed: number, scale = 0.5) => {
  const rand = random(seed);
  return Float32Array.from({ length: count }, () => (rand() * 2 - 1) * scale);
};

/** Runs the int8 graph on float samples: inputs quantized with their parameters, outputs dequantized. */
function runInt8(graph: Graph, data: CalibrationSet): Float32Array[] {
  const run = createExecutor(graph);
  const out = graph.outputs.map((t) => new Float32Array(data.count * numel(graph.tensors[t].shape)));
  for (let s = 0; s < data.count; s++) {
    const inputs: TensorData[] = graph.inputs.map((t, k) => {
      const size = numel(graph.tensors[t].shape);
      const x = data.inputs[k].subarray(s * size, (s + 1) * size);
      return graph.tensors[t].dtype === 'int8' ? quantizeValues(x, affineOf(graph.tensors[t].quant!)) : x;
    });
    run(inputs).forEach((y, k) => {
      const t = graph.tensors[graph.outputs[k]];
      out[k].set(t.dtype === 'int8' ? dequantizeValues(y as Int8Array, affineOf(t.quant!)) : (y as Float32Array), s * y.length);
    });
  }
  return out;
}

const runFloat = async (graph: Graph, data: CalibrationSet) => {
  const values = await referenceSource(graph, data.inputs, graph.outputs);
  return graph.outputs.map((t) => values.get(t)!);
};

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function calibrateAndQuantize(graph: Graph, data: CalibrationSet, io: 'int8' | 'float' = 'int8') {
  const ranges = await recordRanges(graph, data, referenceSource, { batchSize: 7 });
  return quantizeGraph(graph, ranges, { io });
}

/** input [1,8,8,1] -> conv 3x3x4 relu -> depthwise 3x3 relu6 -> max pool 2 -> avg pool 2 -> reshape -> fc 10 -> softmax. */
function smallModel(): { graph: Graph; logits: number } {
  const b = new GraphBuilder();
  const x = b.input([1, 8, 8, 1], 'float32');
  const f = 'float32';
  const conv = b.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'relu' },
    [x, b.constant([4, 3, 3, 1], f, weights(36, 1)), b.constant([4], f, weights(4, 2, 0.1))], [1, 8, 8, 4], f, undefined, true);
  const dw = b.op('depthwise_conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', depthMultiplier: 1, activation: 'relu6' },
    [conv, b.constant([1, 3, 3, 4], f, weights(36, 3)), b.constant([4], f, weights(4, 4, 0.1))], [1, 8, 8, 4], f, undefined, true);
  const max = b.op('max_pool2d', { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' }, [dw], [1, 4, 4, 4], f, undefined, true);
  const avg = b.op('avg_pool2d', { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' }, [max], [1, 2, 2, 4], f, undefined, true);
  const flat = b.op('reshape', { shape: [1, 16] }, [avg], [1, 16], f, undefined, true);
  const logits = b.op('fully_connected', { activation: 'none', keepNumDims: false },
    [flat, b.constant([10, 16], f, weights(160, 5, 2)), b.constant([10], f, weights(10, 6, 0.2))], [1, 10], f, undefined, true);
  b.op('softmax', { beta: 1 }, [logits], [1, 10], f);
  return { graph: b.graph('small'), logits };
}

test('a small conv/depthwise/pool/fc/softmax model stays within a few int8 steps of its float output', async (t) => {
  const { graph } = smallModel();
  const int8 = await calibrateAndQuantize(graph, uniformSet(graph, 64, 11));
  const held = uniformSet(graph, 32, 12);
  const error = maxAbsDiff((await runFloat(graph, held))[0], runInt8(int8, held)[0]);
  t.log(`softmax output: max |float - int8| = ${error.toFixed(5)} (${(error * 256).toFixed(2)} steps of 1/256)`);
  t.true(error <= 3 / 256, `${error}`);
});

test('calibration with a single sample and with many gives working models', async (t) => {
  const { graph } = smallModel();
  const one = uniformSet(graph, 1, 21);
  const fromOne = await calibrateAndQuantize(graph, one);
  // On the sample it saw, a one-sample calibration reproduces the float output closely.
  t.true(maxAbsDiff((await runFloat(graph, one))[0], runInt8(fromOne, one)[0]) <= 3 / 256);
  const many = uniformSet(graph, 200, 22);
  const fromMany = await calibrateAndQuantize(graph, many);
  const held = uniformSet(graph, 16, 23);
  t.true(maxAbsDiff((await runFloat(graph, held))[0], runInt8(fromMany, held)[0]) <= 3 / 256);
});

test('weights are symmetric per output channel on the right axis; a zero channel stays zero; bias scale is input x weight scale', async (t) => {
  const b = new GraphBuilder();
  const f = 'float32';
  const x = b.input([1, 4, 4, 2], f);
  const convW = weights(4 * 2 * 2 * 2, 31);
  convW.fill(0, 8, 16); // output channel 1: all zero weights, zero bias
  convW.fill(0, 16, 24); // output channel 2: all zero weights, bias only
  const convB = Float32Array.of(0.1, 0, 0.3, -0.2);
  const conv = b.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'valid', activation: 'none' },
    [x, b.constant([4, 2, 2, 2], f, convW), b.constant([4], f, convB)], [1, 3, 3, 4], f, undefined, true);
  const dw = b.op('depthwise_conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'valid', depthMultiplier: 2, activation: 'none' },
    [conv, b.constant([1, 2, 2, 8], f, weights(32, 32))], [1, 2, 2, 8], f, undefined, true);
  const flat = b.op('reshape', { shape: [1, 32] }, [dw], [1, 32], f, undefined, true);
  b.op('fully_connected', { activation: 'none', keepNumDims: false }, [flat, b.constant([3, 32], f, weights(96, 33)), b.constant([3], f, weights(3, 34))], [1, 3], f);
  b.outputs.push(conv);
  const graph = b.graph('channels');
  const data = uniformSet(graph, 20, 35, -1, 1);
  const int8 = await calibrateAndQuantize(graph, data);

  const [wConv, bConv] = [int8.tensors[1], int8.tensors[2]];
  t.is(wConv.dtype, 'int8');
  t.deepEqual(wConv.quant!.zeroPoint, [0, 0, 0, 0]);
  t.is(wConv.quant!.axis, 0);
  for (let c = 0; c < 4; c++) {
    const channel = Array.from(wConv.data!.subarray(c * 8, (c + 1) * 8) as Int8Array);
    const floats = convW.subarray(c * 8, (c + 1) * 8);
    if (c === 1 || c === 2) {
      t.deepEqual(channel, new Array(8).fill(0), `channel ${c} stays zero`);
    } else {
      t.is(Math.max(...channel.map(Math.abs)), 127, `channel ${c} uses the full range`);
      t.is(wConv.quant!.scale[c], Math.fround(Math.max(...floats.map(Math.abs)) / 127));
    }
    t.true(wConv.quant!.scale[c] > 0);
    t.is(bConv.quant!.scale[c], Math.fround(int8.tensors[0].quant!.scale[0] * wConv.quant!.scale[c]));
  }
  t.is(bConv.dtype, 'int32');
  t.deepEqual(bConv.quant!.zeroPoint, [0, 0, 0, 0]);
  const dwW = int8.tensors.find((tensor) => tensor.shape.join() === '1,2,2,8')!;
  t.is(dwW.quant!.axis, 3);
  t.is(dwW.quant!.scale.length, 8);
  const fcW = int8.tensors.find((tensor) => tensor.shape.join() === '3,32')!;
  t.is(fcW.quant!.axis, 0);
  t.is(fcW.quant!.scale.length, 3);

  // The zero channels compute their bias exactly as the float model does (0 and 0.3).
  const [, convOut] = runInt8(int8, data);
  const [, convFloat] = await runFloat(graph, data);
  t.true(maxAbsDiff(convOut, convFloat) <= 2 * affineOf(int8.tensors[conv].quant!).scale);
  const step = int8.tensors[conv].quant!.scale[0];
  for (let p = 0; p < convOut.length; p += 4) {
    t.is(convOut[p + 1], 0);
    if (Math.abs(convOut[p + 2] - 0.3) > step / 2) return t.fail(`bias-only channel gives ${convOut[p + 2]}`);
  }
});

test('a layer whose activations are all negative (no ReLU) gets zero point 127 and stays accurate', async (t) => {
  const b = new GraphBuilder();
  const f = 'float32';
  const x = b.input([1, 6], f);
  const w = weights(24, 41, 0.2);
  const out = b.op('fully_connected', { activation: 'none', keepNumDims: false }, [x, b.constant([4, 6], f, w), b.constant([4], f, Float32Array.of(-3, -4, -5, -6))], [1, 4], f);
  const graph = b.graph('negative');
  const data = uniformSet(graph, 50, 42, -1, 1);
  const int8 = await calibrateAndQuantize(graph, data);
  const q = int8.tensors[out].quant!;
  t.is(q.zeroPoint[0], 127);
  const error = maxAbsDiff((await runFloat(graph, data))[0], runInt8(int8, data)[0]);
  t.true(error <= 2 * q.scale[0], `error ${error}, step ${q.scale[0]}`);
});

test('softmax, logistic and tanh get their fixed output quantization; data-movement ops and relu6 keep their input', async (t) => {
  const b = new GraphBuilder();
  const f = 'float32';
  const x = b.input([1, 4, 4, 2], f);
  const padded = b.op('pad', { paddings: [[0, 0], [1, 1], [1, 1], [0, 0]] }, [x], [1, 6, 6, 2], f, undefined, true);
  const pooled = b.op('max_pool2d', { filter: [2, 2], stride: [2, 2], padding: 'valid', activation: 'none' }, [padded], [1, 3, 3, 2], f, undefined, true);
  const six = b.op('relu6', {}, [pooled], [1, 3, 3, 2], f, undefined, true);
  const flat = b.op('reshape', { shape: [1, 1, 18] }, [six], [1, 1, 18], f, undefined, true);
  const squeezed = b.op('squeeze', { axes: [1] }, [flat], [1, 18], f, undefined, true);
  const sig = b.op('logistic', {}, [squeezed], [1, 18], f);
  const th = b.op('tanh', {}, [squeezed], [1, 18], f);
  const sm = b.op('softmax', { beta: 1 }, [squeezed], [1, 18], f);
  const graph = b.graph('fixed');
  const data = uniformSet(graph, 10, 51, -3, 8);
  const int8 = await calibrateAndQuantize(graph, data);
  const quant = (i: number) => [int8.tensors[i].quant!.scale[0], int8.tensors[i].quant!.zeroPoint[0]];
  t.deepEqual(quant(sig), [1 / 256, -128]);
  t.deepEqual(quant(sm), [1 / 256, -128]);
  t.deepEqual(quant(th), [1 / 128, 0]);
  for (const i of [padded, pooled, six, flat, squeezed]) t.deepEqual(quant(i), quant(x), int8.tensors[i].name);
  const floats = await runFloat(graph, data);
  runInt8(int8, data).forEach((y, k) => t.true(maxAbsDiff(y, floats[k]) <= 3 / 128, `output ${k}`));
});

test('concatenated inputs of different ranges are requantized to the output by a QUANTIZE op', async (t) => {
  const b = new GraphBuilder();
  const f = 'float32';
  const x = b.input([1, 4], f);
  const small = b.op('mul', { activation: 'none' }, [x, b.constant([1], f, Float32Array.of(0.1))], [1, 4], f, undefined, true);
  const large = b.op('mul', { activation: 'none' }, [x, b.constant([1], f, Float32Array.of(5))], [1, 4], f, undefined, true);
  const cat = b.op('concatenation', { axis: 1, activation: 'none' }, [small, large, x], [1, 12], f);
  const graph = b.graph('concat');
  const data = uniformSet(graph, 30, 61, -1, 1);
  const int8 = await calibrateAndQuantize(graph, data);
  const concat = int8.ops.find((op) => op.kind === 'concatenation')!;
  // The output's range is the widest input's, which passes through; the other two are requantized.
  t.is(concat.inputs[1], large);
  const requantized = int8.ops.filter((op) => op.kind === 'quantize');
  t.deepEqual(requantized.map((op) => op.inputs[0]), [small, x]);
  t.deepEqual(requantized.map((op) => op.outputs[0]), [concat.inputs[0], concat.inputs[2]]);
  for (const t8 of concat.inputs) t.deepEqual(int8.tensors[t8].quant, int8.tensors[cat].quant);
  const error = maxAbsDiff((await runFloat(graph, data))[0], runInt8(int8, data)[0]);
  t.true(error <= 2 * int8.tensors[cat].quant!.scale[0], `${error}`);
});

test("float I/O wraps the int8 graph in QUANTIZE and DEQUANTIZE and computes the int8 graph's values", async (t) => {
  const { graph, logits } = smallModel();
  graph.outputs.push(logits);
  const data = uniformSet(graph, 16, 71);
  const ranges = await recordRanges(graph, data, referenceSource);
  const int8 = quantizeGraph(graph, ranges);
  const float = quantizeGraph(graph, ranges, { io: 'float' });
  t.is(float.ops[0].kind, 'quantize');
  t.deepEqual(float.ops.slice(-2).map((op) => op.kind), ['dequantize', 'dequantize']);
  for (const i of [...float.inputs, ...float.outputs]) t.is(float.tensors[i].dtype, 'float32');
  for (const i of [...int8.inputs, ...int8.outputs]) t.is(int8.tensors[i].dtype, 'int8');
  t.deepEqual(runInt8(float, data), runInt8(int8, data));
});

test('hello_world_float calibrated on its own input runs within 0.08 of output.npy in int8', async (t) => {
  const oracle = (f: string) => readFileSync(new URL(`../../shared/oracles/hello_world_float/${f}`, import.meta.url));
  const graph = importTflite(oracle('model.tflite'), 'hello_world_float.tflite');
  const input = readNpy(oracle('input.npy'), 'input.npy');
  const expected = readNpy(oracle('output.npy'), 'output.npy').data as Float32Array;
  const data: CalibrationSet = { inputs: [input.data as Float32Array], count: input.shape[0] };
  for (const observer of ['minmax', 'percentile', 'mse'] as const) {
    const ranges = await recordRanges(graph, data, referenceSource, { observer: { kind: observer } });
    const int8 = quantizeGraph(graph, ranges);
    const error = maxAbsDiff(runInt8(int8, data)[0], expected);
    t.log(`${observer}: max |int8 - output.npy| = ${error.toFixed(4)}`);
    t.true(error < 0.08, `${observer}: ${error}`);
  }
});

test('the per-layer report shows where accuracy is lost', async (t) => {
  const { graph } = smallModel();
  const data = uniformSet(graph, 24, 81);
  const ranges = await recordRanges(graph, data, referenceSource);
  const good = await compareLayers(graph, quantizeGraph(graph, ranges), data, referenceSource, createExecutor);
  t.deepEqual(good.map((row) => row.kind), graph.ops.map((op) => op.kind));
  for (const row of good) {
    t.true(row.sqnrDb > 25 && row.cosine > 0.99, `${row.kind} '${row.tensor}': ${row.sqnrDb.toFixed(1)} dB, cosine ${row.cosine.toFixed(4)}`);
  }
  // A depthwise output range 50 times too wide costs that layer most of its precision.
  const dwOutput = graph.ops[1].outputs[0];
  const [lo, hi] = ranges.get(dwOutput)!;
  const damaged = new Map(ranges).set(dwOutput, [lo * 50, hi * 50] as Range);
  const bad = await compareLayers(graph, quantizeGraph(graph, damaged), data, referenceSource, createExecutor);
  t.log(bad.map((row) => `${row.kind}: ${row.sqnrDb.toFixed(1)} dB, cosine ${row.cosine.toFixed(4)}`).join('\n'));
  t.true(bad[0].sqnrDb > 25);
  t.true(bad[1].sqnrDb < good[1].sqnrDb - 15, `${bad[1].sqnrDb} vs ${good[1].sqnrDb}`);
  t.true(bad[1].cosine < good[1].cosine);
});

test('a missing range, a quantized model and NaN weights are reported by name', async (t) => {
  const { graph } = smallModel();
  const data = uniformSet(graph, 4, 91);
  const ranges = await recordRanges(graph, data, referenceSource);
  const partial = new Map(ranges);
  partial.delete(graph.ops[2].outputs[0]); // max pool keeps its input's quantization: not needed
  t.notThrows(() => quantizeGraph(graph, partial));
  partial.delete(graph.ops[1].outputs[0]);
  const missing = t.throws(() => quantizeGraph(graph, partial), { instanceOf: EdgecError });
  t.regex(missing.message, /no calibration range for op 1 \(depthwise_conv2d/);
  t.is(missing.kind, 'usage');

  const int8 = quantizeGraph(graph, ranges);
  t.throws(() => quantizeGraph(int8, ranges), { instanceOf: EdgecError, message: /only float32 models can be quantized/ });

  const poisoned: Graph = { ...graph, tensors: graph.tensors.map((x): Tensor => ({ ...x })) };
  const weightsIndex = graph.ops[5].inputs[1];
  const nan = Float32Array.from(graph.tensors[weightsIndex].data as Float32Array);
  nan[17] = NaN;
  poisoned.tensors[weightsIndex] = { ...poisoned.tensors[weightsIndex], data: nan };
  const name = graph.tensors[weightsIndex].name;
  for (const attempt of [() => quantizeGraph(poisoned, ranges), () => recordRanges(poisoned, data, referenceSource)]) {
    const error = await t.throwsAsync(async () => attempt(), { instanceOf: EdgecError });
    t.is(error.kind, 'model');
    t.true(error.details.some((d) => d.includes(`'${name}'`) && d.includes('element 17 is NaN') && d.includes('fully_connected')), error.details.join('\n'));
  }
});

test('non-finite activations during calibration name the input sample or the overflowing op', async (t) => {
  const b = new GraphBuilder();
  const f = 'float32';
  const x = b.input([1, 2], f);
  const y = b.op('mul', { activation: 'none' }, [x, b.constant([1], f, Float32Array.of(3))], [1, 2], f);
  const graph = b.graph('overflow');
  const nanInput: CalibrationSet = { inputs: [Float32Array.of(0, 1, NaN, 2)], count: 2 };
  await t.throwsAsync(recordRanges(graph, nanInput, referenceSource), { instanceOf: EdgecError, message: /sample 1 of input 'in0' holds NaN/ });
  // A float executor without clamping (tfjs) can overflow to infinity inside the model.
  const overflowing: ActivationSource = async (g, inputs, keep) => {
    const values = await referenceSource(g, inputs, keep);
    values.get(y)![3] = Infinity;
    return values;
  };
  const data: CalibrationSet = { inputs: [Float32Array.of(0, 1, 10, 2)], count: 2 };
  const error = await t.throwsAsync(recordRanges(graph, data, overflowing), { instanceOf: EdgecError, message: /op 0 \(mul.*computes Infinity.*sample 1/ });
  t.is(error.kind, 'model');
  await t.throwsAsync(recordRanges(graph, { inputs: [new Float32Array(0)], count: 0 }, referenceSource), { instanceOf: EdgecError, message: /empty/ });
});
