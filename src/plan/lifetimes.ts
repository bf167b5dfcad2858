// Which activation buffers exist, and from which op to which op each must stay intact.
// Reshapes and squeezes alias their input; element-wise ops may write over an input that dies with
// them; an op that streams rows (op-traits `streamsRows`) may write its output over the input rows
// it is done with, when that input dies with it. A kernel that copies the rows of a window to
// scratch before it writes the window's output row (the 3x3 depthwise ring) is done with them
// sooner: its output may overwrite its input outright (in-place depthwise).

import { DTYPE_BYTES, numel } from '../ir/dtype.ts';
import { windowPadBefore } from '../ir/shape.ts';
import type { Graph, Op } from '../ir/types.ts';
import { opTraits } from '../ir/op-traits.ts';
import type { RowFusion } from './fusion.ts';
import type { ConvPipe } from './pipe.ts';

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
  /** For the int32 accumulators of a fully-connected op fed row by row (a RowFusion), that op's index. */
  accumulatorsOf?: number;
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
  /** Output buffers allowed to overlap the input they stream from (see `Overlap`). */
  overlaps: Overlap[];
}

/**
 * Buffer `output` may share bytes with buffer `input` when the input starts at least `gap` bytes
 * after the output does: the op writes output row y only after reading, for the last time, the
 * input rows above the window of row y, and `gap` keeps every output byte written so far below
 * every input byte still to be read.
 */
export interface Overlap {
  output: number;
  input: number;
  gap: number;
}

/** What the kernel chosen for an op needs from the planner. */
export interface KernelNeeds {
  /** Bytes of scratch memory the kernel needs for the duration of the op. */
  scratchBytes?: (op: Op, index: number) => number;
  /**
   * Input rows the kernel holds in scratch: before it writes output row y it has read every input
   * row up to (row y's window top + heldRows - 1) for the last time. 0 for kernels that read the
   * input while they write.
   */
  heldRows?: (op: Op, index: number) => number;
  /**
   * Bytes at the start of the kernel's scratch that it reads for the last time before it writes its
   * last output row, which may therefore lie over them (a row-band fusion puts a band's last row
   * there). 0 if omitted.
   */
  scratchFreeForLastRow?: (op: Op, index: number) => number;
}

/**
 * @param fusions producers that run a band of output rows at a time into their fully-connected
 * consumer: their output buffer holds one band, alive only while they run, and the consumer's accumulators
 * (instead of its kernel's scratch) live from the producer to the consumer.
 * @param pipes conv -> conv pipelines (see pipe.ts), whose rows are all computed at their last op
 * (the consumer, or the add): the producer's input and the kernels' scratch (one buffer: they run
 * one after the other) stay until then, the producer's output is the band's buffer, which also holds
 * the consumer's rows when the add takes them over the residual (in place).
 */
export function computeLifetimes(graph: Graph, needs: KernelNeeds = {}, fusions: RowFusion[] = [], pipes: ConvPipe[] = []): Lifetimes {
  const scratchBytes = needs.scratchBytes ?? (() => 0);
  const heldRows = needs.heldRows ?? (() => 0);
  const scratchFreeForLastRow = needs.scratchFreeForLastRow ?? (() => 0);
  const fusedProducer = new Map(fusions.map((f) => [f.producer, f]));
  const fusedConsumers = new Set(fusions.map((f) => f.consumer));
  const buffers: Buffer[] = [];
  const bufferOf = new Map<number, number>();
  const inPlace = new Map<number, number>();
  const overlaps: Overlap[] = [];
  const lastUse = new Map<number, number>();
  graph.ops.forEach((op, i) => op.inputs.forEach((t) => lastUse.set(t, i)));
  for (const t of graph.outputs) lastUse.set(t, graph.ops.length);
  const pipeAt = new Map(pipes.flatMap((p) => [p.producer, p.consumer, ...(p.add === undefined ? [] : [p.add])].map((i) => [i, p] as const)));
  const pipeEnd = (p: ConvPipe) => p.add ?? p.consumer;
  for (const p of pipes) {
    const x = graph.ops[p.producer].inputs[0];
    lastUse.set(x, Math.max(lastUse.get(x) ?? 0, pipeEnd(p)));
  }
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
    const pipe = pipeAt.get(i);
    const sourceBuffer = bufferOf.get(source);
    if (isAlias(op) && sourceBuffer !== undefined) {
      bufferOf.set(out, sourceBuffer);
      buffers[sourceBuffer].tensors.push(out);
      extend(sourceBuffer, lastUse.get(out) ?? i);
    } else {
      const reusable =
        pipe?.add === i ? op.inputs.indexOf(pipe.residual!) : opTraits(op).elementwise ? inPlaceCandidate(graph, op, i, bufferOf, buffers, lastUse) : -1;
      if (reusable >= 0) {
        const b = bufferOf.get(op.inputs[reusable])!;
        inPlace.set(i, reusable);
        bufferOf.set(out, b);
        buffers[b].tensors.push(out);
        extend(b, lastUse.get(out) ?? i);
      } else if (pipe?.consumer === i && pipe.add !== undefined) {
        // The consumer's rows for the add go ahead of the band, in its buffer (pipe.ts).
        const b = bufferOf.get(source)!;
        bufferOf.set(out, b);
        buffers[b].tensors.push(out);
      } else if (pipe) {
        // The buffer of the band, or the consumer's whole output; no streaming over a band.
        open(out, i);
        if (i === pipe.producer) buffers[bufferOf.get(out)!].bytes = pipe.bandRows * pipe.rowBytes;
      } else if (fusedProducer.has(i)) {
        open(out, i);
        const { rowBytes, bandRows } = fusedProducer.get(i)!;
        buffers[bufferOf.get(out)!].bytes = rowBytes * bandRows;
        const { consumer, accumulatorBytes } = fusedProducer.get(i)!;
        buffers.push({ tensors: [], bytes: accumulatorBytes, first: i, last: consumer, accumulatorsOf: consumer });
      } else {
        open(out, i);
        const gap = opTraits(op).streamsRows ? streamingGap(graph, op, heldRows(op, i)) : undefined;
        const input = bufferOf.get(source);
        // A graph input may be streamed over too: callers write the inputs before every invoke.
        const unread = input !== undefined && buffers[input].tensors.every((a) => (lastUse.get(a) ?? -1) <= i);
        if (gap !== undefined && unread) overlaps.push({ output: bufferOf.get(out)!, input: input!, gap });
      }
    }
    // A pipeline's kernels run one after the other: the producer's scratch serves both.
    const scratch = fusedConsumers.has(i) || pipe?.consumer === i ? 0 : pipe?.producer === i ? Math.max(scratchBytes(op, i), scratchBytes(graph.ops[pipe.consumer], pipe.consumer)) : scratchBytes(op, i);
    const until = pipe ? pipeEnd(pipe) : i;
    if (scratch > 0) buffers.push({ tensors: [], bytes: scratch, first: i, last: until, scratchOf: i });
    // A band's last row over the scratch bytes the kernel is done with by then, the rows above it before them.
    const fused = fusedProducer.get(i);
    if (fused && scratch > 0 && scratchFreeForLastRow(op, i) >= fused.rowBytes) {
      overlaps.push({ output: bufferOf.get(out)!, input: buffers.length - 1, gap: (fused.bandRows - 1) * fused.rowBytes });
    }
  });
  for (const p of pipes) buffers[bufferOf.get(graph.ops[p.producer].outputs[0])!].last = pipeEnd(p);
  // A fused producer's row is summed as soon as it is written: nothing reads it after the producer.
  for (const f of fusions) buffers[bufferOf.get(graph.ops[f.producer].outputs[0])!].last = f.producer;
  return { buffers, bufferOf, inPlace, overlaps };
}

/** Whether a buffer holds an op's value that nothing reads after op `index` (and is no graph input). */
function dies(buffer: Buffer, index: number, lastUse: Map<number, number>): boolean {
  return buffer.first >= 0 && buffer.tensors.every((a) => (lastUse.get(a) ?? -1) <= index);
}

/**
 * The least distance from the start of a streaming op's output to the start of its input at which
 * the output may overlap it: for every output row y, the output written up to the end of row y
 * stays below the first input row the kernel may still read (row y's window top, clipped at 0,
 * plus the rows it holds in scratch by then; once it has read every row, nothing). Negative when
 * the output may start above the input. Only for int8 NHWC images of one batch; undefined otherwise.
 */
export function streamingGap(graph: Graph, op: Op, heldRows = 0): number | undefined {
  if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d' && op.kind !== 'avg_pool2d' && op.kind !== 'max_pool2d') return undefined;
  const input = graph.tensors[op.inputs[0]];
  const output = graph.tensors[op.outputs[0]];
  if (input.dtype !== 'int8' || output.dtype !== 'int8' || input.shape.length !== 4 || input.shape[0] !== 1) return undefined;
  const [, height, width, channels] = input.shape;
  const [, outHeight, outWidth, outChannels] = output.shape;
  const pool = op.kind === 'avg_pool2d' || op.kind === 'max_pool2d';
  const kernelHeight = pool ? op.attrs.filter[0] : graph.tensors[op.inputs[1]].shape[1];
  const dilation = 'dilation' in op.attrs ? op.attrs.dilation[0] : 1;
  const stride = op.attrs.stride[0];
  const top = windowPadBefore(height, kernelHeight, stride, dilation, op.attrs.padding);
  const rowIn = width * channels;
  const rowOut = outWidth * outChannels;
  let gap = -Infinity;
  for (let y = 0; y < outHeight; y++) {
    const unread = Math.max(0, y * stride - top + heldRows);
    if (unread < height || heldRows === 0) gap = Math.max(gap, (y + 1) * rowOut - unread * rowIn);
  }
  // Every row read before the first output row is written: no constraint but the input's own bytes.
  return gap === -Infinity ? -height * rowIn : gap;
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
    const readTwice = op.inputs.filter((x) => x === t).length > 1;
    if (sameLayout && dies(buffers[b], index, lastUse) && !readTwice) return position;
  }
  return -1;
}
