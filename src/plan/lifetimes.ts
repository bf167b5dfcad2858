// Which activation buffers exist, and from which op to which op each must stay intact.
// Reshapes and squeezes alias their input; element-wise ops may write over an input that dies with them.

import { DTYPE_BYTES, numel } from '../ir/dtype.ts';
import type { Graph, Op } from '../ir/types.ts';
import { opTraits } from '../ir/op-traits.ts';

/** One region of the arena: a tensor and every tensor aliased onto it. */
export interface Buffer {
  /** Tensors that share this memory; the first is the one that owns it. */
  tensors: number[];
  bytes: number;
  /** Index of the op that writes it first (-1 for graph inputs). */
  first: number;
  /** Index of the last op that reads it (ops.length for graph outputs). */
  last: number;
  /** For an op's scratch buffer, that op's index. */
  scratchOf?: number;
}

/** Ops that are a new view of the same bytes and so need no memory and no code. */
export function isAlias(op: Op): boolean {
  return op.kind === 'reshape' || op.kind === 'squeeze';
}

const bytesOf = (graph: Graph, t: number) => numel(graph.tensors[t].shape) * DTYPE_BYTES[graph.tensors[t].dtype];

export interface Lifetimes {
  buffers: Buffer[];
  /** Tensor index -> index into `buffers`, for every activation tensor. */
  bufferOf: Map<number, number>;
  /** Ops that run in place: op index -> the input position whose buffer the output reuses. */
  inPlace: Map<number, number>;
}

/**
 * @param scratchBytes bytes of scratch memory each op's kernel needs for the duration of that op.
 */
export function computeLifetimes(graph: Graph, scratchBytes: (op: Op, index: number) => number = () => 0): Lifetimes {
  const buffers: Buffer[] = [];
  const bufferOf = new Map<number, number>();
  const inPlace = new Map<number, number>();
  const lastUse = new Map<number, number>();
  graph.ops.forEach((op, i) => op.inputs.forEach((t) => lastUse.set(t, i)));
  for (const t of graph.outputs) lastUse.set(t, graph.ops.length);
  // A buffer that aliases a graph input or output must outlive the whole graph's I/O contract.
  const extend = (b: number, until: number) => (buffers[b].last = Math.max(buffers[b].last, until));

  const open = (t: number, first: number) => {
    bufferOf.set(t, buffers.length);
    buffers.push({ tensors: [t], bytes: bytesOf(graph, t), first, last: lastUse.get(t) ?? first });
  };
  for (const t of graph.inputs) open(t, -1);

  graph.ops.forEach((op, i) => {
    const out = op.outputs[0];
    const source = op.inputs[0];
    const sourceBuffer = bufferOf.get(source);
    if (isAlias(op) && sourceBuffer !== undefined) {
      bufferOf.set(out, sourceBuffer);
      buffers[sourceBuffer].tensors.push(out);
      extend(sourceBuffer, lastUse.get(out) ?? i);
    } else {
      const reusable = opTraits(op).elementwise ? inPlaceCandidate(graph, op, i, bufferOf, buffers, lastUse) : -1;
      if (reusable >= 0) {
        const b = bufferOf.get(op.inputs[reusable])!;
        inPlace.set(i, reusable);
        bufferOf.set(out, b);
        buffers[b].tensors.push(out);
        extend(b, lastUse.get(out) ?? i);
      } else {
        open(out, i);
      }
    }
    const scratch = scratchBytes(op, i);
    if (scratch > 0) buffers.push({ tensors: [], bytes: scratch, first: i, last: i, scratchOf: i });
  });
  return { buffers, bufferOf, inPlace };
}

/** The input position whose buffer this element-wise op can overwrite, or -1. */
function inPlaceCandidate(
  graph: Graph,
  op: Op,
  index: number,
  bufferOf: Map<number, number>,
  buffers: Buffer[],
  lastUse: Map<number, number>,
): number {
  const out = graph.tensors[op.outputs[0]];
  for (let position = 0; position < op.inputs.length; position++) {
    const t = op.inputs[position];
    const b = bufferOf.get(t);
    if (b === undefined) continue; // a constant
    const input = graph.tensors[t];
    const sameLayout =
      DTYPE_BYTES[input.dtype] === DTYPE_BYTES[out.dtype] &&
      input.shape.length === out.shape.length &&
      input.shape.every((d, k) => d === out.shape[k]);
    // The buffer must die here: no later reader of it or of any tensor aliased to it, and not a graph input.
    const dies = buffers[b].first >= 0 && buffers[b].tensors.every((a) => (lastUse.get(a) ?? -1) <= index);
    const readTwice = op.inputs.filter((x) => x === t).length > 1;
    if (sameLayout && dies && !readTwice) return position;
  }
  return -1;
}
