// Full-integer quantization of a float LSTM (TFLite's integer LSTM recipe): a Conv1D + LSTM +
// Dense model and a Bidirectional GRU (unrolled) + backward LSTM model built in tfjs, imported,
// calibrated and quantized, then run in int8 by the host reference and, bit for bit the same, by
// the generated C.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import test from 'ava';
import { lstmCellMagnitude } from '../src/float/lstm.ts';
import { loadModel } from '../src/import/index.ts';
import { tfjsFileHandler } from '../src/import/tfjs-io.ts';
import { numel } from '../src/ir/dtype.ts';
import type { Graph, LstmOp, TensorData } from '../src/ir/types.ts';
import { runPasses } from '../src/passes/index.ts';
import type { CalibrationSet } from '../src/quant/activations.ts';
import { ptq } from '../src/quant/ptq.ts';
import { quantizeGraph } from '../src/quant/quantize.ts';
import { stateRangeKey } from '../src/quant/range.ts';
import { recordRanges } from '../src/quant/record.ts';
import { int8Inputs } from '../src/quant/report.ts';
import { runFloat } from '../src/float/run.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { runGeneratedHost } from './helpers/c-model.ts';
import { missingTool } from './helpers/tools.ts';
import { random } from './helpers/random.ts';

const workDir = mkdtempSync(join(tmpdir(), 'edgec-quant-lstm-'));
test.after.always(() => rmSync(workDir, { recursive: true, force: true }));

const STEPS = 24;
let seed = 7;
const init = (limit: number) => tfl.initializers.randomUniform({ minval: -limit, maxval: limit, seed: seed++ });

async function saved(model: tfl.LayersModel, name: string): Promise<Graph> {
  const path = join(workDir, name, 'model.json');
  await model.save(tfjsFileHandler(path));
  return runPasses(await loadModel(path));
}

const conv1dLstmModel = () =>
  saved(
    tfl.sequential({
    layers: [
      tfl.layers.conv1d({ inputShape: [STEPS, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(0.5), biasInitializer: init(0.2) }),
      tfl.layers.maxPooling1d({ poolSize: 2 }),
      tfl.layers.lstm({ units: 8, recurrentActivation: 'sigmoid', kernelInitializer: init(0.6), recurrentInitializer: init(0.5), biasInitializer: init(0.3) }),
      tfl.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init(0.8), biasInitializer: init(0.1) }),
      ],
    }),
    'conv1d-lstm',
  );

/** Bidirectional GRU (unrolled into element-wise ops, the backward half on a reversed sequence) then a backward LSTM. */
const bidirectionalGruModel = () =>
  saved(
    tfl.sequential({
      layers: [
        tfl.layers.bidirectional({
          inputShape: [STEPS, 3],
          layer: tfl.layers.gru({ units: 5, returnSequences: true, recurrentActivation: 'sigmoid', kernelInitializer: init(0.6), recurrentInitializer: init(0.5), biasInitializer: init(0.3) }) as never,
          mergeMode: 'concat',
        }),
        tfl.layers.lstm({ units: 6, goBackwards: true, recurrentActivation: 'sigmoid', kernelInitializer: init(0.6), recurrentInitializer: init(0.5), biasInitializer: init(0.3) }),
        tfl.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init(0.8), biasInitializer: init(0.1) }),
      ],
    }),
    'bidirectional-gru',
  );

/** Smooth 3-axis signals: sines of random frequency, phase and amplitude, with a little noise. */
function signals(count: number, from: number): CalibrationSet {
  const next = random(from);
  const data = new Float32Array(count * STEPS * 3);
  for (let s = 0; s < count; s++) {
    for (let axis = 0; axis < 3; axis++) {
      const [frequency, phase, amplitude] = [0.1 + next() * 0.6, next() * 6.3, 0.5 + next() * 1.5];
      for (let t = 0; t < STEPS; t++) data[(s * STEPS + t) * 3 + axis] = amplitude * Math.sin(frequency * t + phase) + (next() - 0.5) * 0.1;
    }
  }
  return { inputs: [data], count };
}

const lstmOf = (graph: Graph) => graph.ops.findIndex((op) => op.kind === 'unidirectional_sequence_lstm');

test('the cell state range is calibrated, and the LSTM quantized by TFLite integer recipe', async (t) => {
  const float = await conv1dLstmModel();
  const data = signals(40, 1);
  const ranges = await recordRanges(float, data, (g, inputs, keep) => runFloat(g, inputs, { keep }));
  const k = lstmOf(float);
  const op = float.ops[k] as LstmOp;
  const input = (await runFloat(float, data.inputs, { keep: [op.inputs[0]] })).get(op.inputs[0])!;
  const magnitude = await lstmCellMagnitude(float, op, input);
  t.true(magnitude > 0);
  t.deepEqual(ranges.get(stateRangeKey(k)), [-magnitude, magnitude]);

  const int8 = quantizeGraph(float, ranges);
  const lstm = int8.ops[k] as LstmOp;
  const { cellScale, hiddenScale, hiddenZeroPoint } = lstm.attrs.state!;
  t.true(Number.isInteger(Math.log2(cellScale)), 'the cell scale is a power of two');
  t.true(cellScale * 32768 >= magnitude && cellScale * 16384 < magnitude, `2^15 steps of ${cellScale} just cover ${magnitude}`);
  const output = int8.tensors[lstm.outputs[0]].quant!;
  t.deepEqual([hiddenScale, hiddenZeroPoint], [output.scale[0], output.zeroPoint[0]], 'the hidden state is the output');
  for (let i = 1; i <= 12; i++) {
    const tensor = int8.tensors[lstm.inputs[i]];
    t.is(tensor.dtype, i <= 8 ? 'int8' : 'int32');
    t.is(tensor.quant!.scale.length, 1, `operand ${i} has one scale`);
  }
  const inputScale = int8.tensors[lstm.inputs[0]].quant!.scale[0];
  for (let g = 0; g < 4; g++) t.is(int8.tensors[lstm.inputs[9 + g]].quant!.scale[0], Math.fround(inputScale * int8.tensors[lstm.inputs[1 + g]].quant!.scale[0]));
});

/** One ptq run shared by the tests below. */
let quantized: ReturnType<typeof ptq> | undefined;
const ptqResult = async () => (quantized ??= conv1dLstmModel().then((float) => ptq(float, signals(60, 2), { runner: createExecutor })));

test('ptq of a Conv1D + LSTM model: the per-layer report covers the LSTM, int8 follows float', async (t) => {
  const result = await ptqResult();
  const layer = result.layers[lstmOf(result.floatGraph)];
  t.is(layer.kind, 'unidirectional_sequence_lstm');
  t.true(layer.sqnrDb > 25, `LSTM layer SQNR ${layer.sqnrDb.toFixed(1)} dB`);
  t.true(result.outputSqnrDb > 20, `output SQNR ${result.outputSqnrDb.toFixed(1)} dB`);
  t.true(result.agreement >= 0.95, `top-1 agreement ${result.agreement}`);
});

const missingCc = missingTool('cc');
for (const [what, quantize] of [
  ['Conv1D + LSTM', ptqResult],
  ['Bidirectional GRU + backward LSTM', () => bidirectionalGruModel().then((float) => ptq(float, signals(30, 4), { runner: createExecutor }))],
] as const) {
  (missingCc ? test.skip : test)(`the quantized ${what} model's generated C = the host reference, sample by sample from cleared state${missingCc ? ` (skipped: ${missingCc})` : ''}`, async (t) => {
    const { graph, outputSqnrDb } = await quantize();
    t.true(outputSqnrDb > 15, `output SQNR ${outputSqnrDb.toFixed(1)} dB`);
    const run = createExecutor(graph);
    const data = signals(4, 3);
    const size = numel(graph.tensors[graph.inputs[0]].shape);
    const samples = Array.from({ length: data.count }, (_, s) => int8Inputs(graph, [data.inputs[0].subarray(s * size, (s + 1) * size)]));
    const reference = samples.map((sample) => {
      run.reset();
      return Array.from(run(sample)[0] as Int8Array);
    });
    const host = await runGeneratedHost(graph, samples as TensorData[][], { sanitize: true });
    t.deepEqual(host.map((o) => Array.from(o[0] as Int8Array)), reference);
  });
}
