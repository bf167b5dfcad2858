// --json on every verb that prints results: the JSON alone on stdout (so that it parses as a
// whole), progress on stderr, and the same figures as the text.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../src/npy/npy.ts';
import { runEdgec } from './helpers/cli.ts';
import { missingTool } from './helpers/tools.ts';

const oracle = (name: string, file: string) => new URL(`../../shared/oracles/${name}/${file}`, import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'edgec-cli-json-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** Runs edgec, checks it succeeded, and parses all of stdout as JSON. */
async function json<T>(t: { is(a: unknown, b: unknown, m?: string): void }, ...args: string[]): Promise<T> {
  const r = await runEdgec(...args);
  t.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

interface RunJson {
  model: string;
  target: string;
  samples: number;
  outputs: { name: string; dtype: string; shape: number[]; values?: number[][]; wrote?: string }[];
  instructions?: number[];
}

test('run --json: every sample of every output, the same values --output writes', async (t) => {
  const input = oracle('hello_world_int8', 'input.npy');
  const r = await json<RunJson>(t, 'run', oracle('hello_world_int8', 'model.tflite'), '--input', input, '--json');
  t.like(r, { target: 'ref', samples: 256 });
  t.is(r.instructions, undefined);
  t.is(r.outputs.length, 1);
  const [out] = r.outputs;
  t.deepEqual(out.shape, [256, 1, 1]);
  t.is(out.dtype, 'int8');
  const file = join(work, 'y.npy');
  const written = await json<RunJson>(t, 'run', oracle('hello_world_int8', 'model.tflite'), '--input', input, '--output', file, '--json');
  t.is(written.outputs[0].wrote, file);
  t.is(written.outputs[0].values, undefined);
  t.deepEqual(out.values!.flat(), Array.from(readNpy(readFileSync(file)).data as Int8Array));
  // Exactly TFLite Micro's outputs, as the text form prints them.
  t.deepEqual(out.values!.flat(), Array.from(readNpy(readFileSync(oracle('hello_world_int8', 'output.npy'))).data as Int8Array));
});

test('quantize --json: per-layer errors, the techniques decided, the file written', async (t) => {
  const out = join(work, 'q.tflite');
  const calib = oracle('hello_world_float', 'input.npy');
  const r = await json<{ model: string; samples: number; layers: { op: number; kind: string; cosine: number }[]; ptq: { decisions: unknown[] }; wrote: string }>(
    t, 'quantize', oracle('hello_world_float', 'model.tflite'), '--calib', calib, '-o', out, '--json',
  );
  t.is(r.samples, 256);
  t.is(r.wrote, out);
  t.is(r.layers.length, 3);
  t.true(r.layers.every((l) => l.kind === 'fully_connected' && l.cosine > 0.99));
  t.true(r.ptq.decisions.length > 0);
});

test('--json is refused by emulate, which prints no results', async (t) => {
  const r = await runEdgec('emulate', work, '--json');
  t.is(r.code, 2);
  t.regex(r.stderr, /unknown option '--json'/);
});

const noGcc = missingTool('arm-none-eabi-gcc');
if (noGcc !== null) {
  test.skip(`build --json (skipped: ${noGcc})`, () => {});
} else {
  test('build --json: the report.json figures with the folder, for a firmware and a library', async (t) => {
    const dir = join(work, 'fw');
    const r = await runEdgec('build', oracle('hello_world_int8', 'model.tflite'), '--board', 'stm32f4', '-o', dir, '--json');
    t.is(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as { folder: string; float: boolean; board: string; flash: { total: number } };
    const { folder, float, ...report } = printed;
    t.is(folder, dir);
    t.false(float);
    t.deepEqual(report, JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')));
    const lib = await json<{ format: string; arena: { bytes: number }; sources: string[] }>(
      t, 'build', oracle('hello_world_int8', 'model.tflite'), '--board', 'nrf52840-dk', '--format', 'library', '-o', join(work, 'lib'), '--json',
    );
    t.is(lib.format, 'library');
    t.true(lib.arena.bytes > 0 && lib.sources.length > 0);
  });
}

const noQemu = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (noQemu !== null) {
  test.skip(`hil and profile --json on stdout (skipped: ${noQemu})`, () => {});
} else {
  test('hil --json and profile --json print their reports on stdout; with a .json file they write it', async (t) => {
    const dir = join(work, 'hil');
    const built = await runEdgec('build', oracle('hello_world_int8', 'model.tflite'), '--board', 'stm32f4', '--profile', '-o', dir, '--quiet');
    t.is(built.code, 0, built.stderr);
    const data = oracle('hello_world_int8', 'input.npy');
    const hil = await json<{ samples: number; agreement: { bitExact: number } }>(t, 'hil', dir, '--qemu', '--data', data, '--json');
    t.like(hil, { samples: 256, agreement: { bitExact: 256 } });
    const profile = await json<{ layers: unknown[]; bitExact: number }>(t, 'profile', dir, '--json', '--qemu');
    t.is(profile.layers.length, 3);
    t.is(profile.bitExact, 1);
    const file = join(work, 'profile.json');
    const both = await runEdgec('profile', dir, '--qemu', '--json', file);
    t.is(both.code, 0, both.stderr);
    t.regex(both.stdout, /sum over the ops/);
    t.is((JSON.parse(readFileSync(file, 'utf8')) as { layers: unknown[] }).layers.length, 3);
  });
}
