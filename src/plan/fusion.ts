// Row-band fusion: a convolution whose whole output feeds one fully-connected layer is run a band of
// output rows at a time, each band summed into the fully-connected layer's int32 accumulators as soon
// as it is produced. The convolution's output then never exists whole: one band of it and the
// accumulators take its place in the arena (micro_speech: 4,000 bytes become 2 x 160 + 16). Integer
// sums do not depend on their order, so the outputs stay bit-exact. The planner applies it where it
// makes the arena smaller, with the band height that weighs instructions against bytes (plan.ts).

import { DTYPE_BYTES, numel } from '../ir/dtype.ts';
import type { Graph, Op } from '../ir/types.ts';
import { isAlias } from './lifetimes.ts';

export interface RowFusion {
  /** The op computed one output row at a time. */
  producer: number;
  /** The fully-connected op that sums each row into its accumulators. */
  consumer: number;
  /** Output rows of the producer, and bytes in each. */
  rows: number;
  rowBytes: number;
  /** Output rows per call of the producer's kernel (the last band may be shorter). */
  bandRows: number;
  /** Input rows a band's window spans beyond the `stride` rows each further output row adds, and
   *  bytes per input row: each band reads those rows again (the kernels widen them first). */
  windowOverlap: number;
  stride: number;
  inRowBytes: number;
  /** Bytes of the consumer's int32 accumulators. */
  accumulatorBytes: number;
}

/**
 * Every producer -> fully-connected pair that could run fused: `bands(op)` says the kernel chosen for
 * the producer can compute a band of output rows and the one for the consumer can sum a slice of
 * its input. The producer's int8 NHWC output (one batch) must reach the consumer only through
 * reshapes, be read by nothing else and be no graph output, and the consumer must compute a single
 * row of output (its input is one vector).
 */
export function rowFusionCandidates(graph: Graph, bands: (producer: Op, consumer: Op) => boolean): RowFusion[] {
  const readers = new Map<number, number[]>();
  graph.ops.forEach((op, i) => op.inputs.forEach((t) => readers.set(t, [...(readers.get(t) ?? []), i])));
  const producerOf = new Map<number, number>();
  graph.ops.forEach((op, i) => op.outputs.forEach((t) => producerOf.set(t, i)));
  const outputs = new Set(graph.outputs);
  const fusions: RowFusion[] = [];
  graph.ops.forEach((consumer, c) => {
    if (consumer.kind !== 'fully_connected') return;
    const weights = graph.tensors[consumer.inputs[1]];
    if (weights.shape.length !== 2 || numel(graph.tensors[consumer.inputs[0]].shape) !== weights.shape[1]) return;
    // Back through the reshapes to the producer, each link read once and by the next op.
    let t = consumer.inputs[0];
    let next = c;
    for (;;) {
      if (outputs.has(t) || (readers.get(t) ?? []).length !== 1 || readers.get(t)![0] !== next) return;
      const p = producerOf.get(t);
      if (p === undefined || p !== next - 1) return;
      if (!isAlias(graph.ops[p])) break;
      t = graph.ops[p].inputs[0];
      next = p;
    }
    const p = producerOf.get(t)!;
    const producer = graph.ops[p];
    const out = graph.tensors[t];
    if (producer.kind !== 'conv2d' && producer.kind !== 'depthwise_conv2d') return;
    if (out.dtype !== 'int8' || out.shape.length !== 4 || out.shape[0] !== 1 || !bands(producer, consumer)) return;
    const [, rows, width, channels] = out.shape;
    const [, , inWidth, inChannels] = graph.tensors[producer.inputs[0]].shape;
    const [stride] = producer.attrs.stride;
    const extent = (graph.tensors[producer.inputs[1]].shape[1] - 1) * producer.attrs.dilation[0] + 1;
    fusions.push({
      producer: p,
      consumer: c,
      rows,
      rowBytes: width * channels * DTYPE_BYTES.int8,
      bandRows: 1,
      windowOverlap: Math.max(0, extent - stride),
      stride,
      inRowBytes: inWidth * inChannels * DTYPE_BYTES.int8,
      accumulatorBytes: 4 * weights.shape[0],
    });
  });
  return fusions;
}

/** Instructions a band of rows is taken to cost per byte of the input it reads again, and per call
 *  (the producer's and the sum's set-up): measured on micro_speech's 10x8 stride-2 layer (c1 kernel). */
const REREAD_INSTRUCTIONS_PER_BYTE = 5;
const CALL_INSTRUCTIONS = 400;

/** Instructions the fusion adds to the unfused layers, by the estimate above: every band after the
 *  first reads its window's overlap with the previous band again. */
export function bandOverhead(f: RowFusion): number {
  const bands = Math.ceil(f.rows / f.bandRows);
  return (bands - 1) * f.windowOverlap * f.inRowBytes * REREAD_INSTRUCTIONS_PER_BYTE + bands * CALL_INSTRUCTIONS;
}
