// What report.json says about each layer and about the memory plan, beyond the totals: the facts a
// reader needs to see where bytes and MACs go (report.html draws them).

import type { GeneratedModel } from '../codegen/generate.ts';
import { DTYPE_BYTES, numel } from '../ir/dtype.ts';
import type { Graph } from '../ir/types.ts';
import type { LayerError } from '../quant/report.ts';

export interface ReportLayer {
  index: number;
  kind: string;
  kernel: string;
  macs: number;
  /** Arena bytes alive while the op runs. */
  liveBytes: number;
  /** Shapes of the op's activation inputs and of its output, as `[1,96,96,8] int8`. */
  inputs: string[];
  output: string;
  /** The output tensor's name (the quantization report names layers by it). */
  outputTensor: string;
  /** Bytes of the op's constants as the model holds them (the kernels may widen some). */
  paramBytes: number;
  /** Where the output lives: [start, end) in the arena; absent for an output outside the arena. */
  arena?: [number, number];
}

/** One region of the arena and what it holds, from the op that writes it to the last that reads it. */
export interface ReportBuffer {
  /** Tensor names sharing the bytes (aliases after the owner), or what a kernel keeps there. */
  holds: string[];
  offset: number;
  bytes: number;
  /** -1: a model input, written before the first op. */
  first: number;
  /** ops.length: a model output, read after the last op. */
  last: number;
  scratchOf?: number;
}

/** One layer's quantized output against its float output on the calibration data (null SQNR: identical). */
export interface ReportQuantLayer {
  tensor: string;
  /** int8, or int16 (16x8). */
  activations: LayerError['activations'];
  sqnrDb: number | null;
  cosine: number;
  maxAbsError: number;
}

export interface ReportMemory {
  arenaBytes: number;
  strategy: string;
  buffers: ReportBuffer[];
}

const describe = (graph: Graph, t: number) => `[${graph.tensors[t].shape.join(',')}] ${graph.tensors[t].dtype}`;
const bytesOf = (graph: Graph, t: number) => numel(graph.tensors[t].shape) * DTYPE_BYTES[graph.tensors[t].dtype];

export function reportLayers(graph: Graph, model: GeneratedModel): ReportLayer[] {
  return model.ops.map((o) => {
    const op = graph.ops[o.index];
    const activations = op.inputs.filter((t) => t >= 0 && !graph.tensors[t].data);
    const params = op.inputs.filter((t) => t >= 0 && graph.tensors[t].data);
    const out = op.outputs[0];
    const offset = model.plan.tensorOffset.get(out);
    return {
      ...o,
      inputs: activations.map((t) => describe(graph, t)),
      output: describe(graph, out),
      outputTensor: graph.tensors[out].name,
      paramBytes: params.reduce((n, t) => n + bytesOf(graph, t), 0),
      ...(offset !== undefined ? { arena: [offset, offset + bytesOf(graph, out)] as [number, number] } : {}),
    };
  });
}

export function reportMemory(graph: Graph, model: GeneratedModel): ReportMemory {
  const { plan } = model;
  return {
    arenaBytes: plan.arenaBytes,
    strategy: plan.strategy,
    buffers: plan.buffers.map((b, i) => ({
      holds:
        b.scratchOf !== undefined
          ? [`scratch of op ${b.scratchOf}`]
          : b.accumulatorsOf !== undefined
            ? [`int32 sums of op ${b.accumulatorsOf}, fed row by row`]
            : b.tensors.map((t) => graph.tensors[t].name),
      offset: plan.bufferOffsets[i],
      bytes: b.bytes,
      first: b.first,
      last: b.last,
      ...(b.scratchOf !== undefined ? { scratchOf: b.scratchOf } : {}),
    })),
  };
}

/** The quantizer's per-layer errors as report.json keeps them (JSON has no Infinity: null is exact). */
export function reportQuantization(samples: number, layers: LayerError[]): { samples: number; layers: ReportQuantLayer[] } {
  return {
    samples,
    layers: layers.map((l) => ({ tensor: l.tensor, activations: l.activations, sqnrDb: Number.isFinite(l.sqnrDb) ? l.sqnrDb : null, cosine: l.cosine, maxAbsError: l.maxAbsError })),
  };
}
