// Corrupted and hostile variants of the oracle models must either import or fail with an
// EdgecError: never another exception, never a hang.

import test from 'ava';
import { importTflite } from '../src/import/tflite.ts';
import { EdgecError } from '../src/ir/errors.ts';
import type { TfliteModel } from '../src/tflite/model.ts';
import { readTflite } from '../src/tflite/reader.ts';
import { writeTflite } from '../src/tflite/writer.ts';
import { random, randomBelow } from './helpers/random.ts';
import { ORACLES, oracleModel } from './helpers/tflite-models.ts';

/** The shared seeded generator, with the picks the mutations make. */
function prng(seed: number) {
  const next = random(seed);
  const int = (n: number) => randomBelow(next, n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

/** Values that break naive readers: past the end, huge, negative, zero, off by one. */
function nastyInt(rng: Rng, size: number): number {
  return rng.pick([
    size + rng.int(4096),
    size - rng.int(16),
    0xffffffff,
    0x7fffffff,
    0x80000000,
    0x40000000,
    -1 >>> 0,
    (-rng.int(64)) >>> 0,
    rng.int(16),
    rng.int(2 ** 32),
  ]);
}

/** Byte positions that are not constant data: where corruption reaches the structure. */
function structurePositions(bytes: Uint8Array, model: TfliteModel): number[] {
  const data = new Uint8Array(bytes.length);
  for (const { data: d } of model.buffers) if (d.length) data.fill(1, d.byteOffset, d.byteOffset + d.length);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (!data[i]) out.push(i);
  return out;
}

function byteMutant(rng: Rng, bytes: Uint8Array, structure: number[]): Uint8Array {
  const kind = rng.int(4);
  if (kind === 0) return bytes.subarray(0, rng.int(bytes.length));
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const count = 1 + rng.int(kind === 1 ? 8 : 3);
  for (let i = 0; i < count; i++) {
    const at = rng.pick(structure);
    if (kind === 1) out[at] = rng.int(256);
    else if (kind === 2 && at + 4 <= out.length) view.setUint32(at & ~3, nastyInt(rng, out.length), true);
    else if (at + 2 <= out.length) view.setUint16(at & ~1, rng.pick([0, 1, 3, 0xffff, 0x8000, rng.int(0x10000)]), true);
  }
  return out;
}

/** A structural copy sharing the (never mutated in place) buffer data. */
function cloneModel(model: TfliteModel): TfliteModel {
  const { buffers, ...rest } = model;
  return { ...structuredClone(rest), buffers: buffers.map((b) => ({ data: b.data })) };
}

/** Well-formed files with absurd contents, written through the real writer. */
function semanticMutant(rng: Rng, model: TfliteModel): Uint8Array | undefined {
  const m = cloneModel(model);
  const sg = m.subgraphs[0];
  const tensor = rng.pick(sg.tensors);
  const op = rng.pick(sg.operators);
  const anyIndex = () => rng.pick([-1, -2, 0, 1, sg.tensors.length, sg.tensors.length - 1, 2 ** 31 - 1, rng.int(sg.tensors.length)]);
  const dim = () => rng.pick([-1, -7, 0, 1, 3, 2 ** 16, 2 ** 30, 2 ** 31 - 1, rng.int(64)]);
  switch (rng.int(12)) {
    case 0:
      tensor.shape = tensor.shape.map((d) => (rng.next() < 0.5 ? dim() : d));
      break;
    case 1:
      tensor.shape = Array.from({ length: rng.int(24) }, dim);
      break;
    case 2:
      tensor.type = rng.pick([rng.int(25), 127, -1]);
      break;
    case 3: {
      const buffer = m.buffers[tensor.buffer];
      if (buffer.data.length === 0) tensor.buffer = rng.int(m.buffers.length + 2);
      else buffer.data = buffer.data.subarray(0, rng.int(buffer.data.length));
      break;
    }
    case 4:
      op.inputs = op.inputs.map((t) => (rng.next() < 0.5 ? anyIndex() : t));
      if (rng.next() < 0.3) op.inputs = op.inputs.slice(0, rng.int(op.inputs.length + 1));
      break;
    case 5:
      op.outputs = rng.pick([[], [anyIndex()], [op.outputs[0], anyIndex()], op.inputs.slice(0, 1)]);
      break;
    case 6:
      if (rng.next() < 0.5) op.opcodeIndex = rng.int(m.operatorCodes.length + 2);
      else rng.pick(m.operatorCodes).builtinCode = rng.pick([rng.int(210), -5, 1000, 32]);
      break;
    case 7:
      if (op.builtinOptions) {
        const options = op.builtinOptions as Record<string, unknown>;
        const key = rng.pick(Object.keys(options));
        options[key] = Array.isArray(options[key])
          ? Array.from({ length: rng.int(6) }, dim)
          : typeof options[key] === 'boolean'
            ? !options[key]
            : rng.pick([-3, 0, 1, 2, 4, 5, 9, 127, 2 ** 31 - 1]);
      }
      break;
    case 8: {
      const q = tensor.quantization;
      if (!q) break;
      const field = rng.int(4);
      if (field === 0) q.scale = q.scale.slice(0, rng.int(q.scale.length + 1));
      if (field === 1) q.zeroPoint = q.zeroPoint.map(() => rng.pick([-129, 128, 2 ** 40, -(2 ** 40), 0]));
      if (field === 2) q.quantizedDimension = rng.pick([-1, 0, 1, 3, 4, 100]);
      if (field === 3) q.scale = q.scale.map(() => rng.pick([0, -1, NaN, Infinity, 1e-45, 1e38]));
      break;
    }
    case 9:
      if (rng.next() < 0.5) sg.inputs = [anyIndex()];
      else sg.outputs = [anyIndex(), anyIndex()];
      break;
    case 10: {
      const i = rng.int(sg.operators.length);
      const j = rng.int(sg.operators.length);
      [sg.operators[i], sg.operators[j]] = [sg.operators[j], sg.operators[i]];
      break;
    }
    case 11:
      op.builtinOptionsType = rng.pick([0, 1, 2, 5, 8, 9, 17, 22, 27, 30, 75]);
      break;
  }
  try {
    return writeTflite(m);
  } catch (e) {
    if (e instanceof EdgecError) return undefined; // the writer refused; nothing to import
    throw e;
  }
}

/** Mutations per model: the large model's valid mutants take longest to import. */
const BUDGET: Record<(typeof ORACLES)[number], { bytes: number; semantic: number }> = {
  hello_world_int8: { bytes: 6000, semantic: 3000 },
  hello_world_float: { bytes: 6000, semantic: 3000 },
  micro_speech: { bytes: 5000, semantic: 2500 },
  person_detect: { bytes: 1500, semantic: 400 },
};

let total = 0;

ORACLES.forEach((name, index) => {
  test.serial(`${name}: every mutant imports or fails with an EdgecError`, (t) => {
    const rng = prng(0xed9ec + index);
    const bytes = oracleModel(name);
    const model = readTflite(bytes);
    const structure = structurePositions(bytes, model);
    const failures: string[] = [];
    const outcome = { imported: 0, rejected: 0, skipped: 0 };
    let slowest = 0;

    const attempt = (label: string, mutant: Uint8Array | undefined) => {
      if (!mutant) return void outcome.skipped++;
      const start = performance.now();
      try {
        importTflite(mutant, `${name}.tflite`);
        outcome.imported++;
      } catch (e) {
        if (e instanceof EdgecError) outcome.rejected++;
        else failures.push(`${label}: ${(e as Error)?.stack ?? String(e)}`);
      }
      slowest = Math.max(slowest, performance.now() - start);
    };

    const budget = BUDGET[name];
    for (let i = 0; i < budget.bytes; i++) attempt(`byte mutant ${i}`, byteMutant(rng, bytes, structure));
    for (let i = 0; i < budget.semantic; i++) attempt(`semantic mutant ${i}`, semanticMutant(rng, model));
    const count = budget.bytes + budget.semantic;
    total += count;
    t.log(`${count} mutants: ${outcome.imported} imported, ${outcome.rejected} rejected, ${outcome.skipped} not writable; slowest ${slowest.toFixed(0)} ms`);

    t.deepEqual(failures.slice(0, 3), []);
    t.true(outcome.rejected > count / 4, 'most mutants should be caught');
    t.true(slowest < 2000, `one import took ${slowest.toFixed(0)} ms`);
  });
});

test.after('total mutation count', () => {
  console.log(`fuzz-tflite: ${total} mutants in all`);
});
