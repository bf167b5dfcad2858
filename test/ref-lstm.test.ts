// UNIDIRECTIONAL_SEQUENCE_LSTM: import, the host reference against TensorFlow Lite Micro's own
// outputs (fixtures/kernels/lstm.json, for the models test/helpers/lstm-models.ts writes), the
// state carried from one call to the next and reset, and export back to TFLite.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importTflite } from '../src/import/tflite.ts';
import { crc32 } from '../src/ir/crc32.ts';
import { EdgecError } from '../src/ir/errors.ts';
import { readNpy, writeNpy } from '../src/npy/npy.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { GATE_TANH_INPUT, int16Sigmoid, int16Tanh, int16TanhInput } from '../src/lower/lstm.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { exportTflite } from '../src/tflite/export.ts';
import { readTflite } from '../src/tflite/reader.ts';
import { writeTflite } from '../src/tflite/writer.ts';
import { LSTM_CASES, lstmCaseInputs, lstmCaseModel } from './helpers/lstm-models.ts';

interface LstmGolden {
  name: string;
  modelCrc32: number;
  inputs: number[][];
  expected: number[][];
  afterReset: number[];
}

const goldens = (JSON.parse(readFileSync(new URL('./fixtures/kernels/lstm.json', import.meta.url), 'utf8')) as { cases: LstmGolden[] }).cases;

const values = (data: TensorData) => Array.from(data as ArrayLike<number>);
/** Fixture numbers as the float32 (or integer) values they print. */
const exact = (list: number[]) => list.map(Math.fround);

test('the fixture holds every case, for the very models the helper writes', (t) => {
  t.deepEqual(
    goldens.map((g) => g.name),
    LSTM_CASES.map((c) => c.name),
  );
  LSTM_CASES.forEach((c, i) => {
    t.is(crc32(lstmCaseModel(c)), goldens[i].modelCrc32, c.name);
    t.deepEqual(lstmCaseInputs(c).map(values), goldens[i].inputs.map(exact), c.name);
  });
});

LSTM_CASES.forEach((c, i) => {
  test(`reference = TensorFlow Lite Micro: ${c.name}, state carried, then reset`, (t) => {
    const golden = goldens[i];
    const run = createExecutor(importTflite(lstmCaseModel(c)));
    lstmCaseInputs(c).forEach((x, k) => t.deepEqual(values(run([x])[0]), exact(golden.expected[k]), `invoke ${k}`));
    run.reset();
    t.deepEqual(values(run([lstmCaseInputs(c)[0]])[0]), exact(golden.afterReset));
  });
});

test('the int8 case with carried state differs from the same inputs run one by one', (t) => {
  // Otherwise the goldens above would not show that the state is carried at all.
  const c = LSTM_CASES[0];
  const golden = goldens[0];
  const run = createExecutor(importTflite(lstmCaseModel(c)));
  const fresh = lstmCaseInputs(c).map((x) => (run.reset(), values(run([x])[0])));
  t.deepEqual(fresh[0], golden.expected[0]);
  t.notDeepEqual(fresh[1], golden.expected[1]);
});

test('the int16 sigmoid is monotonic with sigmoid(x) + sigmoid(-x) = 1 exactly; tanh saturates', (t) => {
  let monotonic = true;
  let asymmetric = 0;
  for (let x = -32767; x < 32767; x++) {
    if (int16Sigmoid(x + 1) < int16Sigmoid(x)) monotonic = false;
    if (int16Sigmoid(x) + int16Sigmoid(-x) !== 32768) asymmetric++;
  }
  t.true(monotonic);
  t.is(asymmetric, 0);
  // Q3.12 covers [-8, 8): sigmoid(8) is 0.99966, short of saturation.
  t.deepEqual([int16Sigmoid(-32768), int16Sigmoid(0), int16Sigmoid(32767)], [11, 16384, 32757]);
  t.deepEqual([int16Tanh(-32768, GATE_TANH_INPUT), int16Tanh(0, GATE_TANH_INPUT), int16Tanh(32767, GATE_TANH_INPUT)], [-32767, 0, 32767]);
  // A cell state with scale 2^-8 reaches 128: its tanh saturates long before.
  t.is(int16Tanh(4096, int16TanhInput(-8)), 32767);
});

test('import keeps the gates, drops the states into attributes and exports back to the same graph', (t) => {
  const graph = importTflite(lstmCaseModel(LSTM_CASES[2]));
  const [op] = graph.ops;
  t.is(op.kind, 'unidirectional_sequence_lstm');
  t.is(op.inputs.length, 13);
  t.deepEqual(op.attrs, { cellClip: 0, timeMajor: false, state: { hiddenScale: Math.fround(0.02), hiddenZeroPoint: 127, cellScale: 2 ** -11 } });
  const again: Graph = importTflite(writeTflite(exportTflite(graph)));
  t.deepEqual(again.ops.map((o) => [o.kind, o.attrs]), graph.ops.map((o) => [o.kind, o.attrs]));
  t.deepEqual(again.tensors.map((x) => [x.name, x.shape, x.dtype]), graph.tensors.map((x) => [x.name, x.shape, x.dtype]));
  const x = lstmCaseInputs(LSTM_CASES[2])[0];
  t.deepEqual(values(createExecutor(again)([x])[0]), goldens[2].expected[0]);
});

/** A case's model with its LSTM operator's inputs changed. */
function withInputs(change: (inputs: number[]) => void): Uint8Array {
  const model = readTflite(lstmCaseModel(LSTM_CASES[1]));
  change(model.subgraphs[0].operators[0].inputs);
  return writeTflite(model);
}

test('import refuses the LSTM variants TensorFlow Lite Micro does not run, all at once with reasons', (t) => {
  const cifg = withInputs((inputs) => {
    inputs[1] = -1;
    inputs[5] = -1;
  });
  t.throws(() => importTflite(cifg), { instanceOf: EdgecError, message: /inputs \[1,5\] are missing \(TFLite Micro needs all four gates: no CIFG\)/ });
  const peephole = withInputs((inputs) => {
    inputs[10] = inputs[13];
  });
  t.throws(() => importTflite(peephole), { instanceOf: EdgecError, message: /has peephole connections, which TFLite Micro's LSTM does not run/ });
  const layerNorm = withInputs((inputs) => {
    inputs[21] = inputs[13];
  });
  t.throws(() => importTflite(layerNorm), { instanceOf: EdgecError, message: /has layer normalization, which/ });
  const noState = withInputs((inputs) => {
    inputs[19] = -1;
  });
  t.throws(() => importTflite(noState), { instanceOf: EdgecError, message: /the hidden and cell states \(inputs 18 and 19\) are missing/ });
  const notVariable = readTflite(lstmCaseModel(LSTM_CASES[1]));
  const sub = notVariable.subgraphs[0];
  sub.tensors[sub.operators[0].inputs[18]].isVariable = false;
  t.throws(() => importTflite(writeTflite(notVariable)), { instanceOf: EdgecError, message: /must be variable tensors/ });
});

test('edgec run --stateful carries the state across the samples of a run; without it each sample starts afresh', (t) => {
  const c = LSTM_CASES[0];
  const dir = mkdtempSync(join(tmpdir(), 'edgec-lstm-cli-'));
  writeFileSync(join(dir, 'lstm.tflite'), lstmCaseModel(c));
  const inputs = lstmCaseInputs(c);
  const stacked = Int8Array.from(inputs.flatMap(values));
  writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'int8', shape: [inputs.length, c.batch, c.steps, c.inputSize], data: stacked }));
  const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));
  const outputs = (...flags: string[]) => {
    const r = spawnSync(process.execPath, [edgec, 'run', join(dir, 'lstm.tflite'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'y.npy'), ...flags], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const y = values(readNpy(readFileSync(join(dir, 'y.npy'))).data);
    const per = y.length / inputs.length;
    return inputs.map((_, k) => y.slice(k * per, (k + 1) * per));
  };
  t.deepEqual(outputs('--stateful'), goldens[0].expected);
  const run = createExecutor(importTflite(lstmCaseModel(c)));
  t.deepEqual(
    outputs(),
    inputs.map((x) => (run.reset(), values(run([x])[0]))),
  );
});
