import test from 'ava';
import { random, randomBelow } from './helpers/random.ts';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy, writeNpy } from '../src/npy/npy.ts';

const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));
const oracles = fileURLToPath(new URL('../../shared/oracles/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'edgec-cli-'));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [edgec, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const model of ['hello_world_int8', 'hello_world_float', 'micro_speech', 'person_detect']) {
  test(`run ${model}: outputs equal TensorFlow Lite Micro's byte for byte`, (t) => {
    const out = join(scratch, `${model}.npy`);
    const r = run('run', join(oracles, model, 'model.tflite'), '--input', join(oracles, model, 'input.npy'), '--output', out);
    t.is(r.code, 0, r.stderr);
    const got = readNpy(readFileSync(out));
    const want = readNpy(readFileSync(join(oracles, model, 'output.npy')));
    t.deepEqual(got.shape, want.shape);
    t.is(got.dtype, want.dtype);
    t.deepEqual(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength), Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength));
  });
}

test('inspect prints every op and the MAC totals of the oracle README', (t) => {
  const expected: Record<string, number> = { hello_world_int8: 288, micro_speech: 336000, person_detect: 7157888 };
  for (const [model, macs] of Object.entries(expected)) {
    const r = run('inspect', join(oracles, model, 'model.tflite'), '--json');
    t.is(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    t.is(json.totals.macs, macs, model);
    const text = run('inspect', join(oracles, model, 'model.tflite')).stdout;
    t.regex(text, new RegExp(`${macs.toLocaleString('en-US')} MACs`));
  }
});

test('run prints outputs when no --output is given', (t) => {
  const r = run('run', join(oracles, 'micro_speech', 'model.tflite'), '--input', join(oracles, 'micro_speech', 'input.npy'));
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^sample 0: -?\d+ -?\d+ -?\d+ -?\d+$/m);
  t.is(r.stdout.trim().split('\n').length, 16);
});

test('usage errors exit 2', (t) => {
  t.is(run().code, 2);
  t.is(run('frobnicate').code, 2);
  t.is(run('inspect').code, 2);
  t.is(run('inspect', 'a.tflite', '--colour').code, 2);
  t.is(run('run', join(oracles, 'micro_speech', 'model.tflite')).code, 2);
  t.is(run('run', join(oracles, 'micro_speech', 'model.tflite'), '--input', 'x.npy', '--target', 'gpu').code, 2);
  t.is(run('inspect', '--help').code, 0);
});

test('problems with the model or data exit 1 with edgec\'s own message, never a stack trace', (t) => {
  const bytes = readFileSync(join(oracles, 'person_detect', 'model.tflite'));
  const cases: [string, Uint8Array][] = [
    ['truncated.tflite', bytes.subarray(0, 5000)],
    ['empty.tflite', new Uint8Array(0)],
    ['text.tflite', new TextEncoder().encode('not a model at all')],
  ];
  // A few mutants through the real command; test/fuzz-tflite.test.ts runs thousands through the library.
  const next = random(7);
  const rand = (n: number) => randomBelow(next, n);
  for (let i = 0; i < 12; i++) {
    const m = Uint8Array.from(bytes);
    for (let k = 0; k < 4; k++) new DataView(m.buffer).setUint32(rand(2000) * 4, rand(2) ? 0xfffffff0 : rand(1 << 30), true);
    cases.push([`mutant${i}.tflite`, m]);
  }
  for (const [name, data] of cases) {
    const path = join(scratch, name);
    writeFileSync(path, data);
    const r = run('inspect', path);
    if (r.code === 0) continue; // a mutation can leave a valid model
    t.is(r.code, 1, `${name}: ${r.stderr}`);
    t.regex(r.stderr, /^edgec: error: /, name);
    t.notRegex(r.stderr, /internal error|\n\s+at /, name);
  }
  const missing = run('inspect', join(scratch, 'nope.tflite'));
  t.is(missing.code, 1);
  t.regex(missing.stderr, /nope\.tflite: cannot read the model file \(ENOENT\)/);
  const badInput = join(scratch, 'bad.npy');
  writeFileSync(badInput, 'garbage');
  const r = run('run', join(oracles, 'micro_speech', 'model.tflite'), '--input', badInput);
  t.is(r.code, 1);
  t.regex(r.stderr, /bad\.npy: not a readable \.npy file/);
  const wrongShape = run('run', join(oracles, 'micro_speech', 'model.tflite'), '--input', join(oracles, 'person_detect', 'input.npy'));
  t.is(wrongShape.code, 1);
  t.regex(wrongShape.stderr, /is not samples of input/);
});

testWhere([missingTool(...TARGET_TOOLS.qemu)], 'build writes a firmware folder that run --target qemu takes, and quantizes a TF.js model with --calib', (t) => {
  const dir = join(scratch, 'hello_build');
  const model = join(oracles, 'hello_world_int8', 'model.tflite');
  const built = run('build', model, '--board', 'stm32f4', '-o', dir);
  t.is(built.code, 0, built.stderr);
  t.regex(built.stdout, /built hello_world_int8 for stm32f4/);
  t.regex(built.stdout, /activation arena/);
  for (const file of ['hello_world_int8.h', 'hello_world_int8.c', 'hello_world_int8_weights.c', 'Makefile', 'hello_world_int8.elf', 'hello_world_int8.bin', 'report.json']) {
    t.notThrows(() => readFileSync(join(dir, file)), file);
  }
  const out = join(scratch, 'hello_qemu.npy');
  const r = run('run', dir, '--input', join(oracles, 'hello_world_int8', 'input.npy'), '--target', 'qemu', '--output', out);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /instructions per inference: median \d/);
  t.deepEqual(readNpy(readFileSync(out)).data, readNpy(readFileSync(join(oracles, 'hello_world_int8', 'output.npy'))).data);

  const calib = join(scratch, 'fashion_calib.npy');
  const images = new Float32Array(20 * 28 * 28).map((_, i) => ((i * 7919) % 256) / 255);
  writeFileSync(calib, writeNpy({ dtype: 'float32', shape: [20, 28, 28, 1], data: images }));
  const fashion = fileURLToPath(new URL('../examples/fashion-mnist/model/model.json', import.meta.url));
  const quantized = run('build', fashion, '--board', 'stm32f4', '-o', join(scratch, 'fashion_build'), '--calib', calib);
  t.is(quantized.code, 0, quantized.stderr);
  t.notRegex(quantized.stdout, /float32/);
  const floatBuild = run('build', fashion, '--board', 'stm32f4', '-o', join(scratch, 'fashion_float'));
  t.is(floatBuild.code, 0, floatBuild.stderr);
  t.regex(floatBuild.stdout, /the model is float32 and no --calib was given/);
});

test('boards lists every board with its CPU, memory and QEMU machine, as a table and as JSON', (t) => {
  const table = run('boards');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /stm32f4\s+cortex-m4\s+fpv4-sp-d16\s+168 MHz\s+1,024 KiB\s+128 KiB\s+netduinoplus2\s+stm32-rom-bootloader/);
  t.regex(table.stdout, /mps2-an500\s+cortex-m7\s+fpv5-d16/);
  t.regex(table.stdout, /nucleo-f767zi\s+cortex-m7\s+fpv5-d16\s+216 MHz\s+2,048 KiB\s+512 KiB\s+none \(build only\)/);
  const json = JSON.parse(run('boards', '--json').stdout) as { name: string; cpu: string; qemu: { machine: string } | null }[];
  t.deepEqual(json.map((b) => b.name), ['mps2-an386', 'mps2-an500', 'nrf52840-dk', 'nucleo-f767zi', 'stm32f4']);
  t.is(json.find((b) => b.name === 'nrf52840-dk')?.qemu, null);
  t.is(json.find((b) => b.name === 'mps2-an500')?.qemu?.machine, 'mps2-an500');
  t.is(run('boards', 'extra').code, 2);
});
