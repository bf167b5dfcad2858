// edgec profile: per-op cycles from a profiling build in QEMU. The ops add up to the whole
// inference within the counter reads, outputs stay bit-exact, and normal builds carry no
// profiling code at all.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { generateForBoard } from '../src/targets/build.ts';
import { loadModel } from '../src/import/index.ts';
import { writeNpy } from '../src/npy/npy.ts';
import { loadBoard } from '../src/toolchain/index.ts';
import { runEdgec } from './helpers/cli.ts';
import { missingTool } from './helpers/tools.ts';

const oracle = (name: string) => fileURLToPath(new URL(`../../shared/oracles/${name}/model.tflite`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'edgec-profile-test-'));

const run = runEdgec;

test('a normal build has no counter reads; a profiling build has one after every op', async (t) => {
  const graph = await loadModel(oracle('micro_speech'));
  const board = loadBoard('stm32f4');
  const plain = generateForBoard(graph, board);
  const profiled = generateForBoard(graph, board, true);
  const source = (m: typeof plain) => m.files.get(`${m.prefix}.c`)!;
  t.false(/board_cycles|layer_cycles/.test(source(plain)));
  t.is(source(profiled).match(/_layer_done\(\d+\);/g)?.length, graph.ops.length);
  t.regex(profiled.files.get(`${profiled.prefix}.h`)!, new RegExp(`_PROFILED_LAYERS ${graph.ops.length}\\b`));
});

interface ProfileJson {
  samples: number;
  inference: number;
  layersTotal: number;
  overhead: number;
  bitExact: number;
  layers: { op: number; kind: string; kernel: string; macs: number; cycles: number; macsPerCycle: number; share: number }[];
}

const missing = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missing !== null) {
  test.skip(`edgec profile in QEMU (skipped: ${missing})`, () => {});
} else {
  test('edgec profile on person_detect: the ops add up to the whole inference within the counter reads', async (t) => {
    const dir = join(work, 'person_detect');
    const built = await run('build', oracle('person_detect'), '--board', 'stm32f4', '--profile', '-o', dir);
    t.is(built.code, 0, built.stderr);
    const json = join(work, 'person_detect.json');
    const r = await run('profile', dir, '--qemu', '--json', json);
    t.is(r.code, 0, r.stderr);
    const p = JSON.parse(readFileSync(json, 'utf8')) as ProfileJson;
    t.is(p.layers.length, 31);
    t.is(p.bitExact, 1);
    t.is(p.layersTotal, p.layers.reduce((n, l) => n + l.cycles, 0));
    // One counter read per op and one before the first: a few dozen instructions each at most.
    t.true(p.overhead >= 0 && p.overhead <= 40 * (p.layers.length + 1), `overhead ${p.overhead}`);
    t.true(p.layers.every((l) => l.cycles > 0));
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { ops: { kernel: string }[] };
    t.deepEqual(p.layers.map((l) => l.kernel), report.ops.map((o) => o.kernel));
    t.true(p.layers.some((l) => l.kernel.startsWith('ec_depthwise_conv2d')));
    t.true(Math.abs(p.layers.reduce((s, l) => s + l.share, 0) - 1) < 1e-9);
    t.regex(r.stdout, /op\s+kind\s+kernel\s+MACs\s+instructions\s+MACs\/instr\s+share/);
    t.regex(r.stdout, /sum over the ops: [\d,]+; whole inference: [\d,]+/);
    t.log(r.stdout.split('\n').slice(-4).join('\n'));
  });

  test('edgec profile --qemu on a normal build profiles a copy; --port needs a profiling build; samples from --data', async (t) => {
    const dir = join(work, 'micro_speech');
    const built = await run('build', oracle('micro_speech'), '--board', 'stm32f4', '--hil', '-o', dir);
    t.is(built.code, 0, built.stderr);
    const data = join(work, 'micro_speech_x.npy');
    const samples = new Int8Array(3 * 1960).map((_, i) => ((i * 37) % 256) - 128);
    writeFileSync(data, writeNpy({ dtype: 'int8', shape: [3, 1, 1960], data: samples }));
    const r = await run('profile', dir, '--qemu', '--data', data);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /median over 3 sample\(s\)/);
    t.regex(r.stdout, /bit-exact with the host int8 reference: 3\/3/);
    t.false(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).profile === true, 'the build folder is left as it was');
    const port = await run('profile', dir, '--port', join(work, 'no-such-port'));
    t.is(port.code, 2);
    t.regex(port.stderr, /not a profiling build: build one with edgec build .* --profile/);
    const neither = await run('profile', dir);
    t.is(neither.code, 2);
    const mlperf = await run('build', oracle('micro_speech'), '--board', 'stm32f4', '--hil', 'mlperf-tiny', '--profile', '-o', join(work, 'x'));
    t.is(mlperf.code, 2);
    t.regex(mlperf.stderr, /--profile builds the HIL agent/);
  });
}
