// The kernel golden files (fixtures/kernels/*.json, TensorFlow Lite Micro's outputs): each case a
// single-op graph with its feeds and expected output; and a family's cases side by side in one
// graph, for running the generated C on all of them at once.

import { readFileSync } from 'node:fs';
import { allocate } from '../../src/ir/dtype.ts';
import type { DType, Graph, Op, Quantization, TensorData } from '../../src/ir/types.ts';

interface CaseTensor {
  name: string;
  shape: number[];
  dtype: DType;
  quant?: Quantization;
  data?: number[];
}

export interface KernelCase {
  name: string;
  op: { kind: Op['kind']; attrs: Record<string, unknown> };
  tensors: CaseTensor[];
  feeds: number[][];
  expected: number[];
  lowered?: Record<string, number | number[]>;
}

export function loadKernelCases(family: string): KernelCase[] {
  const text = readFileSync(new URL(`../fixtures/kernels/${family}.json`, import.meta.url), 'utf8');
  return (JSON.parse(text) as { cases: KernelCase[] }).cases;
}

/** Values of a fixture (float specials as the strings Number() reads) in the dtype's array. */
function typed(dtype: DType, values: number[]): TensorData {
  const data = allocate(dtype, values.length);
  (data as Exclude<TensorData, BigInt64Array>).set(values.map(Number));
  return data;
}

/**
 * Cases side by side in one graph (a case's op reads its tensors but the last and writes the last; renumbered here, every case's output a graph output), with
 * the one sample that feeds them all and the outputs TensorFlow Lite Micro gave.
 */
export function familyGraph(name: string, cases: KernelCase[]): { graph: Graph; sample: TensorData[]; expected: TensorData[] } {
  const graph: Graph = { name, tensors: [], ops: [], inputs: [], outputs: [] };
  const sample: TensorData[] = [];
  for (const c of cases) {
    const first = graph.tensors.length;
    for (const t of c.tensors) {
      graph.tensors.push({ name: t.name, shape: t.shape, dtype: t.dtype, ...(t.quant ? { quant: t.quant } : {}), ...(t.data ? { data: typed(t.dtype, t.data) } : {}) });
    }
    const out = graph.tensors.length - 1;
    const inputs = c.tensors.slice(0, -1).map((_, i) => first + i);
    graph.ops.push({ kind: c.op.kind, attrs: c.op.attrs, inputs, outputs: [out], origin: c.name } as unknown as Op);
    inputs.filter((i) => !graph.tensors[i].data).forEach((i, k) => {
      graph.inputs.push(i);
      sample.push(typed(graph.tensors[i].dtype, c.feeds[k]));
    });
    graph.outputs.push(out);
  }
  const expected = cases.map((c, k) => typed(graph.tensors[graph.outputs[k]].dtype, c.expected));
  return { graph, sample, expected };
}
