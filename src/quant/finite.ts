// NaN and infinity checks. One non-finite weight or input value turns every activation after it
// into NaN, and the quantized model silently into garbage; they are caught where they enter.

import { modelError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';
import { describeOp } from '../ir/verify.ts';

/** Index of the first NaN or infinity in `values`, or -1. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/** Throws a model error naming every float constant (weights, biases, operands) that holds NaN or infinity. */
export function checkFiniteConstants(graph: Graph): void {
  const problems: string[] = [];
  graph.tensors.forEach((t, i) => {
    if (!(t.data instanceof Float32Array)) return;
    const at = firstNonFinite(t.data);
    if (at < 0) return;
    const users = graph.ops.flatMap((op, k) => (op.inputs.includes(i) ? [describeOp(op, k)] : []));
    problems.push(`tensor ${i} '${t.name}' [${t.shape}]${users.length ? ` (used by ${users.join(', ')})` : ''}: element ${at} is ${t.data[at]}`);
  });
  if (problems.length > 0) {
    throw modelError(`${graph.name}: ${problems.length} constant tensor(s) hold NaN or infinity; fix or retrain the model before quantizing`, problems);
  }
}
