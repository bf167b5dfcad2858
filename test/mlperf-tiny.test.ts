// The MLPerf Tiny device-under-test firmware (hil/mlperf_tiny.c) driven over its serial protocol
// the way the benchmark's host runner drives it: under QEMU on stdio, and through the pty of
// `edgec emulate`. Its results must be the host int8 reference's outputs, dequantized, for every
// input form (kws01: the tensor's bytes; ic01, vww01: uint8 pixels taken as pixel - 128; ad01:
// float32 quantized on the device, scored by reconstruction error); its errors must leave it
// usable; `edgec emulate` must keep its link only while QEMU runs and stop cleanly on SIGTERM.

import test from 'ava';
import { missingFashionMnist, missingTool, testWhere } from './helpers/tools.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SerialPort } from 'serialport';
import { int8Samples, quantizedExample } from '../examples/fashion-mnist/evaluate.ts';
import { loadFashionMnist } from '../examples/fashion-mnist/data.ts';
import { mlperfTinyFiles, type MlperfModel } from '../src/device/mlperf-tiny.ts';
import { EdgecError } from '../src/ir/errors.ts';
import { loadModel } from '../src/import/index.ts';
import type { Graph, TensorData } from '../src/ir/types.ts';
import { affineOf, dequantizeValues, quantizeValues } from '../src/quant/params.ts';
import { executeGraph } from '../src/ref/execute.ts';
import { buildForBoard } from '../src/targets/build.ts';
import { boardsDir, buildFirmware, loadBoard, startQemu, type QemuSession } from '../src/toolchain/index.ts';

const oracles = fileURLToPath(new URL('../../shared/oracles/', import.meta.url));
const edgec = fileURLToPath(new URL('../compiler/edgec.js', import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'edgec-mlperf-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const hello = loadModel(join(oracles, 'hello_world_int8', 'model.tflite'));
const helloFloat = loadModel(join(oracles, 'hello_world_float', 'model.tflite'));
// The example's model, calibrated on fewer images than the example uses: any calibration will do.
const fashion = quantizedExample(join(work, 'fashion'), 100).then((q) => q.graph);

// ---- What the device must print, computed on the host ----

/** The firmware's number format: six decimals, rounded half away from zero from the float's exact value. */
function fixed6(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (Math.abs(v) >= 2 ** 63) return v < 0 ? '-inf' : 'inf';
  return v.toFixed(6);
}

/** Every output of the host reference, as real numbers. */
function hostOutputs(graph: Graph, input: TensorData): number[] {
  const outputs = executeGraph(graph, [input]);
  return outputs.flatMap((data, k) => {
    const tensor = graph.tensors[graph.outputs[k]];
    return Array.from(tensor.quant ? dequantizeValues(data as Int8Array, affineOf(tensor.quant)) : (data as Float32Array));
  });
}

/** ad01's score: mean squared difference between outputs and float input, in float32 step by step. */
function reconstructionError(outputs: number[], input: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < input.length; i++) {
    const d = Math.fround(outputs[i] - input[i]);
    sum = Math.fround(sum + Math.fround(d * d));
  }
  return Math.fround(sum / input.length);
}

const bytesOf = (data: TensorData) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

// ---- Refusals need no toolchain ----

test('a model that cannot take a network\'s input form is refused at build time, with the reason', async (t) => {
  const [float, fashionGraph] = [await helloFloat, await fashion];
  const notInt8 = t.throws(() => mlperfTinyFiles(float, 'ic01'), { instanceOf: EdgecError });
  t.is(notInt8?.kind, 'model');
  t.regex(notInt8?.details.join('\n') ?? '', /input is float32; ic01 feeds an int8 input/);

  const shapes = t.throws(() => mlperfTinyFiles(fashionGraph, 'ad01'), { instanceOf: EdgecError });
  t.regex(shapes?.details.join('\n') ?? '', /outputs have 10 elements and its input 784/);

  const config = mlperfTinyFiles(fashionGraph, 'vww01').find((f) => f.name === 'mlperf_tiny_config.h');
  t.regex(config?.text ?? '', /#define MLPERF_MODEL "vww01"/);
  t.regex(config?.text ?? '', /#define MLPERF_DB_BYTES 784u/);
});

// ---- A client of the protocol, over any byte stream ----

class DutClient {
  private lines: string[] = [];
  private partial = '';
  private wake: (() => void) | null = null;

  constructor(
    private readonly send: (bytes: Uint8Array) => void,
    output: Readable,
  ) {
    output.on('data', (b: Buffer) => {
      const parts = (this.partial + b.toString('latin1')).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts.map((l) => l.replace(/\r$/, '')));
      this.wake?.();
    });
  }

  /** The lines before the next m-ready (which every reply ends with). */
  async reply(what: string, timeoutMs = 20000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.lines.indexOf('m-ready');
      if (at >= 0) return this.lines.splice(0, at + 1).slice(0, at);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no m-ready after ${what}; received ${JSON.stringify([...this.lines, this.partial])}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  command(text: string): Promise<string[]> {
    this.send(Buffer.from(`${text}%`, 'latin1'));
    return this.reply(text);
  }

  /** Sends `name` until its reply comes: a client that opens a pty while the firmware boots also
   *  receives the boot lines, which end with an m-ready of their own. */
  async sync(): Promise<void> {
    let reply = await this.command('name');
    while (!reply.some((l) => l.startsWith('m-name-'))) reply = await this.reply('name');
  }

  /** `db load` and `db` commands of `chunk` bytes each, as the runner sends them; every reply. */
  async load(bytes: Uint8Array, chunk: number): Promise<string[][]> {
    const replies = [await this.command(`db load ${bytes.length}`)];
    for (let at = 0; at < bytes.length; at += chunk) {
      replies.push(await this.command(`db ${Buffer.from(bytes.subarray(at, at + chunk)).toString('hex')}`));
    }
    return replies;
  }

  /** `infer 1 0`: the whole reply and the results it ends with. */
  async infer(): Promise<{ reply: string[]; results: string[] }> {
    const reply = await this.command('infer 1 0');
    const match = /^m-results-\[(.*)\]$/.exec(reply[reply.length - 1] ?? '');
    return { reply, results: match ? match[1].split(',') : [] };
  }
}

const missing = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missing !== null) {
  test.skip(`MLPerf Tiny DUT under QEMU (skipped: ${missing})`, () => {});
} else {
  const board = loadBoard('stm32f4');

  // Two cores: at most two compilers at a time.
  let running = 0;
  const queue: (() => void)[] = [];
  async function limited<T>(job: () => Promise<T>): Promise<T> {
    if (running >= 2) await new Promise<void>((resolve) => queue.push(resolve));
    running++;
    try {
      return await job();
    } finally {
      running--;
      queue.shift()?.();
    }
  }

  /** The build folder of `graph` as `model`'s DUT. */
  const build = (name: string, graph: Promise<Graph>, model: MlperfModel): Promise<string> =>
    graph.then((g) =>
      limited(async () => {
        const out = join(work, name);
        await buildForBoard(g, 'stm32f4', out, { firmware: 'mlperf-tiny', mlperfModel: model });
        return out;
      }),
    );
  // All builds start at once; the tests that run QEMU go one at a time, because a waiting
  // firmware keeps a core busy (QEMU runs with sleep=off).
  const helloKws = build('hello-kws01', hello, 'kws01');
  const helloIc = build('hello-ic01', hello, 'ic01');
  const helloAd = build('hello-ad01', hello, 'ad01');
  const floatKws = build('hello-float-kws01', helloFloat, 'kws01');
  const fashionIc = build('fashion-ic01', fashion, 'ic01');

  /** A DUT on QEMU's stdio (nothing lost, no delay), its boot reply already read. */
  async function onStdio(dir: string, t: { teardown(fn: () => unknown): void }): Promise<{ client: DutClient; boot: string[] }> {
    const elf = basename(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).files.elf);
    const session: QemuSession = startQemu({ board, elf: join(dir, elf) });
    t.teardown(() => session.stop());
    const client = new DutClient((b) => session.write(b), session.output);
    return { client, boot: await client.reply('boot') };
  }

  test.serial('the protocol: identity, timestamps, the infer sequence, and errors that leave the DUT usable', async (t) => {
    const { client, boot } = await onStdio(await helloKws, t);
    t.true(boot.includes('m-init-done'));

    // The runner's own patterns.
    t.regex((await client.command('name'))[0], /^m-name-dut-\[[^\]]+\]$/);
    const profile = await client.command('profile');
    t.true(profile.some((l) => /^m-profile-\[[^\]]+\]$/.test(l)));
    t.true(profile.includes('m-model-[kws01]'));
    const [lap] = await client.command('timestamp');
    t.regex(lap, /^m-lap-us-\d+$/);

    t.deepEqual(await client.command('infer 1 0'), ['e-[the model takes 1 input bytes: load them with db load and db first]']);
    t.deepEqual(await client.command('results'), ['e-[no inference has run yet]']);
    t.deepEqual(await client.command('db 05'), ['e-[db load N must come first]']);
    t.deepEqual(await client.command('db load 2'), ['e-[db load: the input buffer holds 1 bytes]']);
    t.deepEqual(await client.command('db load 0'), ['e-[db load needs a byte count above 0]']);
    t.deepEqual(await client.command('frobnicate now'), ['e-[Unknown command: frobnicate]']);
    t.deepEqual(await client.command(`db ${'0'.repeat(90)}`), ['e-[command longer than 80 characters]']);
    t.deepEqual(await client.command(''), []);
    t.deepEqual(await client.command('db load 1'), ['m-[Expecting 1 bytes]']);
    t.deepEqual(await client.command('db 0'), ['e-[Odd number of hex digits: 0]']);
    t.deepEqual(await client.command('db 0g'), ['e-[Invalid hex digit in 0g]']);
    t.deepEqual(await client.command('infer 0 0'), ['e-[infer N [W]: N must be a number above 0]']);
    t.deepEqual(await client.command('db 7f3a'), ['m-load-done'], 'digits beyond the announced count are dropped');
    t.deepEqual(await client.command('db 01'), ['e-[all bytes of the last db load have arrived; db load N starts again]']);

    const reply = await client.command('infer 3 2');
    t.deepEqual(reply.slice(0, 3), ['m-warmup-start-2', 'm-warmup-done', 'm-infer-start-3']);
    const laps = reply.slice(3, 5).map((l) => Number(/^m-lap-us-(\d+)$/.exec(l)?.[1]));
    t.true(laps[1] > laps[0], `the counter advances over three inferences: ${laps}`);
    t.true(laps[0] >= Number(lap.slice('m-lap-us-'.length)), 'timestamps never go back');
    t.is(reply[5], 'm-infer-done');
    const expected = `m-results-[${fixed6(hostOutputs(await hello, Int8Array.of(0x7f))[0])}]`;
    t.is(reply[6], expected);
    t.is(reply.length, 7);
    t.deepEqual(await client.command('results'), [expected], 'results repeats the last inference');
    t.is((await client.command('infer'))[0], 'm-warmup-start-10', "the reference's default of 10 warm-ups");
  });

  // Each value is a load and an inference through QEMU's UART: a spread of them, both ends included.
  const spread = (from: number, to: number) => Array.from({ length: 16 }, (_, i) => Math.round(from + ((to - from) * i) / 15));

  test.serial('kws01: db bytes are the int8 input tensor; results equal the host reference', async (t) => {
    const graph = await hello;
    const { client } = await onStdio(await helloKws, t);
    for (const q of spread(-128, 127)) {
      const input = Int8Array.of(q);
      t.deepEqual((await client.load(bytesOf(input), 31)).flat(), ['m-[Expecting 1 bytes]', 'm-load-done']);
      const { results } = await client.infer();
      t.deepEqual(results, hostOutputs(graph, input).map(fixed6), `input ${q}`);
    }
  });

  // vww01 takes its bytes as ic01 does; only its name differs (the refusal test checks its header).
  test.serial('ic01: db bytes are uint8 pixels, taken as pixel - 128; results equal the host reference', async (t) => {
    const graph = await hello;
    const { client } = await onStdio(await helloIc, t);
    t.true((await client.command('profile')).includes('m-model-[ic01]'));
    for (const pixel of [...spread(0, 255), 127, 128]) {
      await client.load(Uint8Array.of(pixel), 31);
      const { results } = await client.infer();
      t.deepEqual(results, hostOutputs(graph, Int8Array.of(pixel - 128)).map(fixed6), `pixel ${pixel}`);
    }
  });

  test.serial('ad01: float32 quantized on the device bit for bit as on the host (ties, clamping), scored by reconstruction error', async (t) => {
    const graph = await hello;
    const quant = graph.tensors[graph.inputs[0]].quant!;
    const { scale, zeroPoint } = affineOf(quant);
    // Values whose quotient by the scale is exactly halfway between two integers.
    const ties: number[] = [];
    for (let k = 0; k < 255 && ties.length < 16; k++) {
      const x = Math.fround((k + 0.5) * scale);
      if (Math.fround(x / scale) === k + 0.5) ties.push(x);
    }
    t.true(ties.length >= 8, `found ${ties.length} exact ties`);
    const values = [...ties, 0, -0, 1, Math.PI, 6.2, -1, -1000, 1000, 3e9, 1e30, -1e30, 1e-40, NaN].map(Math.fround);

    // The same inputs rounded half to even: unless some sample's score changes with it, this test
    // could not tell the two roundings apart.
    const halfEven = (x: number) => {
      const v = Math.fround(x / scale);
      const r = Math.round(v) - (Math.abs(v % 1) === 0.5 && Math.round(v) % 2 !== 0 ? 1 : 0);
      return Math.min(127, Math.max(-128, r + zeroPoint));
    };
    let distinguishing = 0;

    const { client } = await onStdio(await helloAd, t);
    for (const x of values) {
      const input = Float32Array.of(x);
      t.deepEqual((await client.load(bytesOf(input), 2)).flat(), ['m-[Expecting 4 bytes]', 'm-load-done']);
      const { results } = await client.infer();
      const quantized = quantizeValues(input, { scale, zeroPoint });
      const expected = fixed6(reconstructionError(hostOutputs(graph, quantized), input));
      t.deepEqual(results, [expected], `input ${x}`);
      const even = fixed6(reconstructionError(hostOutputs(graph, Int8Array.of(halfEven(x))), input));
      if (!Number.isNaN(x) && even !== expected) distinguishing++;
    }
    t.true(distinguishing > 0, 'some tie scores differently under half-to-even rounding');
  });

  test.serial('kws01 with a float32 model: raw float bytes in, float outputs out', async (t) => {
    const graph = await helloFloat;
    const { client } = await onStdio(await floatKws, t);
    for (const x of [0, 0.5, 1.5707964, 3, 6.2, -2]) {
      const input = Float32Array.of(x);
      await client.load(bytesOf(input), 3);
      const { results } = await client.infer();
      t.deepEqual(results, hostOutputs(graph, input).map(fixed6), `input ${x}`);
    }
  });

  /** `edgec emulate`, with the lines it has printed so far. */
  function emulate(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; closed: Promise<number | null> } {
    const child = spawn(process.execPath, [edgec, 'emulate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return { child, stdout: () => stdout, stderr: () => stderr, closed };
  }

  async function until(condition: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const childrenOf = (pid: number) =>
    readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);

  testWhere([missingFashionMnist()], "edgec emulate: Fashion-MNIST as ic01 through the pty link, 784-byte images in the runner's 31-byte chunks; SIGTERM stops QEMU and removes the link", async (t) => {
    const graph = await fashion;
    const dir = await fashionIc;
    const link = join(work, 'dut');
    const run = emulate([dir, '--pty', link]);
    t.teardown(() => run.child.kill('SIGTERM'));
    await until(() => /linked from/.test(run.stdout()), 'the pty line');
    const pty = run.stdout().split('\n')[0].split(' ')[0];
    t.regex(pty, /^\/dev\/pts\/\d+$/);
    t.true(lstatSync(link).isSymbolicLink());
    t.is(readlinkSync(link), pty);
    const qemu = childrenOf(run.child.pid!).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('qemu-system'));
    t.is(qemu.length, 1, 'QEMU runs as the command\'s child');

    const port = new SerialPort({ path: link, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => port.on('open', resolve).on('error', reject));
    const client = new DutClient((b) => port.write(b), port);
    try {
      await client.sync();
      t.true((await client.command('profile')).includes('m-model-[ic01]'));
      const images = loadFashionMnist('test', { limit: 2 });
      const samples = int8Samples(graph, images.images, images.count);
      for (let i = 0; i < images.count; i++) {
        const pixels = Uint8Array.from(images.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
        // The form ic01 assumes: this model's int8 input is the pixel - 128.
        t.deepEqual(Int8Array.from(pixels, (p) => p - 128), samples[i][0]);
        const replies = await client.load(pixels, 31);
        t.is(replies.length, 1 + Math.ceil(784 / 31));
        t.deepEqual(replies[replies.length - 1], ['m-load-done']);
        const { results } = await client.infer();
        t.deepEqual(results, hostOutputs(graph, samples[i][0]).map(fixed6), `image ${i}`);
      }
    } finally {
      await new Promise((resolve) => port.close(resolve));
    }

    run.child.kill('SIGTERM');
    t.is(await run.closed, 0, run.stderr());
    t.regex(run.stdout(), /stopped by SIGTERM/);
    t.false(existsSync(link), 'the link is removed');
    t.false(existsSync(`/proc/${qemu[0]}`), 'QEMU is gone');
  }, { serial: true });

  test.serial('edgec emulate: a firmware that ends by itself ends the command, with its exit code', async (t) => {
    // A folder as edgec build leaves it, as far as emulate reads one: the board support, the
    // firmware and report.json; the firmware only exits with code 3.
    const dir = join(work, 'exits');
    cpSync(boardsDir(), join(dir, 'board'), { recursive: true });
    writeFileSync(join(dir, 'exit3.c'), '#include "board.h"\nint main(void) { board_init(); board_exit(3); }\n');
    const firmware = await buildFirmware({ board: loadBoard('stm32f4', join(dir, 'board')), sources: [join(dir, 'exit3.c')], outDir: dir, name: 'exit3' });
    writeFileSync(join(dir, 'report.json'), JSON.stringify({ model: 'exit3', board: 'stm32f4', files: { elf: firmware.elf, bin: firmware.bin } }));
    const link = join(work, 'exits-dut');
    const run = emulate([dir, '--pty', link]);
    t.teardown(() => run.child.kill('SIGTERM'));
    t.is(await run.closed, 1);
    t.regex(run.stderr(), /the firmware ended with exit code 3/);
    t.false(existsSync(link), 'the link is removed');
  });

  test.serial('edgec emulate refuses a folder that is not a build', async (t) => {
    const run = emulate([work]);
    t.is(await run.closed, 2);
    t.regex(run.stderr(), /not an edgec build folder/);
  });
}
