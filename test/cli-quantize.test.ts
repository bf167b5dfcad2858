import test from 'ava';
import { missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importTflite } from '../src/import/tflite.ts';
import { readNpy } from '../src/npy/npy.ts';

const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));
const oracle = fileURLToPath(new URL('../../shared/oracles/hello_world_float/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'edgec-quantize-'));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [edgec, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

testWhere([missingTool(...TARGET_TOOLS.qemu)], 'hello_world_float quantized by edgec stays within 0.08 of the float sine, on the reference and in QEMU', (t) => {
  const model = join(scratch, 'q.tflite');
  const q = run('quantize', join(oracle, 'model.tflite'), '--calib', join(oracle, 'input.npy'), '-o', model);
  t.is(q.code, 0, q.stderr);
  t.regex(q.stdout, /calibrated on 256 sample\(s\)/);
  t.regex(q.stdout, /SQNR dB/);
  const graph = importTflite(readFileSync(model), 'q.tflite');
  t.true(graph.ops.every((op) => graph.tensors[op.outputs[0]].dtype === 'int8'));

  const expected = readNpy(readFileSync(join(oracle, 'output.npy'))).data as Float32Array;
  const outputs: Float32Array[] = [];
  for (const target of ['ref', 'qemu']) {
    const out = join(scratch, `${target}.npy`);
    const r = run('run', model, '--input', join(oracle, 'input.npy'), '--dequantize', '--target', target, '--output', out);
    t.is(r.code, 0, r.stderr);
    const got = readNpy(readFileSync(out));
    t.is(got.dtype, 'float32');
    const data = got.data as Float32Array;
    const maxError = Math.max(...Array.from(data, (v, i) => Math.abs(v - expected[i])));
    t.true(maxError < 0.08, `${target}: max error ${maxError}`);
    outputs.push(data);
  }
  t.deepEqual(outputs[1], outputs[0], 'QEMU gives the same int8 answers as the reference');
});

test('calibration mistakes are usage or data errors', (t) => {
  const model = join(oracle, 'model.tflite');
  t.is(run('quantize', model, '-o', join(scratch, 'x.tflite')).code, 2);
  t.is(run('quantize', model, '--calib', join(oracle, 'input.npy'), '-o', join(scratch, 'x.tflite'), '--observer', 'best').code, 2);
  t.is(run('build', model, '--board', 'stm32f4', '-o', join(scratch, 'b'), '--observer', 'mse').code, 2);
  const wrong = run('quantize', model, '--calib', fileURLToPath(new URL('../../shared/oracles/person_detect/input.npy', import.meta.url)), '-o', join(scratch, 'x.tflite'));
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /^edgec: error: /);
  const int8 = run('quantize', fileURLToPath(new URL('../../shared/oracles/hello_world_int8/model.tflite', import.meta.url)), '--calib', join(oracle, 'input.npy'), '-o', join(scratch, 'x.tflite'));
  t.is(int8.code, 2);
  t.regex(int8.stderr, /already quantized/);
});
