// report.html beside report.json: per layer the op, kernel, shapes, MACs, parameter bytes and arena
// range; the memory plan in SVG; flash and RAM split; the quantizer's per-layer error when edgec
// quantized the model; per-layer instructions from edgec profile --html. Rendered by headless
// Chromium where the machine has it.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { decodePng } from '../src/quant/png.ts';
import type { BuildReport } from '../src/targets/build.ts';
import { runEdgec } from './helpers/cli.ts';
import { missingTool } from './helpers/tools.ts';

const oracle = (name: string, file = 'model.tflite') => fileURLToPath(new URL(`../../shared/oracles/${name}/${file}`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'edgec-report-html-'));

const readReport = (dir: string) => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as BuildReport;
const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

/** Headless Chromium as Debian packages it, or why it cannot run here. */
function chromium(): { command: string } | { missing: string } {
  for (const command of ['chromium', 'chromium-browser']) {
    if (spawnSync(command, ['--version'], { encoding: 'utf8' }).status === 0) return { command };
  }
  return { missing: 'chromium is not installed (Debian package chromium; scripts/setup.sh installs it)' };
}

const missing = missingTool('arm-none-eabi-gcc');
if (missing !== null) {
  test.skip(`report.html (skipped: ${missing})`, () => {});
} else {
  test.serial('report.json holds each layer and the memory plan; report.html draws every buffer and lists every layer', async (t) => {
    const dir = join(work, 'person_detect');
    const built = await runEdgec('build', oracle('person_detect'), '--board', 'stm32f4', '-o', dir);
    t.is(built.code, 0, built.stderr);
    const report = readReport(dir);
    const { memory } = report;
    t.is(memory.arenaBytes, report.ram.arena);
    t.true(memory.buffers.every((b) => b.offset >= 0 && b.offset + b.bytes <= memory.arenaBytes));
    t.is(Math.max(...memory.buffers.map((b) => b.offset + b.bytes)), memory.arenaBytes, 'some buffer reaches the end of the arena');
    t.true(memory.buffers.some((b) => b.first === -1) && memory.buffers.some((b) => b.last === report.ops.length), 'the input and the output are buffers');
    t.is(report.ops.length, 31);
    const conv = report.ops[0];
    t.deepEqual(conv.inputs, ['[1,96,96,1] int8']);
    t.is(conv.output, '[1,48,48,8] int8');
    t.is(conv.paramBytes, 3 * 3 * 8 + 4 * 8, 'int8 weights and int32 bias');
    t.true(report.ops.every((o) => o.arena === undefined || (o.arena[0] >= 0 && o.arena[1] <= memory.arenaBytes)));
    t.is(report.quantization, undefined, 'the model came quantized: no quantizer report');

    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    t.false(/<script|https?:\/\//.test(html), 'self-contained: no scripts, no links');
    t.is(count(html, /<rect [^>]*><title>/g), memory.buffers.length, 'one rectangle per buffer');
    t.is(count(html, /<tr( class="peak")?><td class="n">\d+<\/td>/g), report.ops.length, 'one table row per layer');
    t.is(count(html, /class="peak"/g), 1);
    t.regex(html, /peak: op \d+, [\d,]+ B live/);
    t.regex(html, new RegExp(`The arena is ${report.ram.arena.toLocaleString('en-US')} bytes`));
    t.regex(html, /weights and constants [\d,]+ B/);
    t.notRegex(html, /SQNR dB/);
  });

  test.serial('a build that quantizes shows each layer’s SQNR; edgec profile --html adds the instructions per layer', async (t) => {
    const dir = join(work, 'hello_world');
    const built = await runEdgec('build', oracle('hello_world_float'), '--board', 'stm32f4', '--calib', oracle('hello_world_float', 'input.npy'), '-o', dir);
    t.is(built.code, 0, built.stderr);
    const report = readReport(dir);
    t.is(report.quantization?.samples, 256);
    const named = new Set(report.ops.map((o) => o.outputTensor));
    t.true(report.quantization!.layers.every((l) => named.has(l.tensor)), 'every quantized layer names an op of the build');
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    t.regex(html, /SQNR dB/);
    t.is(count(html, /<td class="n">(-?\d+\.\d|exact)<\/td><\/tr>/g), report.ops.length, 'an SQNR in every row');

    const qemu = missingTool('qemu-system-arm');
    if (qemu !== null) {
      t.log(`edgec profile --html not run: ${qemu}`);
      return;
    }
    const page = join(work, 'profiled.html');
    const r = await runEdgec('profile', dir, '--qemu', '--html', page);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /wrote .*profiled\.html/);
    const profiled = readFileSync(page, 'utf8');
    t.regex(profiled, /<th class="n">instructions<\/th><th class="n">share<\/th>/);
    t.regex(profiled, /[\d,]+ instructions per inference/);
    t.is(count(profiled, /<td class="n">\d+\.\d%<\/td><\/tr>/g), report.ops.length, 'a share in every row');
  });

  const browser = chromium();
  if ('missing' in browser) {
    test.skip(`report.html in headless Chromium (skipped: ${browser.missing})`, () => {});
  } else {
    test.serial('report.html of person_detect renders in headless Chromium: the page and its memory plan are drawn', (t) => {
      const dir = join(work, 'person_detect');
      t.true(existsSync(join(dir, 'report.html')), 'the first test built it');
      const shot = join(work, 'report.png');
      const args = ['--headless', '--no-sandbox', '--disable-gpu', '--window-size=1400,1000', `--screenshot=${shot}`, `file://${join(dir, 'report.html')}`];
      const r = spawnSync(browser.command, args, { encoding: 'utf8', timeout: 120_000 });
      t.true(existsSync(shot), `no screenshot: ${r.stderr}`);
      const image = decodePng(readFileSync(shot), shot);
      t.is(image.width, 1400);
      // The memory plan's buffers are filled with many hues: a blank or unstyled page has a few colours.
      const colours = new Set<number>();
      for (let i = 0; i < image.width * image.height; i++) {
        const p = i * image.channels;
        colours.add((image.data[p] << 16) | (image.data[p + 1] << 8) | image.data[p + 2]);
      }
      t.true(colours.size > 40, `${colours.size} colours on the page`);
      const dom = spawnSync(browser.command, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${join(dir, 'report.html')}`], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      const report = readReport(dir);
      t.is(count(dom.stdout, /<rect [^>]*><title>/g), report.memory.buffers.length, 'the browser parsed every buffer of the plan');
    });
  }
}
