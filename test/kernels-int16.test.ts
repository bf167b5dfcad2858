// The generated C of the int16 cases (SVDF with its state, int16 softmax output, requantization
// from int16, int16 ADD, 16x8 fully connected, conv and depthwise conv) against TensorFlow Lite Micro's outputs (fixtures/kernels/int16.json): on the host
// under AddressSanitizer and UndefinedBehaviorSanitizer (the portable path), in WebAssembly, and
// in QEMU on a Cortex-M4 (the DSP path), the SVDF state carried and cleared by <model>_reset().

import test from 'ava';
import { readFileSync } from 'node:fs';
import { generateC } from '../src/codegen/generate.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import { codegenTarget } from '../src/codegen/target.ts';
import { importTflite } from '../src/import/tflite.ts';
import type { TensorData } from '../src/ir/types.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { INT16_CASES, int16CaseInputs, int16CaseModel } from './helpers/int16-models.ts';
import { sideBySide } from './helpers/side-by-side.ts';
import { missingTool } from './helpers/tools.ts';
import type { Int16Golden } from './ref-int16.test.ts';

const goldens = (JSON.parse(readFileSync(new URL('./fixtures/kernels/int16.json', import.meta.url), 'utf8')) as { cases: Int16Golden[] }).cases;

/** Every case side by side in one graph: one build runs them all. */
const allCases = () => sideBySide('int16_cases', INT16_CASES.map((c) => importTflite(int16CaseModel(c))));

const inputs = INT16_CASES.map(int16CaseInputs);
const sample = (k: number): TensorData[] => inputs.map((list) => list[k]);
const values = (outputs: TensorData[][]) => outputs.map((s) => s.map((o) => Array.from(o as ArrayLike<number>)));

for (const target of ['host', 'wasm', 'qemu'] as const) {
  const tool = target === 'host' ? missingTool('cc') : target === 'wasm' ? missingTool('emcc') : missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
  (tool ? test.skip : test)(`int16 cases on ${target} = TensorFlow Lite Micro, state carried and reset${tool ? ` (skipped: ${tool})` : ''}`, async (t) => {
    const graph = allCases();
    const options = { sanitize: target === 'host', board: 'stm32f4' };
    const carried = await runOnTarget(graph, target, [sample(0), sample(1)], { ...options, stateful: true });
    t.deepEqual(values(carried.outputs), [0, 1].map((k) => goldens.map((g) => g.expected[k])), 'two invokes, state carried');
    const fresh = await runOnTarget(graph, target, [sample(0), sample(0)], { ...options, stateful: false });
    t.deepEqual(values(fresh.outputs), [0, 1].map(() => goldens.map((g) => g.afterReset)), 'each sample from cleared state');
  });
}

test('the SVDF state lives outside the arena as int16 rows: the plan counts it and reset clears it', (t) => {
  const graph = allCases();
  const model = generateC(graph, { target: codegenTarget('cortex-m4'), emitter: kernelEmitter });
  const svdf = INT16_CASES.flatMap((c) => (c.kind === 'svdf' ? [c] : []));
  t.is(model.plan.stateBytes, svdf.reduce((n, c) => n + 2 * c.batch * c.units * c.rank * c.memory, 0));
  const source = model.files.get(`${model.prefix}.c`)!;
  t.regex(source, /static int16_t int16_cases_op0_state\[20\];/);
  t.regex(source, /memset\(int16_cases_op0_state, 0, sizeof int16_cases_op0_state\);/);
  // The int8 state resets to its zero point, widened.
  t.regex(source, /static int16_t int16_cases_op3_state\[12\] = \{\n\s+-50, -50,/);
  t.regex(source, /int16_cases_op3_state\[i\] = -50;/);
  t.regex(source, /ec_softmax_s8_s16\(/);
  t.regex(source, /ec_requantize_s16_s32\(/);
});
