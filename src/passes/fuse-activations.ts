// Fuses a relu or relu6 into the op that produces its input (conv, depthwise, dense, add, sub,
// mul) when nothing else reads that op's output: the producer clamps its own output and writes the
// activation's tensor. Only float32 ops: in int8 the separate requantization would round
// differently from the model as it was trained and converted.

import type { Activation, Graph, Op } from '../ir/types.ts';
import { compact } from '../ir/compact.ts';
import { copyOp, isFloat, onlyReadBy, readersOf } from './graph-edit.ts';
import { opTraits } from '../ir/op-traits.ts';

/** The one fused activation equal to `first` then `then`, if there is one. */
function combine(first: Activation, then: 'relu' | 'relu6'): Activation | undefined {
  if (first === 'none' || first === 'relu') return then;
  if (first === 'relu6') return 'relu6';
  return undefined;
}

export function fuseActivations(graph: Graph): Graph {
  const readers = readersOf(graph);
  const ops: (Op | undefined)[] = graph.ops.map(copyOp);
  const producer = new Map(graph.ops.map((op, i) => [op.outputs[0], i]));
  graph.ops.forEach((a, ai) => {
    if ((a.kind !== 'relu' && a.kind !== 'relu6') || !isFloat(graph, a)) return;
    const t = a.inputs[0];
    const pi = producer.get(t);
    const p = pi === undefined ? undefined : ops[pi];
    if (pi === undefined || !p || !opTraits(p).fusesActivation || !('activation' in p.attrs) || !isFloat(graph, p) || !onlyReadBy(graph, readers, t, ai)) return;
    const activation = combine(p.attrs.activation, a.kind);
    if (!activation) return;
    ops[pi] = { ...p, outputs: [...a.outputs], attrs: { ...p.attrs, activation } } as Op;
    ops[ai] = undefined;
    producer.set(a.outputs[0], pi);
  });
  const kept = ops.filter((op): op is Op => op !== undefined);
  return kept.length === graph.ops.length ? graph : compact({ ...graph, ops: kept });
}
