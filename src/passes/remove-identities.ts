// Drops ops that compute nothing at inference: reshapes and squeezes to the same shape (what the
// importers make of dropout and identity layers), zero padding, and a concatenation of one input.
// Their readers read the op's input instead; an identity that writes a graph output hands that
// tensor to the op before it, so the model's outputs keep their names.

import type { Graph, Op } from '../ir/types.ts';
import { compact } from '../ir/compact.ts';
import { copyOp, onlyReadBy, readersOf } from './graph-edit.ts';

function isIdentity(graph: Graph, op: Op): boolean {
  const input = graph.tensors[op.inputs[0]];
  const output = graph.tensors[op.outputs[0]];
  // Quantized readers interpret the bytes with the tensor's own scale: only equal ones are interchangeable.
  if (input.dtype !== output.dtype || JSON.stringify(input.quant) !== JSON.stringify(output.quant)) return false;
  switch (op.kind) {
    case 'reshape':
    case 'squeeze':
      return input.shape.length === output.shape.length && input.shape.every((d, i) => d === output.shape[i]);
    case 'pad':
      return op.attrs.paddings.every(([before, after]) => before === 0 && after === 0);
    case 'concatenation':
      return op.inputs.length === 1 && op.attrs.activation === 'none';
    default:
      return false;
  }
}

export function removeIdentities(graph: Graph): Graph {
  // First every identity whose output is internal: its readers read its input.
  const replaced = new Map<number, number>();
  const ops: Op[] = [];
  for (const original of graph.ops) {
    const op = copyOp(original);
    op.inputs = op.inputs.map((t) => replaced.get(t) ?? t);
    if (isIdentity(graph, op) && !graph.outputs.includes(op.outputs[0])) replaced.set(op.outputs[0], op.inputs[0]);
    else ops.push(op);
  }
  // Then identities that write graph outputs, where the op before can write the output itself.
  const partial: Graph = { ...graph, ops };
  const readers = readersOf(partial);
  const dropped = new Set<number>();
  ops.forEach((op, i) => {
    if (!isIdentity(graph, op)) return;
    const producer = ops.findIndex((p) => p.outputs[0] === op.inputs[0]);
    if (producer < 0 || !onlyReadBy(partial, readers, op.inputs[0], i)) return;
    ops[producer].outputs = [...op.outputs];
    dropped.add(i);
  });
  return compact({ ...partial, ops: ops.filter((_, i) => !dropped.has(i)) });
}
