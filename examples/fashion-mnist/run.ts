// The README's main job: the Fashion-MNIST CNN quantized to int8, built for stm32f4 with the HIL
// agent, and the first 1,000 test images streamed to it in QEMU. Prints float and int8 accuracy over
// the 10,000 test images, the board's accuracy and agreement with the host, cycles and link figures.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate } from './evaluate.ts';

/** Progress of the HIL run on stderr, a line every 10%, so a two-minute stream is not silent. */
function progress(): (done: number, total: number) => void {
  let shown = 0;
  return (done, total) => {
    const tenth = Math.floor((10 * done) / total);
    if (tenth > shown) {
      shown = tenth;
      process.stderr.write(`  ${done}/${total} images\n`);
    }
  };
}

const BOARD = process.env.EDGEC_BOARD ?? 'stm32f4';
const workDir = fileURLToPath(new URL('../../build/fashion-mnist/', import.meta.url));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const n = (x: number) => x.toLocaleString('en-US');

const started = Date.now();
const bar = progress();
const e = await evaluate({ workDir, board: BOARD, boardImages: 1000, log: (line) => console.log(line), onProgress: bar });
const b = e.board!;
const h = b.hil;
const recoveries = Object.entries(h.link).filter(([, v]) => v > 0);
const rows: [string, string][] = [
  [`float accuracy, host (tfjs), ${e.testImages} test images`, pct(e.floatAccuracy)],
  [`int8 accuracy, host (generated C), ${e.testImages} test images`, `${pct(e.int8Accuracy)} (${((e.int8Accuracy - e.floatAccuracy) * 100).toFixed(2)} points)`],
  [`int8 accuracy, ${b.name} in QEMU over HIL, first ${h.samples} test images`, `${pct(h.accuracy!)} (host int8 reference on the same images: ${pct(h.referenceAccuracy!)})`],
  ['board and host int8 reference agree bit for bit', `${n(h.agreement.bitExact)}/${n(h.agreement.total)} images`],
  [`cycles per inference (${h.cycles.source}: instructions under QEMU -icount)`, `median ${n(h.cycles.median)}, min ${n(h.cycles.min)}, max ${n(h.cycles.max)}`],
  [`  at ${h.latencyMs.clockHz / 1e6} MHz, one instruction per cycle`, `${h.latencyMs.median.toFixed(2)} ms per inference`],
  ['HIL link (COBS frames, CRC-32, stop and wait)', `${h.throughput.samplesPerSecond.toFixed(1)} images/s, ${n(h.throughput.wireBytesPerSample)} bytes on the wire per image (payload ${n(h.throughput.payloadBytesPerSample)})`],
  ['  faults recovered', recoveries.length ? recoveries.map(([k, v]) => `${k} ${v}`).join(', ') : 'none needed'],
  ['flash (firmware with the HIL agent)', `${n(b.report.flash.total)} bytes (code ${n(b.report.flash.code)}, weights ${n(b.report.flash.weights)})`],
  ['RAM: activation arena', `${n(b.report.ram.arena)} bytes`],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log('');
for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
console.log(`\nfirmware and sources in ${join(workDir, BOARD)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exitCode = h.agreement.bitExact === h.samples ? 0 : 1;
