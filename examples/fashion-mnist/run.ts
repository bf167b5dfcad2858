// The README's main job: the Fashion-MNIST CNN quantized to int8, built for stm32f4 and run in QEMU.
// Prints float and int8 accuracy over the 10,000 test images, agreement between the board and the
// host, and instructions per inference.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate } from './evaluate.ts';

const BOARD = process.env.EDGEC_BOARD ?? 'stm32f4';
const workDir = fileURLToPath(new URL('../../build/fashion-mnist/', import.meta.url));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

const started = Date.now();
const e = await evaluate({ workDir, board: BOARD, boardImages: 300, log: (line) => console.log(line) });
const b = e.board!;
const sorted = [...b.instructions].sort((x, y) => x - y);
const median = sorted[sorted.length >> 1];
console.log('');
console.log(`float accuracy, host (tfjs), ${e.testImages} test images:      ${pct(e.floatAccuracy)}`);
console.log(`int8 accuracy, host (generated C), ${e.testImages} test images: ${pct(e.int8Accuracy)}  (${((e.int8Accuracy - e.floatAccuracy) * 100).toFixed(2)} points)`);
console.log(`int8 accuracy, ${b.name} in QEMU, first ${b.images} test images:  ${pct(b.accuracy)}`);
console.log(`board and host agree byte for byte on ${b.agreement}/${b.images} images`);
console.log(`instructions per inference (QEMU -icount, Cortex-M4): median ${median.toLocaleString('en-US')}, min ${sorted[0].toLocaleString('en-US')}, max ${sorted[sorted.length - 1].toLocaleString('en-US')}`);
console.log(`  at ${b.report.clockHz / 1e6} MHz and one instruction per cycle: ${((median / b.report.clockHz) * 1000).toFixed(2)} ms per inference`);
console.log(`flash ${b.report.flash.total.toLocaleString('en-US')} bytes (code ${b.report.flash.code.toLocaleString('en-US')}, weights ${b.report.flash.weights.toLocaleString('en-US')}), RAM arena ${b.report.ram.arena.toLocaleString('en-US')} bytes`);
console.log(`firmware and sources: ${join(workDir, BOARD)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exitCode = b.agreement === b.images ? 0 : 1;
