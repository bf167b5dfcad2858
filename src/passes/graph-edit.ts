// What the passes share: who reads a tensor and copies of ops that a pass may change (dropping the
// tensors no op uses any more is src/ir/compact.ts).

import type { Graph, Op } from '../ir/types.ts';

/** For every tensor, the indices of the ops that read it (once per op). */
export function readersOf(graph: Graph): number[][] {
  const readers = graph.tensors.map((): number[] => []);
  graph.ops.forEach((op, i) => new Set(op.inputs).forEach((t) => readers[t].push(i)));
  return readers;
}

/** A copy of `op` whose inputs, outputs and attrs a pass may change without touching the original. */
export function copyOp<O extends Op>(op: O): O {
  return { ...op, inputs: [...op.inputs], outputs: [...op.outputs], attrs: { ...op.attrs } };
}

export function isFloat(graph: Graph, op: Op): boolean {
  return [...op.inputs, ...op.outputs].every((t) => graph.tensors[t].dtype === 'float32');
}

/** Whether `t` is read by exactly one op and is not a graph output: its producer may then be rewritten freely. */
export function onlyReadBy(graph: Graph, readers: number[][], t: number, reader: number): boolean {
  return readers[t].length === 1 && readers[t][0] === reader && !graph.outputs.includes(t) && !graph.inputs.includes(t);
}

