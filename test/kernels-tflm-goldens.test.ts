// Ops checked end to end against TensorFlow Lite Micro's goldens (fixtures/kernels/<family>.json,
// single-op models run through TFLite Micro's interpreter; see the README there): for every family,
// all its cases side by side in one graph give TFLite Micro's bytes (any NaN for a NaN) as generated C on the host
// under ASan/UBSan (the portable kernels) and on a Cortex-M4 in QEMU (the DSP kernels); the float
// executor agrees with the reference to float rounding; the ops survive a TFLite file round trip.

import test, { type ExecutionContext } from 'ava';
import { runFloat } from '../src/float/run.ts';
import { importTflite } from '../src/import/tflite.ts';
import type { TensorData } from '../src/ir/types.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { exportTflite } from '../src/tflite/export.ts';
import { writeTflite } from '../src/tflite/writer.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { familyGraph, loadKernelCases } from './helpers/kernel-fixtures.ts';
import { sameBytes } from './helpers/op-graphs.ts';

const FAMILIES = ['transpose_conv2d', 'resize_bilinear', 'arg_min_max', 'squared_difference', 'rsqrt_exp', 'log_softmax', 'elu', 'batch_matmul', 'pool_int16'];

for (const family of FAMILIES) {
  const cases = loadKernelCases(family);
  const { graph, sample, expected } = familyGraph(family, cases);

  const assertTflmBytes = (t: ExecutionContext, outputs: TensorData[]) => {
    const wrong = cases.filter((_, k) => !sameBytes(expected[k], outputs[k])).map((c) => c.name);
    t.deepEqual(wrong, []);
  };

  test(`${family}: host build under ASan/UBSan gives TensorFlow Lite Micro's bytes`, async (t) => {
    const [outputs] = await runGeneratedHost(graph, [sample], { sanitize: true });
    assertTflmBytes(t, outputs);
  });

  test(`${family}: Cortex-M4 firmware in QEMU gives TensorFlow Lite Micro's bytes`, async (t) => {
    const { outputs } = await runGeneratedQemu(graph, [sample]);
    assertTflmBytes(t, outputs[0]);
  });

  const floatCases = cases.filter((c) => c.tensors[0].dtype === 'float32');
  if (floatCases.length > 0) test(`${family}: the float executor agrees with the reference to float rounding`, async (t) => {
    const floats = familyGraph(family, floatCases);
    const got = await runFloat(floats.graph, floats.sample as Float32Array[], { backend: 'cpu' });
    const want = createExecutor(floats.graph)(floats.sample);
    floats.graph.outputs.forEach((out, k) => {
      const a = got.get(out)!;
      const b = want[k] as Float32Array;
      // Equal values (infinities, NaNs) count as no difference.
      const gap = (v: number, w: number) => (v === w || (Number.isNaN(v) && Number.isNaN(w)) ? 0 : Math.abs(v - w) / (1 + Math.abs(w)));
      const worst = Math.max(...Array.from(a, (v, i) => gap(v, b[i])));
      t.true(worst < 1e-5, `${floats.graph.ops[k].origin}: relative difference ${worst}`);
    });
  });

  test(`${family}: a TFLite file round trip keeps the operators, their operands and attributes`, (t) => {
    const back = importTflite(writeTflite(exportTflite(graph)), `${family}.tflite`);
    t.deepEqual(
      back.ops.map((op) => [op.kind, op.attrs, op.inputs.map((i) => back.tensors[i].shape)]),
      graph.ops.map((op) => [op.kind, op.attrs, op.inputs.map((i) => graph.tensors[i].shape)]),
    );
  });
}
