// The generated C of every oracle model, on every target, against TensorFlow Lite Micro's outputs.

import test from 'ava';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateC } from '../src/codegen/generate.ts';
import { kernelEmitter } from '../src/codegen/ops/index.ts';
import { codegenTarget } from '../src/codegen/target.ts';
import { dataBytes } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import { loadModel } from '../src/import/index.ts';
import { readNpy } from '../src/npy/npy.ts';
import { splitSamples, stackOutputs } from '../src/samples.ts';
import { buildForBoard } from '../src/targets/build.ts';
import { runOnTarget } from '../src/targets/run.ts';
import { GraphBuilder, quant } from './helpers/op-graphs.ts';

const oracles = fileURLToPath(new URL('../../shared/oracles/', import.meta.url));

/** TensorFlow Lite Micro's smallest arena for each model (shared/oracles/README.md). */
const TFLM_ARENA: Record<string, number> = { hello_world_int8: 1156, hello_world_float: 1068, micro_speech: 6836, person_detect: 82316 };

async function oracle(name: string) {
  const graph = await loadModel(join(oracles, name, 'model.tflite'));
  const samples = splitSamples(graph, [readNpy(readFileSync(join(oracles, name, 'input.npy')))], ['input.npy']);
  const expected = readNpy(readFileSync(join(oracles, name, 'output.npy')));
  return { graph, samples, expected: Buffer.from(dataBytes(expected.data)) };
}

for (const name of Object.keys(TFLM_ARENA)) {
  for (const target of ['host', 'wasm', 'qemu']) {
    testWhere([missingTool(...TARGET_TOOLS[target])], `${name} on ${target} reproduces TensorFlow Lite Micro byte for byte`, async (t) => {
      const { graph, samples, expected } = await oracle(name);
      // The host build runs under AddressSanitizer and UndefinedBehaviorSanitizer.
      const run = await runOnTarget(graph, target, samples, { board: 'stm32f4', sanitize: target === 'host' });
      t.deepEqual(Buffer.from(dataBytes(stackOutputs(graph, run.outputs)[0].data)), expected);
      if (target === 'qemu') {
        t.is(run.cycles?.length, samples.length);
        t.true(run.cycles!.every((c) => c > 0));
      }
    });
  }

  test(`${name}: the arena is smaller than TensorFlow Lite Micro's and the C is reproducible`, async (t) => {
    const { graph } = await oracle(name);
    const generate = () => generateC(graph, { target: codegenTarget('cortex-m4'), emitter: kernelEmitter });
    const first = generate();
    t.true(first.plan.arenaBytes < TFLM_ARENA[name], `${first.plan.arenaBytes} vs ${TFLM_ARENA[name]}`);
    const second = generate();
    t.deepEqual([...second.files.entries()], [...first.files.entries()]);
  });
}

// The Cortex-M7 of drone flight controllers: int8 on its DSP extension, float on its double-precision FPU.
for (const name of ['person_detect', 'hello_world_float']) {
  testWhere([missingTool(...TARGET_TOOLS.qemu)], `${name} on the Cortex-M7 board (mps2-an500 in QEMU) reproduces TensorFlow Lite Micro byte for byte`, async (t) => {
    const { graph, samples, expected } = await oracle(name);
    const run = await runOnTarget(graph, 'qemu', samples, { board: 'mps2-an500' });
    t.deepEqual(Buffer.from(dataBytes(stackOutputs(graph, run.outputs)[0].data)), expected);
    t.true(run.cycles!.every((c) => c > 0));
  });
}

testWhere([missingTool('arm-none-eabi-gcc')], 'edgec build writes a folder that plain make rebuilds into the same firmware', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgec-make-'));
  const model = join(oracles, 'hello_world_int8', 'model.tflite');
  const { report, firmware } = await buildForBoard(await loadModel(model), 'stm32f4', dir);
  t.true(report.flash.total < report.flash.capacity && report.ram.arena > 0 && report.ram.stack > 0);
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).flash, report.flash);
  const built = readFileSync(firmware.bin);
  const make = spawnSync('make', ['-C', dir, '-s', 'clean', 'all'], { encoding: 'utf8' });
  t.is(make.status, 0, make.stderr);
  t.deepEqual(readFileSync(firmware.bin), built);
});

testWhere([missingTool('arm-none-eabi-gcc')], 'built-in samples count as test data, not code: the code figure does not grow with them', async (t) => {
  const graph = await loadModel(join(oracles, 'micro_speech', 'model.tflite'));
  const sample = () => [new Int8Array(1960).fill(3)];
  const build = (count: number) => buildForBoard(graph, 'stm32f4', mkdtempSync(join(tmpdir(), 'edgec-testdata-')), { samples: Array.from({ length: count }, sample) });
  const [one, three] = [(await build(1)).report.flash, (await build(3)).report.flash];
  t.is(one.testData, 1960);
  t.is(three.testData, 3 * 1960);
  // The runner's loop over one sample compiles a little differently from a loop over three.
  t.true(Math.abs(three.code - one.code) <= 128, `code ${one.code} with one sample, ${three.code} with three`);
  t.is(three.total, three.code + three.weights + three.testData);
});

test('a model that does not fit the board fails before compiling, naming the layer', async (t) => {
  const g = new GraphBuilder();
  const x = g.input([1, 160, 160, 3], 'int8', quant(0.1, 0));
  g.op('relu6', {}, [x], [1, 160, 160, 3], 'int8', quant(0.1, 0));
  const big = g.graph('big');
  const error = await t.throwsAsync(buildForBoard(big, 'stm32f4', mkdtempSync(join(tmpdir(), 'edgec-big-'))), { instanceOf: EdgecError });
  t.is(error!.kind, 'model');
  t.regex(error!.message, /does not fit stm32f4: the activation arena needs 153600 bytes/);
  t.regex(error!.details.join('\n'), /op 0 \(relu6\)/);
});
