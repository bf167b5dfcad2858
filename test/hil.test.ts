// The HIL harness end to end: the Fashion-MNIST example built with the HIL agent, booted in QEMU,
// and test images streamed to it, cleanly and through a proxy that damages the link. Every case
// must end with every sample answered once and bit-exact with the host reference, or with a clear
// error once the retry budget is spent; never a wrong result.

import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFashionMnist, writeFashionMnistNpy } from '../examples/fashion-mnist/data.ts';
import { int8Samples, quantizedExample } from '../examples/fashion-mnist/evaluate.ts';
import type { LinkOptions } from '../src/device/hil-link.ts';
import { startEmulatedBoard } from '../src/device/qemu-board.ts';
import { dataBytes } from '../src/ir/dtype.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { executeGraph } from '../src/ref/execute.ts';
import { buildForBoard, type BuildResult } from '../src/targets/build.ts';
import { runOnBoard } from '../src/targets/hil.ts';
import { loadBoard } from '../src/toolchain/index.ts';
import { missingFashionMnist, missingTool } from './helpers/tools.ts';
import { faultProxy, type Faults } from './helpers/fault-proxy.ts';

/** Samples per fault case; EDGEC_HIL_SAMPLES=1000 runs the full check. */
const SAMPLES = Number(process.env.EDGEC_HIL_SAMPLES ?? 100);
const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));

const missing = () => missingTool('arm-none-eabi-gcc', 'qemu-system-arm') ?? missingFashionMnist();

interface Fixture {
  graph: Graph;
  build: BuildResult;
  dir: string;
  samples: TensorData[][];
  reference: Uint8Array[];
}

let fixture: Promise<Fixture> | undefined;
function setup(): Promise<Fixture> {
  fixture ??= (async () => {
    const work = mkdtempSync(join(tmpdir(), 'edgec-hil-'));
    const { graph } = await quantizedExample(work);
    const dir = join(work, 'build');
    const build = await buildForBoard(graph, 'stm32f4', dir, { firmware: 'hil' });
    const samples = int8Samples(graph, loadFashionMnist('test', { limit: SAMPLES }).images, SAMPLES);
    const reference = samples.map((s) => Uint8Array.from(dataBytes(executeGraph(graph, s)[0])));
    return { graph, build, dir, samples, reference };
  })();
  return fixture;
}

async function streamThrough(faults: Faults | null, link: LinkOptions = {}) {
  const { graph, build, samples, reference } = await setup();
  const board = startEmulatedBoard(loadBoard('stm32f4'), build.firmware.elf);
  const transport = faults ? faultProxy(board, faults) : board;
  try {
    const run = await runOnBoard(transport, graph, samples, { ...link, modelHash: build.report.modelHash });
    const exact = run.outputs.filter((o, i) => Buffer.from(dataBytes(o[0])).equals(reference[i])).length;
    return { run, exact, counts: 'counts' in transport ? transport.counts : null };
  } finally {
    await transport.close();
  }
}

const why = missing();
const qemuTest = why === null ? test.serial : test.skip;
const suffix = why === null ? '' : ` (skipped: ${why})`;

qemuTest(`${SAMPLES} images over a clean link: every answer bit-exact, no frame damaged${suffix}`, async (t) => {
  const { run, exact } = await streamThrough(null);
  t.is(run.outputs.length, SAMPLES);
  t.is(exact, SAMPLES);
  // Nothing damaged on the way. (A wait can still run out on a machine busy enough to stall QEMU
  // for seconds; the resend that follows is then answered twice, and one answer is stale.)
  t.is(run.stats.badFrames, 0);
  t.is(run.stats.boardErrors, 0);
  t.is(run.stats.resets, 0);
  t.true(run.stats.staleAnswers <= run.stats.timeouts);
  // The example's 132,160 MACs take more than half as many instructions, and every image about the same.
  const [least, most] = [Math.min(...run.cycles), Math.max(...run.cycles)];
  t.true(least > 132_160 / 2 && most < 1.01 * least, `cycles ${least}..${most}`);
  t.is(run.hello.board, 'stm32f4');
  t.is(run.hello.cyclesSource, 'tim2');
});

// Rates per byte. A 821-byte frame is damaged with chance 1 - (1 - rate)^821: about 24% at 1/3000,
// 19% with the four faults at 1/16000 each. The link sends a sample at most 8 times, so a rate
// much higher than these would make the test meet the retry budget (a clear error, not a wrong
// answer, but not what these cases check).
const CASES: [string, Faults, (c: ReturnType<typeof faultProxy>['counts']) => number][] = [
  ['dropped bytes', { seed: 1, drop: 1 / 3000 }, (c) => c.dropped],
  ['corrupted bytes', { seed: 2, corrupt: 1 / 3000 }, (c) => c.corrupted],
  ['duplicated bytes', { seed: 3, duplicate: 1 / 3000 }, (c) => c.duplicated],
  ['inserted garbage', { seed: 4, insert: 1 / 3000 }, (c) => c.inserted],
  ['resets in mid-frame', { seed: 5, resetEvery: 12 }, (c) => c.resets],
  ['all of them at once', { seed: 6, drop: 1 / 16000, corrupt: 1 / 16000, duplicate: 1 / 16000, insert: 1 / 16000, resetEvery: 30 }, (c) => c.dropped + c.corrupted + c.duplicated + c.inserted + c.resets],
];

for (const [name, faults, injected] of CASES) {
  qemuTest(`${name}: every image answered once and bit-exact${suffix}`, async (t) => {
    const { run, exact, counts } = await streamThrough(faults);
    t.log(JSON.stringify({ injected: counts, recovered: run.stats }));
    t.true(injected(counts!) > 0, 'the proxy injected no fault: the case tests nothing');
    t.true(run.stats.resends > 0, 'the link never had to resend');
    t.is(run.outputs.length, SAMPLES);
    t.is(exact, SAMPLES);
  });
}

qemuTest(`a board that goes silent ends in a clear error after the retry budget, not a wrong result${suffix}`, async (t) => {
  const error = await t.throwsAsync(streamThrough({ seed: 7, silentAfter: 5 }, { attempts: 4 }), { instanceOf: EdgecError });
  t.is(error!.kind, 'tool');
  t.regex(error!.message, /sample 4: no good answer after 4 sends; the board may have hung/);
  t.regex(error!.details.join('\n'), /no answer within \d+ ms/);
});

qemuTest(`a board running another model is refused before any sample${suffix}`, async (t) => {
  const { graph, build, samples } = await setup();
  const board = startEmulatedBoard(loadBoard('stm32f4'), build.firmware.elf);
  try {
    const error = await t.throwsAsync(runOnBoard(board, graph, samples, { modelHash: '0123456789abcdef' }), { instanceOf: EdgecError });
    t.regex(error!.message, new RegExp(`runs model .* \\(hash ${build.report.modelHash}\\), not this build's .* \\(hash 0123456789abcdef\\)`));
  } finally {
    await board.close();
  }
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [edgec, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

qemuTest(`edgec hil --qemu: table, JSON and JUnit; exit 0 when all agree${suffix}`, async (t) => {
  const { dir } = await setup();
  const images = join(dir, 'x.npy');
  const labels = join(dir, 'y.npy');
  writeFashionMnistNpy(loadFashionMnist('test', { limit: 20 }), images, labels);
  const json = join(dir, 'hil.json');
  const junit = join(dir, 'hil.xml');
  const r = cli('hil', dir, '--qemu', '--data', images, '--labels', labels, '--json', json, '--junit', junit);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /bit-exact with the host int8 reference\s+20\/20/);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  t.is(report.samples, 20);
  t.is(report.agreement.bitExact, 20);
  t.is(report.agreement.total, 20);
  t.is(report.accuracy, report.referenceAccuracy);
  t.true(report.accuracy > 0.5 && report.accuracy <= 1);
  t.true(report.cycles.min > 0 && report.cycles.min <= report.cycles.median && report.cycles.median <= report.cycles.max);
  const xml = readFileSync(junit, 'utf8');
  t.is(xml.match(/<testcase /g)?.length, 20);
  t.regex(xml, /<testsuite name="edgec hil [^"]+" tests="20" failures="0"/);
});

qemuTest(`edgec hil exits 1 and names the first mismatch when the board computes something else${suffix}`, async (t) => {
  const { dir } = await setup();
  // Another folder built the same way, whose firmware is then rebuilt from one altered weight:
  // same model file and hash, different arithmetic on the board.
  const tampered = mkdtempSync(join(tmpdir(), 'edgec-hil-tampered-'));
  const { graph } = await setup();
  await buildForBoard(graph, 'stm32f4', tampered, { firmware: 'hil' });
  const weights = join(tampered, `${(await setup()).build.model.prefix}_weights.c`);
  const source = readFileSync(weights, 'utf8');
  // The last layer's first bias, raised far enough to change the answer of most images.
  const at = source.indexOf('{', source.lastIndexOf('_bias['));
  const altered = source.slice(0, at) + source.slice(at).replace(/-?\d+/, (first) => String(Number(first) + 100_000));
  t.not(altered, source);
  writeFileSync(weights, altered);
  const make = spawnSync('make', ['-C', tampered, '-s'], { encoding: 'utf8' });
  t.is(make.status, 0, make.stderr);
  const images = join(dir, 'x.npy');
  writeFashionMnistNpy(loadFashionMnist('test', { limit: 20 }), images, join(tampered, 'y.npy'));
  const junit = join(tampered, 'hil.xml');
  const r = cli('hil', tampered, '--qemu', '--data', images, '--junit', junit);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /first mismatch\s+sample \d+, output 0\[\d\]: board -?\d+, reference -?\d+/);
  t.regex(readFileSync(junit, 'utf8'), /<failure message="output 0\[\d\]: board -?\d+, host reference -?\d+"/);
});

qemuTest(`edgec hil refuses a build that does not speak the protocol${suffix}`, async (t) => {
  const plain = mkdtempSync(join(tmpdir(), 'edgec-hil-plain-'));
  const { graph } = await setup();
  await buildForBoard(graph, 'stm32f4', plain);
  const r = cli('hil', plain, '--qemu', '--data', join(plain, 'none.npy'));
  t.is(r.code, 2);
  t.regex(r.stderr, /holds a 'samples' firmware, which does not speak the HIL protocol: rebuild it with edgec build --hil/);
});

qemuTest(`edgec hil --port talks to the board through a serial port: the emulated board's pty${suffix}`, async (t) => {
  const { dir } = await setup();
  const images = join(dir, 'x-port.npy');
  writeFashionMnistNpy(loadFashionMnist('test', { limit: 10 }), images, join(dir, 'y-port.npy'));
  const link = join(mkdtempSync(join(tmpdir(), 'edgec-hil-pty-')), 'board');
  const emulate = spawn(process.execPath, [edgec, 'emulate', dir, '--pty', link], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => emulate.kill('SIGTERM'));
  await new Promise<void>((resolve, reject) => {
    emulate.stdout.on('data', () => existsSync(link) && resolve());
    emulate.on('exit', (code) => reject(new Error(`edgec emulate ended with ${code}`)));
  });
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const hil = spawn(process.execPath, [edgec, 'hil', dir, '--port', link, '--data', images], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    hil.stdout.on('data', (b) => (stdout += b));
    hil.stderr.on('data', (b) => (stderr += b));
    hil.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`via ${link.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  t.regex(r.stdout, /bit-exact with the host int8 reference\s+10\/10/);
});
