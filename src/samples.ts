// Runs a graph over every sample of its input arrays (first axis = sample) on the host reference.

import { allocate, numel } from './ir/dtype.ts';
import { dataError } from './ir/errors.ts';
import type { Graph, TensorData } from './ir/types.ts';
import { sampleOf, type NdArray } from './npy/npy.ts';
import { executeGraph } from './ref/execute.ts';

/** Checks that each array holds whole samples of the matching graph input; returns the sample count. */
export function countSamples(graph: Graph, arrays: NdArray[], names: string[]): number {
  if (arrays.length !== graph.inputs.length) {
    throw dataError(`${graph.name} has ${graph.inputs.length} input(s), ${arrays.length} input file(s) were given`);
  }
  let samples = -1;
  arrays.forEach((array, k) => {
    const tensor = graph.tensors[graph.inputs[k]];
    const per = numel(tensor.shape);
    if (array.dtype !== tensor.dtype) {
      throw dataError(`${names[k]}: holds ${array.dtype}, input '${tensor.name}' of ${graph.name} is ${tensor.dtype}`);
    }
    if (array.shape.length === 0 || numel(array.shape.slice(1)) !== per) {
      throw dataError(
        `${names[k]}: shape [${array.shape}] is not samples of input '${tensor.name}' [${tensor.shape}] ` +
          `(expected [N, ${tensor.shape.join(', ')}] or [N, ...] with ${per} values per sample)`,
      );
    }
    if (samples >= 0 && array.shape[0] !== samples) {
      throw dataError(`${names[k]}: ${array.shape[0]} samples, the first input file has ${samples}`);
    }
    samples = array.shape[0];
  });
  return samples;
}

/** Outputs stacked along a new first axis, one array per graph output. */
export function runSamples(
  graph: Graph,
  arrays: NdArray[],
  names: string[],
  onSample: (done: number, total: number) => void = () => {},
): NdArray[] {
  const samples = countSamples(graph, arrays, names);
  const outputs = graph.outputs.map((t) => {
    const tensor = graph.tensors[t];
    return { dtype: tensor.dtype, shape: [samples, ...tensor.shape], data: allocate(tensor.dtype, samples * numel(tensor.shape)) };
  });
  for (let i = 0; i < samples; i++) {
    const results: TensorData[] = executeGraph(graph, arrays.map((a) => sampleOf(a, i)));
    results.forEach((r, k) => (outputs[k].data as Int8Array).set(r as Int8Array, i * r.length));
    onSample(i + 1, samples);
  }
  return outputs;
}
