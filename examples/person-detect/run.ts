// The person-detection model that TensorFlow Lite Micro ships (MobileNet v1 0.25, int8, 96x96 gray),
// built for stm32f4 and run in QEMU on the oracle samples: the two real images (person.bmp and
// no_person.bmp) and six synthetic inputs. Prints the board's answers, their agreement with
// TensorFlow Lite Micro's, accuracy on the two labelled images, and instructions per inference.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildForBoard, loadModel, readNpy, runOnTarget, splitSamples } from '../../src/index.ts';

const oracle = fileURLToPath(new URL('../../../shared/oracles/person_detect/', import.meta.url));
const LABELS = ['person', 'no person', 'all -128', 'all 127', 'random', 'random', 'random', 'random'];
const TRUTH: Record<number, number> = { 0: 1, 1: 0 }; // output [not person, person]

const modelFile = join(oracle, 'model.tflite');
const graph = await loadModel(modelFile);
const samples = splitSamples(graph, [readNpy(readFileSync(join(oracle, 'input.npy')))], ['input.npy']);
const expected = readNpy(readFileSync(join(oracle, 'output.npy'))).data as Int8Array;

const out = mkdtempSync(join(tmpdir(), 'edgec-demo-'));
try {
  const { report } = await buildForBoard(graph, 'stm32f4', out);
  console.log(`person_detect for stm32f4: flash ${report.flash.total} bytes (code ${report.flash.code}, weights ${report.flash.weights}), arena ${report.ram.arena} bytes`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

const { outputs, cycles } = await runOnTarget(graph, 'qemu', samples, { board: 'stm32f4' });
let agree = 0;
let correct = 0;
outputs.forEach(([scores], i) => {
  const [notPerson, person] = Array.from(scores as Int8Array);
  const same = notPerson === expected[2 * i] && person === expected[2 * i + 1];
  agree += same ? 1 : 0;
  const label = TRUTH[i];
  if (label !== undefined && (person > notPerson ? 1 : 0) === label) correct++;
  console.log(
    `${String(i).padStart(2)} ${LABELS[i].padEnd(10)} scores [${notPerson}, ${person}]  TFLM [${expected[2 * i]}, ${expected[2 * i + 1]}] ${same ? 'same' : 'DIFFERENT'}  ${cycles![i].toLocaleString('en-US')} instructions`,
  );
});
const sorted = [...cycles!].sort((a, b) => a - b);
console.log(`accuracy on the labelled images: ${correct}/2`);
console.log(`agreement with TensorFlow Lite Micro: ${agree}/${outputs.length}`);
console.log(`instructions per inference (QEMU, Cortex-M4): median ${sorted[sorted.length >> 1].toLocaleString('en-US')}`);
process.exitCode = agree === outputs.length ? 0 : 1;
