// The README's main job: the Fashion-MNIST CNN quantized to int8, built for stm32f4 and run in QEMU.
// Prints float and int8 accuracy over the 10,000 test images, agreement between the board and the
// host, and instructions per inference.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate } from './evaluate.ts';

const BOARD = process.env.EDGEC_BOARD ?? 'stm32f4';
const workDir = fileURLToPath(new URL('../../build/fashion-mnist/', import.meta.url));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const n = (x: number) => x.toLocaleString('en-US');

const started = Date.now();
const e = await evaluate({ workDir, board: BOARD, boardImages: 300, log: (line) => console.log(line) });
const b = e.board!;
const sorted = [...b.instructions].sort((x, y) => x - y);
const median = sorted[sorted.length >> 1];
const rows: [string, string][] = [
  [`float accuracy, host (tfjs), ${e.testImages} test images`, pct(e.floatAccuracy)],
  [`int8 accuracy, host (generated C), ${e.testImages} test images`, `${pct(e.int8Accuracy)} (${((e.int8Accuracy - e.floatAccuracy) * 100).toFixed(2)} points)`],
  [`int8 accuracy, ${b.name} in QEMU, first ${b.images} test images`, pct(b.accuracy)],
  ['board and host agree byte for byte', `${b.agreement}/${b.images} images`],
  ['instructions per inference (QEMU -icount, Cortex-M4)', `median ${n(median)}, min ${n(sorted[0])}, max ${n(sorted[sorted.length - 1])}`],
  [`  at ${b.report.clockHz / 1e6} MHz, one instruction per cycle`, `${((median / b.report.clockHz) * 1000).toFixed(2)} ms per inference`],
  ['flash', `${n(b.report.flash.total)} bytes (code ${n(b.report.flash.code)}, weights ${n(b.report.flash.weights)})`],
  ['RAM: activation arena', `${n(b.report.ram.arena)} bytes`],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log('');
for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
console.log(`\nfirmware and sources in ${join(workDir, BOARD)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exitCode = b.agreement === b.images ? 0 : 1;
