// Mistakes a new user makes, each answered by a message that says what to do and exit 1 or 2,
// never an internal error with a stack trace.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { writeNpy } from '../src/npy/npy.ts';
import { writeModelFile } from '../src/targets/build.ts';
import { GraphBuilder } from './helpers/op-graphs.ts';

const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));
const oracle = (name: string, file = 'model.tflite') => fileURLToPath(new URL(`../../shared/oracles/${name}/${file}`, import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'edgec-mistakes-'));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [edgec, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const clean = (t: import('ava').ExecutionContext, r: ReturnType<typeof run>) => {
  t.regex(r.stderr, /^edgec: error: /);
  t.notRegex(r.stderr, /internal error|\n\s+at /);
};

test('build -o naming a file is a usage error; quantize -o naming a folder says so', (t) => {
  const file = join(scratch, 'existing.txt');
  writeFileSync(file, 'mine');
  const build = run('build', oracle('hello_world_int8'), '--board', 'stm32f4', '-o', file);
  t.is(build.code, 2);
  clean(t, build);
  t.regex(build.stderr, /existing\.txt is a file: give -o a folder/);
  const folder = join(scratch, 'a-folder');
  mkdirSync(folder);
  const quantize = run('quantize', oracle('hello_world_float'), '--calib', oracle('hello_world_float', 'input.npy'), '-o', folder);
  t.is(quantize.code, 1);
  clean(t, quantize);
  t.regex(quantize.stderr, /a-folder: is a folder, a file is needed \(EISDIR\)/);
});

test('float input holding NaN or infinity is refused for an int8 model, naming the sample and the value', (t) => {
  const data = new Float32Array(5).fill(0.5);
  data[3] = Number.NaN;
  const path = join(scratch, 'nan.npy');
  writeFileSync(path, writeNpy({ dtype: 'float32', shape: [5, 1], data }));
  const r = run('run', oracle('hello_world_int8'), '--input', path);
  t.is(r.code, 1);
  clean(t, r);
  t.regex(r.stderr, /nan\.npy: holds NaN \(sample 3, value 0\); an int8 input quantizes only finite numbers/);
  data[3] = 0.5;
  data[1] = -Infinity;
  writeFileSync(path, writeNpy({ dtype: 'float32', shape: [5, 1], data }));
  t.regex(run('run', oracle('hello_world_int8'), '--input', path).stderr, /holds -Infinity \(sample 1, value 0\)/);
});

test('a float model too large for the board is refused with the hint that --calib makes it int8', async (t) => {
  // 128 KiB of float32 in and as much out: more than stm32f4's RAM, a quarter of it in int8.
  const g = new GraphBuilder();
  const x = g.input([1, 64, 64, 8], 'float32');
  g.op('max_pool2d', { filter: [1, 1], stride: [1, 1], padding: 'valid', activation: 'none' }, [x], [1, 64, 64, 8], 'float32');
  const model = join(scratch, 'big-float.tflite');
  await writeModelFile(g.graph('big_float'), model);
  const r = run('build', model, '--board', 'stm32f4', '-o', join(scratch, 'big'));
  t.is(r.code, 1);
  clean(t, r);
  t.regex(r.stderr, /does not fit stm32f4: the activation arena needs [\d]+ bytes/);
  t.regex(r.stderr, /the model is float32: --calib <data> quantizes it to int8/);
});
