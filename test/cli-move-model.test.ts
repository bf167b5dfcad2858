// A model made of the value-moving and comparing operators, written as a .tflite file, goes
// through `edgec build --board stm32f4` and `edgec run --target qemu`; the board's outputs equal
// the host reference's (`edgec run`, --target ref) byte for byte.

import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../src/npy/npy.ts';
import { BuiltinOperator as B, BuiltinOptionsType as O } from '../src/tflite/schema.ts';
import { runEdgec } from './helpers/cli.ts';
import { random } from './helpers/op-graphs.ts';
import { ModelBuilder } from './helpers/tflite-models.ts';
import { missingTool } from './helpers/tools.ts';

const scratch = mkdtempSync(join(tmpdir(), 'edgec-move-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
const Q = { scale: [0.05], zeroPoint: [-3] };

function model(): Uint8Array {
  const m = new ModelBuilder();
  const int8 = (name: string, shape: number[]) => m.tensor(name, shape, 'int8', Q);
  const ints = (name: string, values: number[], shape = [values.length]) => m.tensor(name, shape, 'int32', { data: Int32Array.from(values) });
  const x = int8('x', [1, 4, 6, 2]);
  const s2d = int8('s2d', [1, 2, 3, 8]);
  m.op(B.SPACE_TO_DEPTH, [x], [s2d], { type: O.SpaceToDepthOptions, value: { blockSize: 2 } });
  // Backwards along height and width, every third channel.
  const sliced = int8('sliced', [1, 2, 3, 3]);
  m.op(B.STRIDED_SLICE, [s2d, ints('b', [0, 1, -1, 0]), ints('e', [1, -3, -4, 8]), ints('s', [1, -1, -1, 3])], [sliced], {
    type: O.StridedSliceOptions,
    value: { beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0, offset: false },
  });
  const floor = m.tensor('floor', [3], 'int8', { ...Q, data: Int8Array.of(-20, 0, 40) });
  const raised = int8('raised', [1, 2, 3, 3]);
  m.op(B.MAXIMUM, [sliced, floor], [raised], { type: O.MaximumMinimumOptions, value: {} });
  const transposed = int8('transposed', [1, 3, 2, 3]);
  m.op(B.TRANSPOSE, [raised, ints('perm', [0, 3, 1, 2])], [transposed], { type: O.TransposeOptions, value: {} });
  const parts = [0, 1, 2].map((k) => int8(`part${k}`, [1, 1, 2, 3]));
  m.op(B.SPLIT, [ints('axis', [1], []), transposed], parts, { type: O.SplitOptions, value: { numSplits: 3 } });
  const low = int8('low', [1, 1, 2, 3]);
  m.op(B.MINIMUM, [parts[0], parts[1]], [low], { type: O.MaximumMinimumOptions, value: {} });
  const packed = int8('packed', [1, 1, 2, 3, 2]);
  m.op(B.PACK, [low, parts[2]], [packed], { type: O.PackOptions, value: { valuesCount: 2, axis: -1 } });
  const gathered = int8('gathered', [1, 1, 3, 3, 2]);
  m.op(B.GATHER, [packed, ints('idx', [1, 0, 1])], [gathered], { type: O.GatherOptions, value: { axis: 2, batchDims: 0 } });
  const y = int8('y', [1, 3, 3, 2]);
  m.op(B.RESHAPE, [gathered, ints('shape', [1, 3, 3, 2])], [y], { type: O.ReshapeOptions, value: { newShape: [1, 3, 3, 2] } });
  return m.bytes([x], [y]);
}

const TITLE = 'a model of strided slice, transpose, split, pack, gather, space-to-depth, maximum and minimum runs bit-exact in QEMU';
const missing = missingTool('arm-none-eabi-gcc', 'qemu-system-arm');
if (missing !== null) test.skip(`${TITLE} (skipped: ${missing})`, () => {});
else test(TITLE, async (t) => {
  const file = join(scratch, 'moves.tflite');
  writeFileSync(file, model());
  const rand = random(3);
  const input = join(scratch, 'in.npy');
  writeFileSync(input, writeNpy({ dtype: 'int8', shape: [4, 1, 4, 6, 2], data: Int8Array.from({ length: 4 * 48 }, () => Math.floor(rand() * 256) - 128) }));
  const build = await runEdgec('build', file, '--board', 'stm32f4', '-o', join(scratch, 'build'));
  t.is(build.code, 0, build.stderr);
  const [board, host] = [join(scratch, 'qemu.npy'), join(scratch, 'ref.npy')];
  const onBoard = await runEdgec('run', join(scratch, 'build'), '--input', input, '--target', 'qemu', '--output', board);
  t.is(onBoard.code, 0, onBoard.stderr);
  const reference = await runEdgec('run', file, '--input', input, '--output', host);
  t.is(reference.code, 0, reference.stderr);
  const [a, b] = [readNpy(readFileSync(board)), readNpy(readFileSync(host))];
  t.deepEqual(a.shape, [4, 1, 3, 3, 2]);
  t.deepEqual(Array.from(a.data as Int8Array), Array.from(b.data as Int8Array));
});
