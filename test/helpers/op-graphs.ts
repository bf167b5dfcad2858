// Test helpers for kernel tests: small graphs of independent ops built in a few lines, seeded
// random samples, and a byte-for-byte comparison of generated-code outputs with the host reference.

import type { ExecutionContext } from 'ava';
import { allocate, dataBytes, numel } from '../../src/ir/dtype.ts';
import type { DType, Graph, Op, OpKind, Quantization, Tensor, TensorData } from '../../src/ir/types.ts';
import { createExecutor } from '../../src/ref/execute.ts';

export const quant = (scale: number, zeroPoint: number): Quantization => ({ scale: [scale], zeroPoint: [zeroPoint], axis: 0 });

import { random } from './random.ts';

export { random };

/** Values for one input tensor, given its shape, dtype and a random source. */
export type Fill = (count: number, dtype: DType, rand: () => number) => TensorData;

/** Uniform over the whole int8 / uint8 range, or floats in [-range, range). */
export const uniform =
  (range = 8): Fill =>
  (count, dtype, rand) => {
    const data = allocate(dtype, count);
    for (let i = 0; i < count; i++) {
      if (dtype === 'int8') data[i] = Math.floor(rand() * 256) - 128;
      else if (dtype === 'uint8') data[i] = Math.floor(rand() * 256);
      else data[i] = (rand() * 2 - 1) * range;
    }
    return data;
  };

/** Builds a graph whose inputs and op outputs are listed as they are added, and samples for it. */
export class GraphBuilder {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  readonly inputs: number[] = [];
  readonly outputs: number[] = [];
  private readonly fills: Fill[] = [];

  private add(tensor: Tensor): number {
    this.tensors.push(tensor);
    return this.tensors.length - 1;
  }

  /** A graph input whose sample values `fill` makes. */
  input(shape: number[], dtype: DType, q?: Quantization, fill: Fill = uniform()): number {
    const t = this.add({ name: `in${this.inputs.length}`, shape, dtype, ...(q ? { quant: q } : {}) });
    this.inputs.push(t);
    this.fills.push(fill);
    return t;
  }

  constant(shape: number[], dtype: DType, data: TensorData, q?: Quantization): number {
    return this.add({ name: `const${this.tensors.length}`, shape, dtype, data, ...(q ? { quant: q } : {}) });
  }

  /** Adds an op writing a new tensor, a graph output unless `internal`; returns the tensor. */
  op(kind: OpKind, attrs: object, inputs: number[], shape: number[], dtype: DType, q?: Quantization, internal = false): number {
    const out = this.add({ name: `${kind}${this.ops.length}`, shape, dtype, ...(q ? { quant: q } : {}) });
    this.ops.push({ kind, attrs, inputs, outputs: [out], origin: `test op ${this.ops.length}` } as Op);
    if (!internal) this.outputs.push(out);
    return out;
  }

  /** Index of the op added last. */
  get lastOp(): number {
    return this.ops.length - 1;
  }

  graph(name: string): Graph {
    return { name, tensors: this.tensors, ops: this.ops, inputs: this.inputs, outputs: this.outputs };
  }

  /** `count` samples of every input, reproducible from `seed`. */
  samples(count: number, seed: number): TensorData[][] {
    const rand = random(seed);
    return Array.from({ length: count }, () =>
      this.inputs.map((t, k) => this.fills[k](numel(this.tensors[t].shape), this.tensors[t].dtype, rand)),
    );
  }
}

/**
 * Byte equality, except that any float NaN equals any other: which NaN an invalid operation
 * makes is the FPU's choice (x86 makes a negative one, Arm a positive one), not the kernel's.
 */
export function sameBytes(expected: TensorData, got: TensorData): boolean {
  const a = dataBytes(expected);
  const b = dataBytes(got);
  if (a.length !== b.length) return false;
  if (expected instanceof Float32Array && got instanceof Float32Array) {
    return expected.every((v, i) => (Number.isNaN(v) ? Number.isNaN(got[i]) : a[4 * i] === b[4 * i] && a[4 * i + 1] === b[4 * i + 1] && a[4 * i + 2] === b[4 * i + 2] && a[4 * i + 3] === b[4 * i + 3]));
  }
  return a.every((v, i) => v === b[i]);
}

/** Asserts every output of every sample has the reference's exact bytes; names the first difference. */
export function assertMatchesReference(t: ExecutionContext, graph: Graph, samples: TensorData[][], outputs: TensorData[][]): void {
  const run = createExecutor(graph);
  const problems: string[] = [];
  samples.forEach((sample, s) => {
    run(sample).forEach((expected, k) => {
      const got = outputs[s][k];
      if (!sameBytes(expected, got)) {
        const op = graph.ops.find((o) => o.outputs[0] === graph.outputs[k]);
        const want = Array.from(expected as ArrayLike<number>);
        const have = Array.from(got as ArrayLike<number>);
        const i = want.findIndex((v, j) => !Object.is(v, have[j]));
        const where = `sample ${s}, output ${k} (${op?.kind}, ${op?.origin ?? 'no origin'})`;
        problems.push(
          want.length !== have.length
            ? `${where}: ${have.length} elements, reference ${want.length}`
            : `${where}: element ${i} is ${have[i]}, reference ${want[i]}`,
        );
      }
    });
  });
  t.deepEqual(problems.slice(0, 10), [], `${problems.length} mismatching outputs`);
}
