// int16 activations from the quantizer (TFLite's 16x8 scheme) on the Fashion-MNIST example's float
// CNN: for every layer with a 16x8 kernel, for the layers a user names, or for those the int8
// per-layer report flags; QUANTIZE ops where int8 and int16 layers meet; the models bit-exact
// between the reference, the generated C on the host (sanitizers) and QEMU, and through a .tflite.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fashionMnistDir, fashionMnistNpy, loadFashionMnist } from '../examples/fashion-mnist/data.ts';
import { importTflite } from '../src/import/tflite.ts';
import { dataBytes } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { prepareModel, type QuantizeRequest, type QuantizeResult } from '../src/pipeline.ts';
import { affineOf, quantizeValues } from '../src/quant/params.ts';
import { flaggedLayers } from '../src/quant/precision.ts';
import { runFloat } from '../src/float/run.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import { recordRanges } from '../src/quant/record.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { exportTflite } from '../src/tflite/export.ts';
import { writeTflite } from '../src/tflite/writer.ts';
import { GraphBuilder, random } from './helpers/op-graphs.ts';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';

const MODEL = fileURLToPath(new URL('../examples/fashion-mnist/model/model.json', import.meta.url));
const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));
const noData = existsSync(join(fashionMnistDir(), 'train-images-idx3-ubyte.gz')) ? null : `Fashion-MNIST is not at ${fashionMnistDir()} (apt-get install dataset-fashion-mnist)`;

// The example's layers: 0 conv1 (+bn, relu), 1 dw2, 2 pw2, 3 pool2, 4 conv3, 5 flatten, 6 dense, 7 softmax.
const CONV3 = 4;
const WITHOUT_16X8 = [7];

const scratch = mkdtempSync(join(tmpdir(), 'edgec-int16-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

const calib = (() => {
  let path: string | undefined;
  return () => {
    if (!path) {
      path = join(scratch, 'calib.npy');
      writeFileSync(path, fashionMnistNpy(loadFashionMnist('train', { limit: 100 })).images);
    }
    return path;
  };
})();

/** The techniques off: the comparisons are of the activation types alone. */
const quantize = async (request: Partial<QuantizeRequest>): Promise<{ graph: Graph; quantized: QuantizeResult }> => {
  const { graph, quantized } = await prepareModel(MODEL, {
    calib: calib(),
    techniques: { equalization: 'off', jointRanges: 'off', biasCorrection: 'off' },
    ...request,
  });
  return { graph, quantized: quantized! };
};

const memo = new Map<string, ReturnType<typeof quantize>>();
const quantized = (key: string, request: Partial<QuantizeRequest>) => {
  if (!memo.has(key)) memo.set(key, quantize(request));
  return memo.get(key)!;
};
const int8 = () => quantized('int8', {});
const int16 = () => quantized('int16', { activations: 'int16' });
const mixed = () => quantized('conv3', { int16Layers: ['conv3'] });

const int16Layers = (result: QuantizeResult) => result.layers.filter((l) => l.activations === 'int16').map((l) => l.op);
const describe = (graph: Graph) => graph.ops.map((op) => `${op.kind}(${op.inputs.map((t) => graph.tensors[t].dtype).join(',')}->${graph.tensors[op.outputs[0]].dtype})`);

testWhere([noData], 'int16 activations: every layer with a 16x8 kernel is 16x8 (symmetric int16, int64 bias), the rest int8, and the output SQNR rises over int8', async (t) => {
  const [a, b] = [await int8(), await int16()];
  t.deepEqual(int16Layers(a.quantized), []);
  t.deepEqual(int16Layers(b.quantized), [0, 1, 2, 3, 4, 5, 6]);
  for (const k of WITHOUT_16X8) t.is(b.quantized.layers[k].activations, 'int8');
  for (const op of b.graph.ops) {
    const output = b.graph.tensors[op.outputs[0]];
    if (output.dtype === 'int16') t.is(output.quant!.zeroPoint[0], 0, `${op.kind}: int16 with zero point 0`);
    if ((op.kind === 'conv2d' || op.kind === 'fully_connected' || op.kind === 'depthwise_conv2d') && output.dtype === 'int16') {
      t.is(b.graph.tensors[op.inputs[1]].dtype, 'int8');
      t.is(b.graph.tensors[op.inputs[2]].dtype, 'int64');
    }
  }
  const [sqnr8, sqnr16] = [a.quantized.ptq.outputSqnrDb, b.quantized.ptq.outputSqnrDb];
  t.log(`output SQNR: int8 ${sqnr8.toFixed(1)} dB, int16 ${sqnr16.toFixed(1)} dB`);
  t.true(sqnr16 > sqnr8 + 3, `int16 ${sqnr16} dB against int8 ${sqnr8} dB`);
  // The model's input and output stay int8 (--io int8): QUANTIZE ops at both ends.
  t.is(b.graph.tensors[b.graph.inputs[0]].dtype, 'int8');
  t.is(b.graph.tensors[b.graph.outputs[0]].dtype, 'int8');
});

testWhere([noData], '--int16-layers conv3 makes that layer alone int16, with a QUANTIZE at each border; its number does the same', async (t) => {
  const { graph, quantized: result } = await mixed();
  t.deepEqual(int16Layers(result), [CONV3]);
  t.deepEqual(describe(graph), [
    'conv2d(int8,int8,int32->int8)',
    'depthwise_conv2d(int8,int8,int32->int8)',
    'conv2d(int8,int8,int32->int8)',
    'max_pool2d(int8->int8)',
    'quantize(int8->int16)',
    'conv2d(int16,int8,int64->int16)',
    'quantize(int16->int8)',
    'reshape(int8->int8)',
    'fully_connected(int8,int8,int32->int8)',
    'softmax(int8->int8)',
  ]);
  const byNumber = await quantize({ int16Layers: [String(CONV3)] });
  t.deepEqual(describe(byNumber.graph), describe(graph));
});

testWhere([noData], '--int16-layers auto takes the lowest-SQNR quarter of the computing 16x8 layers of the int8 report and the 16x8 layers after them', async (t) => {
  const [a, auto] = [await int8(), await quantize({ int16Layers: 'auto' })];
  // Five computing layers (three convolutions, the depthwise, the dense): the two lowest.
  const lowest = [0, 1, 2, 4, 6].sort((x, y) => a.quantized.layers[x].sqnrDb - a.quantized.layers[y].sqnrDb).slice(0, 2);
  t.log(`flagged: ops ${lowest.join(', ')} of the int8 report`);
  t.deepEqual(flaggedLayers(a.quantized.floatGraph, a.quantized.layers), lowest);
  // Each goes on through the 16x8 layers reading it, up to the softmax (which has no 16x8 kernel).
  const after: Record<number, number[]> = { 0: [1, 2, 3, 4, 5, 6], 1: [2, 3, 4, 5, 6], 2: [3, 4, 5, 6], 4: [5, 6], 6: [] };
  const expected = [...new Set(lowest.flatMap((k) => [k, ...after[k]]))].sort((x, y) => x - y);
  t.deepEqual(int16Layers(auto.quantized), expected);
  t.true(auto.quantized.ptq.outputSqnrDb > a.quantized.ptq.outputSqnrDb, `auto ${auto.quantized.ptq.outputSqnrDb} dB against int8 ${a.quantized.ptq.outputSqnrDb} dB`);
});

/** Test images as the int8 model input takes them. */
function samples(graph: Graph, count: number): TensorData[][] {
  const input = graph.tensors[graph.inputs[0]];
  const images = loadFashionMnist('test', { limit: count }).images;
  const size = images.length / count;
  return Array.from({ length: count }, (_, s) => {
    const x = images.subarray(s * size, (s + 1) * size);
    return [input.dtype === 'int8' ? quantizeValues(x, affineOf(input.quant!)) : x];
  });
}

const bytes = (outputs: TensorData[][]) => outputs.map((s) => s.map((o) => Buffer.from(dataBytes(o)).toString('hex')));

for (const target of ['host', 'qemu'] as const) {
  testWhere([noData, missingTool(...TARGET_TOOLS[target])], `the mixed and the int16 models (int8 and float I/O) run bit-exact on ${target} and on the reference`, async (t) => {
    const floatIo = await quantized('int16 float io', { activations: 'int16', io: 'float' });
    for (const { graph } of [await mixed(), await int16(), floatIo]) {
      const inputs = samples(graph, 6);
      const ref = await runOnTarget(graph, 'ref', inputs);
      const run = await runOnTarget(graph, target, inputs, { sanitize: target === 'host', board: 'stm32f4' });
      t.deepEqual(bytes(run.outputs), bytes(ref.outputs), describe(graph).join(' '));
    }
  });
}

testWhere([noData], 'the mixed model written as a .tflite reads back as the same graph and gives the same bytes', async (t) => {
  for (const { graph } of [await mixed(), await int16()]) {
    const back = importTflite(writeTflite(exportTflite(graph)), 'mixed.tflite');
    t.deepEqual(describe(back), describe(graph));
    back.tensors.forEach((tensor, i) => t.deepEqual(tensor.quant, graph.tensors[i].quant, tensor.name));
    const inputs = samples(graph, 4);
    t.deepEqual(bytes((await runOnTarget(back, 'ref', inputs)).outputs), bytes((await runOnTarget(graph, 'ref', inputs)).outputs));
  }
});

/** float input [1,6,6,2] -> conv 3x3 relu -> conv 1x1 -> add (the first conv's output) -> reshape -> dense 3: float output, no softmax. */
function residualRegression(): GraphBuilder {
  const b = new GraphBuilder();
  const rand = random(11);
  const values = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const f = 'float32';
  const x = b.input([1, 6, 6, 2], f);
  const conv = b.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'same', activation: 'relu' }, [x, b.constant([4, 3, 3, 2], f, values(72, 0.5)), b.constant([4], f, values(4, 0.1))], [1, 6, 6, 4], f, undefined, true);
  const pointwise = b.op('conv2d', { stride: [1, 1], dilation: [1, 1], padding: 'valid', activation: 'none' }, [conv, b.constant([4, 1, 1, 4], f, values(16, 0.7)), b.constant([4], f, values(4, 0.1))], [1, 6, 6, 4], f, undefined, true);
  const sum = b.op('add', { activation: 'none' }, [conv, pointwise], [1, 6, 6, 4], f, undefined, true);
  const flat = b.op('reshape', { shape: [1, 144] }, [sum], [1, 144], f, undefined, true);
  b.op('fully_connected', { activation: 'none', keepNumDims: false }, [flat, b.constant([3, 144], f, values(432, 0.2)), b.constant([3], f, values(3, 0.1))], [1, 3], f);
  return b;
}

for (const target of ['host', 'qemu'] as const) {
  testWhere([missingTool(...TARGET_TOOLS[target])], `a 16x8 residual model with float I/O (float -> int16 QUANTIZE, int16 ADD, int16 -> float DEQUANTIZE) runs bit-exact on ${target}`, async (t) => {
    const builder = residualRegression();
    const float = builder.graph('residual');
    const samples = builder.samples(24, 5);
    const data = { inputs: [Float32Array.from(samples.flatMap((s) => Array.from(s[0] as Float32Array)))], count: samples.length };
    const ranges = await recordRanges(float, data, (graph, inputs, keep) => runFloat(graph, inputs, { keep }));
    const graph = quantizeGraph(float, ranges, { io: 'float', int16: new Set([0, 1, 2, 3, 4]) });
    t.deepEqual(describe(graph), [
      'quantize(float32->int16)',
      'conv2d(int16,int8,int64->int16)',
      'conv2d(int16,int8,int64->int16)',
      'add(int16,int16->int16)',
      'reshape(int16->int16)',
      'fully_connected(int16,int8,int64->int16)',
      'dequantize(int16->float32)',
    ]);
    const ref = await runOnTarget(graph, 'ref', samples.slice(0, 8));
    const run = await runOnTarget(graph, target, samples.slice(0, 8), { sanitize: target === 'host', board: 'stm32f4' });
    t.deepEqual(bytes(run.outputs), bytes(ref.outputs));
  });
}

/** TensorFlow Lite Micro's outputs for the .tflite files edgec wrote for a mixed and a 16x8 model (fixtures/kernels/README.md). */
interface QuantizedGolden {
  name: string;
  model: string;
  inputs: number[][];
  expected: string[][];
}

const goldens = (JSON.parse(readFileSync(new URL('./fixtures/kernels/int16-quantized.json', import.meta.url), 'utf8')) as { cases: QuantizedGolden[] }).cases;
const goldenGraph = (g: QuantizedGolden) => importTflite(Buffer.from(g.model, 'base64'), `${g.name}.tflite`);
const base64 = (outputs: TensorData[][]) => outputs.map((s) => s.map((o) => Buffer.from(dataBytes(o)).toString('base64')));

for (const target of ['ref', 'host', 'qemu'] as const) {
  testWhere([missingTool(...TARGET_TOOLS[target])], `edgec's mixed and 16x8 .tflite files give TensorFlow Lite Micro's bytes at every layer on ${target}`, async (t) => {
    for (const g of goldens) {
      const graph = goldenGraph(g);
      const run = await runOnTarget(graph, target, g.inputs.map((x) => [Int8Array.from(x)]), { sanitize: target === 'host', board: 'stm32f4' });
      t.deepEqual(base64(run.outputs), g.expected, g.name);
    }
  });
}

testWhere([noData], 'the golden models are what the quantizer makes today, layer by layer', async (t) => {
  for (const [g, { graph }] of [[goldens[0], await mixed()], [goldens[1], await int16()]] as const) t.deepEqual(describe(goldenGraph(g)), describe(graph), g.name);
});

testWhere([noData], 'an unknown layer, a layer without a 16x8 kernel and a bad list are refused by name', async (t) => {
  const unknown = await t.throwsAsync(quantize({ int16Layers: ['conv9'] }), { instanceOf: EdgecError });
  t.is((unknown as EdgecError).kind, 'usage');
  t.regex(unknown!.message, /no layer named 'conv9'.*conv3/);
  t.regex((await t.throwsAsync(quantize({ int16Layers: ['12'] })))!.message, /no layer 12; its ops are numbered 0 to 7/);
  const softmax = await t.throwsAsync(quantize({ int16Layers: ['conv3', 'logits'] }), { instanceOf: EdgecError });
  t.regex(softmax!.message, /op 7 \(softmax.*has no 16x8 kernel.*conv2d, depthwise_conv2d, fully_connected, avg_pool2d, max_pool2d, add/);

  const cli = (...args: string[]) => spawnSync(process.execPath, [edgec, 'quantize', MODEL, '--calib', calib(), '-o', join(scratch, 'x.tflite'), ...args], { encoding: 'utf8' });
  const logits = cli('--int16-layers', 'logits');
  t.is(logits.status, 2, logits.stderr);
  t.regex(logits.stderr, /softmax.*has no 16x8 kernel/);
  const empty = cli('--int16-layers', 'conv3,');
  t.is(empty.status, 2, empty.stderr);
  t.regex(empty.stderr, /--int16-layers takes comma-separated layer names/);
  t.is(cli('--activations', 'int4').status, 2);
});

testWhere([noData], 'edgec quantize --activations int16 --json carries each layer\'s activation type and says which stay int8', (t) => {
  const r = spawnSync(process.execPath, [edgec, 'quantize', MODEL, '--calib', calib(), '-o', join(scratch, 'q16.tflite'), '--activations', 'int16', '--json', '--bias-correction', 'off', '--equalize', 'off'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { activations: string; layers: { op: number; activations: string; note?: string }[] };
  t.is(report.activations, 'int16');
  t.deepEqual(report.layers.map((l) => l.activations), ['int16', 'int16', 'int16', 'int16', 'int16', 'int16', 'int16', 'int8']);
  t.deepEqual(report.layers.filter((l) => l.note).map((l) => [l.op, l.note]), WITHOUT_16X8.map((k) => [k, 'no 16x8 kernel: stays int8']));
  const text = spawnSync(process.execPath, [edgec, 'quantize', MODEL, '--calib', calib(), '-o', join(scratch, 'q16.tflite'), '--int16-layers', 'conv3'], { encoding: 'utf8' });
  t.is(text.status, 0, text.stderr);
  t.regex(text.stdout, /int8 with int16 activations \(16x8\) in 1 of 8 layers/);
  t.regex(text.stdout, /4 +conv2d +conv3 +int16 /);
});
