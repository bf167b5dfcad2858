// Several single-model graphs side by side in one graph (inputs and outputs in model order), so
// that one build of the generated C runs them all.

import type { Graph } from '../../src/ir/types.ts';

export function sideBySide(name: string, graphs: Graph[]): Graph {
  const graph: Graph = { name, tensors: [], ops: [], inputs: [], outputs: [] };
  for (const g of graphs) {
    const at = graph.tensors.length;
    const shift = (list: number[]) => list.map((t) => t + at);
    graph.tensors.push(...g.tensors.map((t) => ({ ...t, name: `${graph.tensors.length}_${t.name}` })));
    graph.ops.push(...g.ops.map((op) => ({ ...op, inputs: shift(op.inputs), outputs: shift(op.outputs) })));
    graph.inputs.push(...shift(g.inputs));
    graph.outputs.push(...shift(g.outputs));
  }
  return graph;
}
