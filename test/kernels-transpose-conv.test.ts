// TRANSPOSE_CONV on TensorFlow Lite Micro's goldens (fixtures/kernels/transpose_conv2d.json: int8
// and float32, SAME and VALID, strides 2 and 3x1, odd output sizes and channel counts, with and
// without bias, zero points at both ends, fused activations): the generated C on the host under
// ASan/UBSan and on a Cortex-M4 in QEMU gives TFLite Micro's bytes; the float executor agrees with
// the reference to float rounding; the operator survives a TFLite file round trip.

import test from 'ava';
import { importTflite } from '../src/import/tflite.ts';
import { runFloat } from '../src/float/run.ts';
import type { TensorData } from '../src/ir/types.ts';
import { createExecutor } from '../src/ref/execute.ts';
import { exportTflite } from '../src/tflite/export.ts';
import { writeTflite } from '../src/tflite/writer.ts';
import { runGeneratedHost, runGeneratedQemu } from './helpers/c-model.ts';
import { familyGraph, loadKernelCases } from './helpers/kernel-fixtures.ts';
import { assertMatchesReference } from './helpers/op-graphs.ts';

const cases = loadKernelCases('transpose_conv2d');
const { graph, sample, expected } = familyGraph('transpose_conv', cases);

function assertTflmBytes(t: import('ava').ExecutionContext, outputs: TensorData[]) {
  const wrong = cases.filter((_, k) => !Buffer.from(outputs[k].buffer).equals(Buffer.from(expected[k].buffer))).map((c) => c.name);
  t.deepEqual(wrong, []);
}

test('host build under ASan/UBSan gives TensorFlow Lite Micro bytes', async (t) => {
  const [outputs] = await runGeneratedHost(graph, [sample], { sanitize: true });
  assertTflmBytes(t, outputs);
  assertMatchesReference(t, graph, [sample], [outputs]);
});

test('Cortex-M4 firmware in QEMU gives TensorFlow Lite Micro bytes', async (t) => {
  const { outputs } = await runGeneratedQemu(graph, [sample]);
  assertTflmBytes(t, outputs[0]);
});

test('the float executor (a convolution of the dilated input) agrees with the reference to float rounding', async (t) => {
  const floats = familyGraph('transpose_conv_f32', cases.filter((c) => c.tensors[0].dtype === 'float32'));
  const got = await runFloat(floats.graph, floats.sample as Float32Array[], { backend: 'cpu' });
  const want = createExecutor(floats.graph)(floats.sample);
  floats.graph.outputs.forEach((out, k) => {
    const a = got.get(out)!;
    const b = want[k] as Float32Array;
    const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / (1 + Math.abs(b[i]))));
    t.true(worst < 1e-5, `${floats.graph.ops[k].origin}: relative difference ${worst}`);
  });
});

test('a TFLite file round trip keeps the operator, its operands and its attributes', (t) => {
  const back = importTflite(writeTflite(exportTflite(graph)), 'transpose_conv.tflite');
  t.deepEqual(
    back.ops.map((op) => [op.kind, op.attrs, op.inputs.map((i) => back.tensors[i].shape)]),
    graph.ops.map((op) => [op.kind, op.attrs, op.inputs.map((i) => graph.tensors[i].shape)]),
  );
});
