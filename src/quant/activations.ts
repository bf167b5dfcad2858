// How quantization gets at the float model's activations: a source that runs the float graph on
// a batch of samples and returns any tensors asked for. The tfjs executor is one such source;
// anything with the same contract (another executor, recorded values) can stand in.

import { numel } from '../ir/dtype.ts';
import { dataError, usageError } from '../ir/errors.ts';
import type { Graph } from '../ir/types.ts';

/** Samples of every graph input: `inputs[k]` holds `count` samples of input k back to back, [count, ...shape] row-major. */
export interface CalibrationSet {
  inputs: Float32Array[];
  count: number;
}

/**
 * Runs the float graph on N samples (`inputs` laid out as in CalibrationSet) and returns, for
 * every tensor in `keep` (graph inputs or op outputs), its N values as [N, ...shape].
 */
export type ActivationSource = (graph: Graph, inputs: Float32Array[], keep: number[]) => Promise<Map<number, Float32Array>>;

/** The tensors that carry values at run time: graph inputs, then op outputs in op order. */
export function activationTensors(graph: Graph): number[] {
  return [...new Set([...graph.inputs, ...graph.ops.map((op) => op.outputs[0])])];
}

function checkSet(graph: Graph, data: CalibrationSet): void {
  if (data.count < 1) throw dataError(`${graph.name}: the calibration set is empty; calibration needs at least one sample`);
  if (data.inputs.length !== graph.inputs.length) throw dataError(`${graph.name}: the model takes ${graph.inputs.length} input(s), the calibration set has ${data.inputs.length}`);
  graph.inputs.forEach((t, k) => {
    const { name, shape } = graph.tensors[t];
    if (data.inputs[k].length !== data.count * numel(shape)) {
      throw dataError(`${graph.name}: input '${name}' needs ${data.count} samples of [${shape}], the calibration set holds ${data.inputs[k].length} values`);
    }
  });
}

/** Samples [start, end) of every input. */
export function sliceSamples(graph: Graph, data: CalibrationSet, start: number, end: number): Float32Array[] {
  return graph.inputs.map((t, k) => {
    const size = numel(graph.tensors[t].shape);
    return data.inputs[k].subarray(start * size, end * size);
  });
}

/**
 * Runs the source over the set in batches of `batchSize` samples (bounding the memory the kept
 * activations take) and hands each batch's values to `visit` with the index of its first sample.
 */
export async function forEachBatch(
  graph: Graph,
  data: CalibrationSet,
  source: ActivationSource,
  keep: number[],
  batchSize: number,
  visit: (values: Map<number, Float32Array>, start: number, count: number) => void,
): Promise<void> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw usageError(`the calibration batch size must be a positive integer, got ${batchSize}`);
  checkSet(graph, data);
  for (let start = 0; start < data.count; start += batchSize) {
    const end = Math.min(data.count, start + batchSize);
    visit(await source(graph, sliceSamples(graph, data, start, end), keep), start, end - start);
  }
}
