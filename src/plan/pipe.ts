// Conv -> conv pipelines: a convolution whose output feeds only the next convolution is run a band
// of rows at a time into a buffer, just ahead of the consumer, which reads its windows' rows from the
// band. The producer's output never exists whole: the buffer takes its place. When the consumer's
// output feeds only an add with a residual that dies there, the consumer writes its rows into the
// same buffer ahead of the band, over band rows no window still reads, and the add takes them over
// the residual: the consumer's output never exists whole either. The pipeline runs in passes (see
// pipePasses); each kernel computes the same values from the same inputs as it would for the whole
// layer, so the outputs stay bit-exact. The planner applies a pipeline where it makes the arena
// smaller, with the buffer height that weighs instructions against bytes (plan.ts).

import { DTYPE_BYTES } from '../ir/dtype.ts';
import { windowPadBefore } from '../ir/shape.ts';
import type { Conv2DOp, DepthwiseConv2DOp, Graph, Op } from '../ir/types.ts';
import { isAlias } from './lifetimes.ts';

/** Where the rows of a sliding window lie: output row y reads input rows from y * stride - pad, `span` of them. */
export interface RowWindow {
  stride: number;
  pad: number;
  span: number;
  inRows: number;
  outRows: number;
}

export interface ConvPipe {
  /** The convolution computed a row at a time into the band. */
  producer: number;
  /** The convolution (producer + 1) that reads its rows from the band. */
  consumer: number;
  /** The add (consumer + 1) run on each of the consumer's output rows, in place over the residual. */
  add?: number;
  /** The add's other input, which it writes over. */
  residual?: number;
  producerRows: RowWindow;
  consumerRows: RowWindow;
  /** The buffer's height in rows of the producer's output (it holds the band and, with the add, the
   *  consumer's rows ahead of it), and bytes in each of those rows. */
  bandRows: number;
  rowBytes: number;
  /** Bytes of one output row of the consumer. */
  outRowBytes: number;
}

type WindowOp = Conv2DOp | DepthwiseConv2DOp;

function rowWindow(graph: Graph, op: WindowOp): RowWindow {
  const inRows = graph.tensors[op.inputs[0]].shape[1];
  const kernel = graph.tensors[op.inputs[1]].shape[1];
  const [stride] = op.attrs.stride;
  const [dilation] = op.attrs.dilation;
  return {
    stride,
    pad: windowPadBefore(inRows, kernel, stride, dilation, op.attrs.padding),
    span: (kernel - 1) * dilation + 1,
    inRows,
    outRows: graph.tensors[op.outputs[0]].shape[1],
  };
}

/** The rows [lo, hi) of its input that output row y of a window reads. */
export function windowRows(w: RowWindow, y: number): [number, number] {
  const top = y * w.stride - w.pad;
  return [Math.max(0, top), Math.min(w.inRows, top + w.span)];
}

/**
 * Whether the add may write row y of the residual, which is also the producer's input, once the
 * consumer's row y is done: the producer rows still to compute then read only input rows below y.
 */
function residualRowsFreeInTime(p: RowWindow, c: RowWindow): boolean {
  for (let y = 0; y < c.outRows; y++) {
    const next = windowRows(c, y)[1];
    if (next < p.outRows && windowRows(p, next)[0] <= y) return false;
  }
  return true;
}

/**
 * Every producer -> consumer pair of convolutions that could run as a pipeline: `windowed(op)` says
 * the kernel chosen for op computes the output rows an ec_window describes, `addsRows(op)` that an
 * add runs on any run of whole rows (no broadcasting). Both images int8 NHWC of one batch; the
 * producer's output read by the consumer only (and no graph output); likewise the consumer's output
 * for the add, whose residual must be an activation nothing reads after it.
 */
export function convPipeCandidates(graph: Graph, windowRowsOf: (op: Op) => boolean, addsRows: (op: Op) => boolean): ConvPipe[] {
  // Asked once per op (every op but the first is a consumer, then a producer).
  const known = new Map<Op, boolean>();
  const windowed = (op: Op) => known.get(op) ?? known.set(op, windowRowsOf(op)).get(op)!;
  const readers = new Map<number, number[]>();
  graph.ops.forEach((op, i) => op.inputs.forEach((t) => readers.set(t, [...(readers.get(t) ?? []), i])));
  const producerOf = new Map<number, number>();
  graph.ops.forEach((op, i) => op.outputs.forEach((t) => producerOf.set(t, i)));
  const outputs = new Set(graph.outputs);
  const image = (t: number) => graph.tensors[t].dtype === 'int8' && graph.tensors[t].shape.length === 4 && graph.tensors[t].shape[0] === 1;
  const onlyReader = (t: number, op: number) => !outputs.has(t) && (readers.get(t) ?? []).length === 1 && readers.get(t)![0] === op;
  const isWindow = (op: Op | undefined): op is WindowOp => op?.kind === 'conv2d' || op?.kind === 'depthwise_conv2d';
  const pipes: ConvPipe[] = [];
  graph.ops.forEach((p, i) => {
    const c = graph.ops[i + 1];
    if (!isWindow(p) || !isWindow(c) || !windowed(p) || !windowed(c)) return;
    const [x, mid, out] = [p.inputs[0], p.outputs[0], c.outputs[0]];
    if (c.inputs[0] !== mid || !onlyReader(mid, i + 1) || ![x, mid, out].every(image)) return;
    const producerRows = rowWindow(graph, p);
    const consumerRows = rowWindow(graph, c);
    const [, , width, channels] = graph.tensors[mid].shape;
    const [, , outWidth, outChannels] = graph.tensors[out].shape;
    const pipe: ConvPipe = {
      producer: i,
      consumer: i + 1,
      producerRows,
      consumerRows,
      bandRows: producerRows.outRows,
      rowBytes: width * channels * DTYPE_BYTES.int8,
      outRowBytes: outWidth * outChannels * DTYPE_BYTES.int8,
    };
    const a = graph.ops[i + 2];
    // With the add first: a planner that takes the plain pipeline cannot take the other as well.
    if (a?.kind === 'add' && addsRows(a) && onlyReader(out, i + 2) && a.inputs.filter((t) => t === out).length === 1) {
      const residual = a.inputs.find((t) => t !== out)!;
      if (residualDies(graph, residual, i + 2, readers, producerOf) && [residual, a.outputs[0]].every((t) => sameShape(graph, t, out))) {
        if (residual !== x || residualRowsFreeInTime(producerRows, consumerRows)) pipes.push({ ...pipe, add: i + 2, residual });
      }
    }
    pipes.push(pipe);
  });
  return pipes;
}

const sameShape = (graph: Graph, a: number, b: number) => graph.tensors[a].shape.join() === graph.tensors[b].shape.join();

/**
 * Whether the add at `index` may write over `residual`: an int8 NHWC activation (no graph input,
 * constant or output) produced by an op other than an alias and read by no alias and no later op.
 */
function residualDies(graph: Graph, residual: number, index: number, readers: Map<number, number[]>, producerOf: Map<number, number>): boolean {
  const r = producerOf.get(residual);
  if (r === undefined || isAlias(graph.ops[r]) || graph.outputs.includes(residual)) return false;
  const t = graph.tensors[residual];
  if (t.dtype !== 'int8' || t.shape.length !== 4) return false;
  return (readers.get(residual) ?? []).every((k) => k <= index && !isAlias(graph.ops[k]));
}

/**
 * One pass of a pipeline: the band then holds the producer's rows [first, end), from byte `at` of the
 * buffer on; the rows [first, previous pass's end) it kept are copied there first; the producer
 * computes the rest, then the consumer its rows [previous pass's rowsEnd, rowsEnd), written from
 * byte 0 of the buffer when an add takes them (else into its output).
 */
export interface PipePass {
  first: number;
  end: number;
  at: number;
  rowsEnd: number;
}

/**
 * The passes of `pipe` in a buffer of its bandRows rows, each taking as many of the consumer's rows as
 * fit, or undefined where the buffer cannot hold one row's window (and, with the add, the row). With
 * the add, consumer row y is written (y - first consumer row of the pass) rows from byte 0, which must
 * end before the band's row its window starts at: the kernels write over input rows above the
 * current window only (runtime-c/include/ec_nn.h, in place).
 */
export function pipePasses(pipe: ConvPipe): PipePass[] | undefined {
  const c = pipe.consumerRows;
  const row = pipe.rowBytes;
  const bytes = pipe.bandRows * row;
  const passes: PipePass[] = [];
  let [end, y] = [0, 0];
  while (y < c.outRows) {
    const first = Math.min(end, windowRows(c, y)[0]);
    let taken: PipePass | undefined;
    let at = 0;
    for (let next = y + 1; next <= c.outRows; next++) {
      const [lo, hi] = windowRows(c, next - 1);
      if (pipe.add !== undefined) at = Math.max(at, (next - y) * pipe.outRowBytes - (lo - first) * row);
      const pass = { first, end: Math.max(end, hi), at, rowsEnd: next };
      if (at + (pass.end - first) * row > bytes) break;
      taken = pass;
    }
    if (!taken) return undefined;
    passes.push(taken);
    [end, y] = [taken.end, taken.rowsEnd];
  }
  return passes;
}

/** Instructions a pass is taken to cost (the three kernels' set-up and the loop), and a byte kept
 *  from one pass to the next (copied): measured on ResNet-8's first block. */
const PASS_INSTRUCTIONS = 300;
const COPY_INSTRUCTIONS_PER_BYTE = 0.5;

/** Instructions the passes add to the layers run whole, by the estimate above. */
export function passOverhead(pipe: ConvPipe, passes: PipePass[]): number {
  const kept = passes.reduce((sum, pass, i) => sum + (i === 0 ? 0 : passes[i - 1].end - pass.first), 0);
  return passes.length * PASS_INSTRUCTIONS + kept * pipe.rowBytes * COPY_INSTRUCTIONS_PER_BYTE;
}
