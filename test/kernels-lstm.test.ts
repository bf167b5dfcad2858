// The generated C of UNIDIRECTIONAL_SEQUENCE_LSTM against the host reference (itself checked
// against TensorFlow Lite Micro in ref-lstm.test.ts): on the host under AddressSanitizer and
// UndefinedBehaviorSanitizer (the portable path), in WebAssembly, and in QEMU on a Cortex-M4 (the
// DSP path), with the state carried from one invoke to the next and cleared by <model>_reset().

import test from 'ava';
import { generateC } from '../src/codegen/generate.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import { codegenTarget } from '../src/codegen/target.ts';
import { importTflite } from '../src/import/tflite.ts';
import { dataBytes } from '../src/ir/dtype.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { LSTM_CASES, type LstmCase, lstmCaseInputs, lstmCaseModel } from './helpers/lstm-models.ts';
import { sideBySide } from './helpers/side-by-side.ts';
import { missingTool } from './helpers/tools.ts';

/** Several cases side by side in one graph (inputs and outputs in case order): one build runs them all. */
function lstmCases(dtype: LstmCase['dtype']): { graph: Graph; samples: TensorData[][] } {
  const cases = LSTM_CASES.filter((c) => c.dtype === dtype);
  const graph = sideBySide(`lstm_${dtype}`, cases.map((c) => importTflite(lstmCaseModel(c))));
  // Three samples: each case's first two inputs, then its first again.
  const inputs = cases.map(lstmCaseInputs);
  const samples = [0, 1, 0].map((k) => inputs.map((list) => list[k]));
  return { graph, samples };
}

const bytes = (outputs: TensorData[][]) => outputs.map((sample) => sample.map((o) => Buffer.from(dataBytes(o))));

for (const dtype of ['int8', 'int16', 'float32'] as const) {
  for (const target of ['host', 'wasm', 'qemu'] as const) {
    const tool = target === 'host' ? missingTool('cc') : target === 'wasm' ? missingTool('emcc') : missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
    (tool ? test.skip : test)(`${dtype} LSTMs on ${target} = the reference, state carried and reset${tool ? ` (skipped: ${tool})` : ''}`, async (t) => {
      const { graph, samples } = lstmCases(dtype);
      for (const stateful of [true, false]) {
        const want = await runOnTarget(graph, 'ref', samples, { stateful });
        const got = await runOnTarget(graph, target, samples, { stateful, sanitize: target === 'host', board: 'stm32f4' });
        t.deepEqual(bytes(got.outputs), bytes(want.outputs), stateful ? 'stateful' : 'reset before each sample');
        const [first, , again] = bytes(want.outputs);
        // With the state cleared the first sample's output comes back; carried, it does not.
        if (stateful) t.notDeepEqual(again, first);
        else t.deepEqual(again, first);
      }
    });
  }
}

test('the state lives outside the arena: the plan counts it and the generated code clears it in reset', (t) => {
  const { graph } = lstmCases('int8');
  const model = generateC(graph, { target: codegenTarget('cortex-m4'), emitter: kernelEmitter });
  const cases = LSTM_CASES.filter((c) => c.dtype === 'int8');
  // int8 hidden state and int16 cell state per sequence and unit.
  t.is(model.plan.stateBytes, cases.reduce((n, c) => n + 3 * c.batch * c.units, 0));
  const header = model.files.get(`${model.prefix}.h`)!;
  const source = model.files.get(`${model.prefix}.c`)!;
  t.regex(header, new RegExp(`#define LSTM_INT8_STATE_BYTES ${model.plan.stateBytes}\\b`));
  t.regex(header, /void lstm_int8_reset\(void\);/);
  t.regex(source, /static int8_t lstm_int8_op0_hidden\[5\] = \{/);
  t.regex(source, /memset\(lstm_int8_op0_hidden, -5, sizeof lstm_int8_op0_hidden\);/);
  t.regex(source, /memset\(lstm_int8_op0_cell, 0, sizeof lstm_int8_op0_cell\);/);
  t.false(/lstm_int8_arena\[[^\]]*\]\s*,\s*lstm_int8_op0_hidden/.test(source));
});
