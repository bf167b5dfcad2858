// The IMU gesture example: its seeded data generator, and the whole pipeline (import of the shipped
// Conv1D + LSTM model, calibration, int8 quantization, build for stm32f4, HIL in QEMU) on a few
// test gestures.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { AXES, GESTURES, STEPS, generateGestures } from '../examples/imu-gesture/data.ts';
import { evaluate } from '../examples/imu-gesture/evaluate.ts';
import { missingTool } from './helpers/tools.ts';

test('the gesture generator is seeded, balanced, and its classes differ in motion', (t) => {
  const set = generateGestures(100, 5);
  t.deepEqual(generateGestures(100, 5), set, 'the same seed gives the same gestures');
  t.notDeepEqual(generateGestures(100, 6).samples, set.samples);
  t.is(set.samples.length, 100 * STEPS * AXES);
  t.deepEqual(GESTURES.map((_, c) => set.labels.filter((l) => l === c).length), [20, 20, 20, 20, 20]);
  t.true(set.samples.every((v) => Number.isFinite(v) && Math.abs(v) < 6), 'accelerations stay within a wearable sensor range (g)');
  // Motion energy: the variance over time of each axis, summed; idle barely moves.
  const energy = (c: number) => {
    let total = 0;
    let n = 0;
    set.labels.forEach((label, i) => {
      if (label !== c) return;
      n++;
      for (let a = 0; a < AXES; a++) {
        const values = Array.from({ length: STEPS }, (_, s) => set.samples[(i * STEPS + s) * AXES + a]);
        const mean = values.reduce((x, y) => x + y, 0) / STEPS;
        total += values.reduce((x, y) => x + (y - mean) ** 2, 0) / STEPS;
      }
    });
    return total / n;
  };
  const [idle, ...moving] = GESTURES.map((_, c) => energy(c));
  t.true(idle < Math.min(...moving) / 2, `idle ${idle} moves least (the others: ${moving})`);
});

const missing = missingTool('cc', 'arm-none-eabi-gcc', 'qemu-system-arm');
(missing ? test.skip : test)(`the example's pipeline on 40 test gestures: int8 close to float, QEMU = host bit for bit${missing ? ` (skipped: ${missing})` : ''}`, async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'edgec-gesture-'));
  try {
    const e = await evaluate({ workDir, calibrationGestures: 100, testGestures: 40, board: 'stm32f4' });
    t.is(e.testGestures, 40);
    t.true(e.floatAccuracy >= 0.9, `float accuracy ${e.floatAccuracy}`);
    t.true(e.int8Accuracy >= e.floatAccuracy - 0.05, `int8 accuracy ${e.int8Accuracy} against float ${e.floatAccuracy}`);
    const lstm = e.layers.find((l) => l.kind === 'unidirectional_sequence_lstm');
    t.true(lstm !== undefined && lstm.sqnrDb > 15, `LSTM layer SQNR ${lstm?.sqnrDb}`);
    const hil = e.board!.hil;
    t.deepEqual(hil.agreement, { bitExact: 40, total: 40, firstMismatch: null });
    t.is(hil.accuracy, hil.referenceAccuracy);
    t.is(hil.accuracy, e.int8Accuracy, 'the board classifies as the generated C on the host does');
    t.true(e.board!.report.ram.state > 0, 'the LSTM state is reported outside the arena');
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
