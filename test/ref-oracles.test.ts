// The real models TensorFlow Lite Micro itself ran (../shared/oracles/): every sample of
// input.npy through the host reference must give output.npy byte for byte.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { dataBytes } from '../src/ir/dtype.ts';
import { importTflite } from '../src/import/tflite.ts';
import { readNpy, sampleOf } from '../src/npy/npy.ts';
import { createExecutor } from '../src/ref/execute.ts';

const ORACLES = new URL('../../shared/oracles/', import.meta.url);

for (const name of ['hello_world_int8', 'hello_world_float', 'micro_speech', 'person_detect']) {
  test(name, (t) => {
    const file = (f: string) => new URL(`${name}/${f}`, ORACLES);
    const graph = importTflite(readFileSync(file('model.tflite')), `${name}.tflite`);
    const inputs = readNpy(readFileSync(file('input.npy')), 'input.npy');
    const outputs = readNpy(readFileSync(file('output.npy')), 'output.npy');
    const run = createExecutor(graph);
    const samples = inputs.shape[0];
    t.is(outputs.shape[0], samples);
    const mismatches: string[] = [];
    for (let s = 0; s < samples; s++) {
      const [actual] = run([sampleOf(inputs, s)]);
      const expected = sampleOf(outputs, s);
      if (!Buffer.from(dataBytes(actual)).equals(Buffer.from(dataBytes(expected)))) {
        mismatches.push(`sample ${s}: [${actual.join()}], expected [${expected.join()}]`);
      }
    }
    t.deepEqual(mismatches, [], `${mismatches.length} of ${samples} samples differ`);
  });
}
