// The Fashion-MNIST example end to end: the int8 model keeps the float model's accuracy over the
// full test set, and the firmware in QEMU gives the host's int8 answers byte for byte.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate } from '../examples/fashion-mnist/evaluate.ts';
import { missingFullData, missingTool, TARGET_TOOLS, testWhere } from './helpers/tools.ts';

testWhere([missingFullData(), missingTool(...TARGET_TOOLS.qemu)], 'int8 accuracy over the 10,000 test images is within 0.5 points of float, and QEMU agrees with the host', async (t) => {
  const e = await evaluate({ workDir: mkdtempSync(join(tmpdir(), 'edgec-fashion-')), board: 'stm32f4', boardImages: 100 });
  t.log(`float ${(100 * e.floatAccuracy).toFixed(2)}%, int8 ${(100 * e.int8Accuracy).toFixed(2)}% over ${e.testImages} images`);
  t.is(e.testImages, 10000);
  t.true(e.floatAccuracy > 0.8, `float accuracy ${e.floatAccuracy}`);
  t.true(Math.abs(e.int8Accuracy - e.floatAccuracy) <= 0.005, `float ${e.floatAccuracy} vs int8 ${e.int8Accuracy}`);
  const hil = e.board!.hil;
  t.is(hil.samples, 100);
  t.is(hil.agreement.bitExact, 100);
  t.is(hil.accuracy, hil.referenceAccuracy);
  t.true(hil.cycles.min > 0);
});
