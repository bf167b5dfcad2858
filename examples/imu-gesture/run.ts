// The gesture example (npm run demo:gesture): the Conv1D + LSTM gesture model quantized to int8,
// built for stm32f4 with the HIL agent, and the 1,000 test gestures streamed to it in QEMU. Prints
// float and int8 accuracy, the board's accuracy and agreement with the host, the LSTM layer's
// quantization error, instructions per inference, flash and RAM.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate } from './evaluate.ts';

const BOARD = process.env.EDGEC_BOARD ?? 'stm32f4';
const workDir = fileURLToPath(new URL('../../build/imu-gesture/', import.meta.url));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const n = (x: number) => x.toLocaleString('en-US');

const started = Date.now();
let shown = 0;
const e = await evaluate({
  workDir,
  board: BOARD,
  log: (line) => console.log(line),
  onProgress: (done, total) => {
    const tenth = Math.floor((10 * done) / total);
    if (tenth > shown) process.stderr.write(`  ${done}/${total} gestures\n`);
    shown = Math.max(shown, tenth);
  },
});
const b = e.board!;
const h = b.hil;
const lstm = e.layers.find((l) => l.kind === 'unidirectional_sequence_lstm');
const rows: [string, string][] = [
  [`float accuracy, host (tfjs), ${e.testGestures} test gestures`, pct(e.floatAccuracy)],
  [`int8 accuracy, host (generated C), ${e.testGestures} test gestures`, `${pct(e.int8Accuracy)} (${((e.int8Accuracy - e.floatAccuracy) * 100).toFixed(2)} points)`],
  [`int8 accuracy, ${b.name} in QEMU over HIL, ${h.samples} test gestures`, `${pct(h.accuracy!)} (host int8 reference: ${pct(h.referenceAccuracy!)})`],
  ['board and host int8 reference agree bit for bit', `${n(h.agreement.bitExact)}/${n(h.agreement.total)} gestures`],
  ...(lstm ? [[`LSTM layer, int8 against float (${e.calibrationGestures} calibration gestures)`, `SQNR ${lstm.sqnrDb.toFixed(1)} dB, cosine ${lstm.cosine.toFixed(4)}`] as [string, string]] : []),
  [`instructions per inference (QEMU -icount)`, `median ${n(h.cycles.median)}, min ${n(h.cycles.min)}, max ${n(h.cycles.max)}`],
  [`  at ${h.latencyMs.clockHz / 1e6} MHz, one instruction per cycle`, `${h.latencyMs.median.toFixed(2)} ms per inference`],
  ['flash (firmware with the HIL agent)', `${n(b.report.flash.total)} bytes (code ${n(b.report.flash.code)}, weights ${n(b.report.flash.weights)})`],
  ['RAM: activation arena, LSTM state', `${n(b.report.ram.arena)} bytes, ${n(b.report.ram.state)} bytes`],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log('');
for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
console.log(`\nfirmware and sources in ${join(workDir, BOARD)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exitCode = h.agreement.bitExact === h.samples ? 0 : 1;
