// Removing tensors a graph no longer refers to: what every pass that drops ops ends with.

import type { Graph, Tensor } from './types.ts';

/** The graph without the tensors that no op, graph input or graph output refers to; indices renumbered in order. */
export function compact(graph: Graph): Graph {
  const used = new Set([...graph.inputs, ...graph.outputs, ...graph.ops.flatMap((op) => [...op.inputs, ...op.outputs])]);
  const index = new Map<number, number>();
  const tensors: Tensor[] = [];
  graph.tensors.forEach((t, i) => {
    if (!used.has(i)) return;
    index.set(i, tensors.length);
    tensors.push(t);
  });
  const renumber = (list: number[]) => list.map((t) => index.get(t)!);
  return {
    ...graph,
    tensors,
    ops: graph.ops.map((op) => ({ ...op, inputs: renumber(op.inputs), outputs: renumber(op.outputs) })),
    inputs: renumber(graph.inputs),
    outputs: renumber(graph.outputs),
  };
}
